import type { ErrorCode } from './error-codes.ts';

/** A failure the client can act on: a stable `code` from the contract and a sentence for people. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.details = details;
  }
}

/** Guard clause that reads as one line and narrows the type: `assertThat(member, 'not_a_member', '…')`. */
export function assertThat<T>(value: T, code: ErrorCode, message: string): asserts value is NonNullable<T> {
  if (value === null || value === undefined || value === false) throw new AppError(code, message);
}

/** True when a database error is a unique violation on the named index (or any, without a name). */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const pgError = findPgError(error);
  if (pgError?.code !== '23505') return false;
  return constraint === undefined || pgError.constraint === constraint || String(pgError.message).includes(constraint);
}

// SQLSTATE classes and codes that mean "the connection or the server went away", not "the
// statement was wrong": 08 connection exception, 57P01-57P03 shutdown / cannot connect now,
// 25P03 idle_in_transaction_session_timeout, 53300 too many connections, 3D000 invalid_catalog_name
// (the database was dropped or renamed under the running server: every new connection fails).
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[123]|25P03|53300|3D000)$/;
const UNAVAILABLE_ERRNO = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND']);
const UNAVAILABLE_MESSAGE =
  /Connection terminated|not queryable|timeout exceeded when trying to connect|Connection closed|terminating connection/i;

/**
 * True when an error means the database could not be reached or dropped the connection (a
 * restart, a failover, a terminated backend, a network reset): the operation failed as a whole
 * and can be retried. Anything else is a bug or a rule and must not be reported as an outage.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth += 1) {
    const candidate = current as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof candidate.code === 'string') {
      if (UNAVAILABLE_SQLSTATE.test(candidate.code) || UNAVAILABLE_ERRNO.has(candidate.code)) return true;
    }
    if (typeof candidate.message === 'string' && UNAVAILABLE_MESSAGE.test(candidate.message)) return true;
    current = candidate.cause;
  }
  return false;
}

/** The SQLSTATE of a database error (through drivers' wrappers), or undefined. */
export function sqlState(error: unknown): string | undefined {
  return findPgError(error)?.code;
}

/** The DETAIL of a database error (through drivers' wrappers): what a function's RAISE put there. */
export function sqlDetail(error: unknown): string | undefined {
  return findPgError(error)?.detail;
}

function findPgError(error: unknown): { code?: string; constraint?: string; message?: string; detail?: string } | undefined {
  // Drizzle wraps driver errors in `cause`; PGlite and pg both expose `code` (SQLSTATE).
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth += 1) {
    const candidate = current as { code?: unknown; constraint?: unknown; message?: unknown; detail?: unknown; cause?: unknown };
    if (typeof candidate.code === 'string' && /^[0-9A-Z]{5}$/.test(candidate.code)) {
      return {
        code: candidate.code,
        constraint: typeof candidate.constraint === 'string' ? candidate.constraint : undefined,
        message: typeof candidate.message === 'string' ? candidate.message : undefined,
        detail: typeof candidate.detail === 'string' ? candidate.detail : undefined,
      };
    }
    current = candidate.cause;
  }
  return undefined;
}
