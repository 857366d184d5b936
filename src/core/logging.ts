import { redactSecrets } from './tokens.ts';

// What the server's log lines say about requests and errors. Secrets never reach a log line
// (contract, "Security rules"): not in a URL, and not in an error, whose driver fields can carry a
// statement's parameters (password hashes, token hashes) or the values of a violated key.

/** A request: its method, its URL with every token redacted, the client's address. */
export function serializeRequest(request: { method: string; url: string; ip?: string }) {
  return { method: request.method, url: redactSecrets(request.url), remoteAddress: request.ip };
}

/** Fields of a database error that name what failed without holding any value of a row. */
const SAFE_FIELDS = ['code', 'severity', 'routine', 'where', 'schema', 'table', 'column', 'constraint', 'hint'] as const;

export interface SerializedError {
  type: string;
  message: string;
  stack: string;
  cause?: SerializedError;
  [field: string]: unknown;
}

/**
 * An error as the log shows it: type, message, stack, the safe fields of a database error, and its
 * causes. Drizzle's failed-query error puts the statement's parameters in its message ("params:
 * …") and in a field, PGlite's errors keep them too, and PostgreSQL's `detail` quotes key values:
 * none of them is kept.
 */
export function serializeError(error: unknown, depth = 0): SerializedError {
  if (!(error instanceof Error)) return { type: typeof error, message: redactSecrets(String(error)), stack: '' };
  const fields = error as Error & Record<string, unknown>;
  const message = safeMessage(error);
  const serialized: SerializedError = {
    type: error.constructor.name,
    message,
    stack: redactSecrets((error.stack ?? '').replace(error.message, () => message)),
  };
  for (const field of SAFE_FIELDS) {
    if (fields[field] !== undefined) serialized[field] = fields[field];
  }
  if (error.cause !== undefined && depth < 5) serialized.cause = serializeError(error.cause, depth + 1);
  return serialized;
}

/** An error's message without a failed statement's parameters or any token: for logs and stored failures. */
export function safeMessage(error: unknown): string {
  if (!(error instanceof Error)) return redactSecrets(String(error));
  const fields = error as Error & Record<string, unknown>;
  return redactSecrets(typeof fields.query === 'string' && 'params' in fields ? `Failed query: ${fields.query}` : error.message);
}
