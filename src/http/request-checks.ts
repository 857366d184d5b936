import { AppError } from '../core/errors.ts';
import type { ErrorCode } from '../core/error-codes.ts';
import { hasUnstorableText } from '../core/text.ts';

// Request checks that hold for every route, before any handler runs.

/**
 * The first string (or object key) of a parsed JSON body that PostgreSQL cannot store: U+0000, or
 * half of a surrogate pair. As an `invalid_request` naming where it is, or null. Walks without
 * recursion, so a deeply nested body cannot exhaust the stack.
 */
export function unstorableStringIn(value: unknown): AppError | null {
  const pending: { value: unknown; path: string }[] = [{ value, path: '' }];
  while (pending.length > 0) {
    const { value: item, path } = pending.pop()!;
    if (typeof item === 'string') {
      if (hasUnstorableText(item)) return unstorableAt(path || '/');
      continue;
    }
    if (item === null || typeof item !== 'object') continue;
    for (const [key, child] of Object.entries(item)) {
      const childPath = `${path}/${key}`;
      if (hasUnstorableText(key)) return unstorableAt(path || '/');
      pending.push({ value: child, path: childPath });
    }
  }
  return null;
}

function unstorableAt(path: string): AppError {
  const message = 'holds the character U+0000 or an unpaired surrogate, which cannot be stored';
  return new AppError('invalid_request', `Invalid body at ${path}: ${message}.`, {
    issues: [{ path, message, location: 'body' }],
  });
}

/** A route without a body schema was sent a body with fields (or a body that is not an object). */
export function noBodyExpected(body: unknown): AppError {
  const fields = body !== null && typeof body === 'object' && !Array.isArray(body) ? Object.keys(body) : [];
  const issues =
    fields.length > 0
      ? fields.map((field) => ({ path: `/${field}`, message: 'Unrecognized key: this request takes no body', location: 'body' }))
      : [{ path: '/', message: 'This request takes no body', location: 'body' }];
  const message =
    fields.length > 0
      ? `This request takes no body: remove ${fields.map((field) => `"${field}"`).join(', ')}.`
      : 'This request takes no body: send none, or {}.';
  return new AppError('invalid_request', message, { issues });
}

/**
 * A URL whose path or query holds an encoded U+0000 (`%00`): no parameter of the API can contain
 * it, and PostgreSQL cannot store or compare it.
 */
export function nulInUrl(url: string): AppError | null {
  if (!url.includes('%00')) return null;
  return new AppError('invalid_request', 'The URL holds the character U+0000 (%00), which no parameter accepts.', {
    issues: [{ path: '/', message: 'holds the character U+0000', location: 'querystring' }],
  });
}

/**
 * The raw reply to a request that node's HTTP parser refused before Fastify saw it (headers too
 * large, a timeout, malformed HTTP), in the API's error shape.
 */
export function clientErrorReply(error: { code?: string }): string {
  const [status, reason, code, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? ([
          431,
          'Request Header Fields Too Large',
          'request_headers_too_large',
          'The request line and headers are too large.',
        ] as const)
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? ([408, 'Request Timeout', 'request_timeout', 'The request was not received in time. Send it again.'] as const)
        : ([400, 'Bad Request', 'invalid_request', 'The request is not valid HTTP.'] as const);
  const body = JSON.stringify({ error: { code: code satisfies ErrorCode, message } });
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`;
}
