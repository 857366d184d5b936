// Every failure of a Roster call surfaces as one typed error, whatever the route: the stable `code`
// is what a program branches on, the message is for a person.

/** An error body as Roster sends it: `{"error": {code, message, details?}}`. */
export interface RosterErrorBody {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export interface RosterApiErrorInit extends RosterErrorBody {
  /** The HTTP status; 0 when no reply came (unreachable, timed out, aborted). */
  status: number;
  requestId?: string | undefined;
  retryAfterSeconds?: number | undefined;
}

/**
 * An error answered by Roster, or a failure to get its answer: `status` 0 with `code`
 * `network_error` (unreachable, or the reply was cut), `timeout` or `aborted`.
 */
export class RosterApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;
  /** Roster's `x-request-id`, to quote to support. */
  readonly requestId: string | undefined;
  /** Seconds until a refused request may succeed (`Retry-After` of a 429 or 503). */
  readonly retryAfterSeconds: number | undefined;

  constructor(init: RosterApiErrorInit) {
    super(init.message);
    this.name = 'RosterApiError';
    this.status = init.status;
    this.code = init.code;
    this.details = init.details;
    this.requestId = init.requestId;
    this.retryAfterSeconds = init.retryAfterSeconds;
  }

  /** The error body as Roster sent it, to pass on unchanged to the host app's own client. */
  toJSON(): { error: RosterErrorBody } {
    return {
      error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) },
    };
  }
}

export function isRosterApiError(error: unknown, code?: string): error is RosterApiError {
  return error instanceof RosterApiError && (code === undefined || error.code === code);
}

/** The error a non-2xx reply stands for; a body that is not Roster's error shape still yields a code. */
export function errorFromReply(response: Response, payload: unknown): RosterApiError {
  const body = isErrorEnvelope(payload) ? payload.error : undefined;
  const retryAfter = retryAfterSecondsOf(response.headers.get('retry-after'), body?.details);
  return new RosterApiError({
    status: response.status,
    code: body?.code ?? (response.status === 404 ? 'not_found' : 'http_error'),
    message: body?.message ?? `Roster answered ${response.status} ${response.statusText}`.trim(),
    details: body?.details,
    requestId: response.headers.get('x-request-id') ?? undefined,
    retryAfterSeconds: retryAfter,
  });
}

/**
 * A 2xx reply whose body is not JSON: something else answered at `baseUrl` (a proxy's or a captive
 * portal's HTML page). Status 502, as a gateway that got an invalid reply from upstream answers.
 */
export function invalidReply(response: Response): RosterApiError {
  const contentType = response.headers.get('content-type');
  return new RosterApiError({
    status: 502,
    code: 'invalid_reply',
    message: `Roster's reply (${response.status}, ${contentType ?? 'no content type'}) is not JSON: is something else answering at this address?`,
    details: { reply_status: response.status, content_type: contentType },
    requestId: response.headers.get('x-request-id') ?? undefined,
  });
}

/**
 * A redirect: something other than Roster answered at `baseUrl` (Roster never redirects an API
 * call), such as a proxy sending http to https. Not followed: 502 invalid_reply, as for a reply
 * that is not JSON.
 */
export function redirected(response: Response): RosterApiError {
  const location = response.headers.get('location');
  return new RosterApiError({
    status: 502,
    code: 'invalid_reply',
    message: `Roster's reply was a redirect (${response.status}${location ? ` to ${location}` : ''}), which Roster never sends: is baseUrl right (http or https, its path)?`,
    details: { reply_status: response.status, location },
    requestId: response.headers.get('x-request-id') ?? undefined,
  });
}

/** A call refused before it was sent: the request itself is wrong (the shape of Roster's 400). */
export function invalidRequest(message: string, issue: { path: string; location: string }): RosterApiError {
  return new RosterApiError({
    status: 400,
    code: 'invalid_request',
    message,
    details: { issues: [{ ...issue, message }] },
  });
}

export function networkError(cause: unknown): RosterApiError {
  return noReply('network_error', 'Roster cannot be reached, or its reply was cut. Check the connection and try again.', cause);
}

export function timedOut(timeoutMs: number, cause: unknown): RosterApiError {
  return noReply('timeout', `Roster did not answer within ${timeoutMs} ms. Try again later.`, cause);
}

export function aborted(cause: unknown): RosterApiError {
  return noReply('aborted', 'The call to Roster was aborted by its caller.', cause);
}

function noReply(code: string, message: string, cause: unknown): RosterApiError {
  const error = new RosterApiError({ status: 0, code, message });
  (error as { cause?: unknown }).cause = cause;
  return error;
}

function isErrorEnvelope(payload: unknown): payload is { error: RosterErrorBody } {
  if (!payload || typeof payload !== 'object' || !('error' in payload)) return false;
  const error = (payload as { error: unknown }).error;
  return !!error && typeof error === 'object' && typeof (error as { code?: unknown }).code === 'string';
}

function retryAfterSecondsOf(header: string | null, details: Record<string, unknown> | undefined): number | undefined {
  // Retry-After is delta-seconds or an HTTP date (RFC 9110); Roster sends seconds.
  if (header) {
    const seconds = Number(header);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds);
    const at = Date.parse(header);
    if (!Number.isNaN(at)) return Math.max(0, Math.ceil((at - Date.now()) / 1000));
  }
  const fromBody = details?.retry_after_seconds;
  return typeof fromBody === 'number' ? fromBody : undefined;
}
