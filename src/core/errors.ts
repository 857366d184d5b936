/** A failure the client can act on: a stable `code` from the contract and a sentence for people. */
export class AppError extends Error {
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.details = details;
  }
}

/** Guard clause that reads as one line and narrows the type: `assertThat(member, 'not_a_member', '…')`. */
export function assertThat<T>(value: T, code: string, message: string): asserts value is NonNullable<T> {
  if (value === null || value === undefined || value === false) throw new AppError(code, message);
}

/** True when a database error is a unique violation on the named index (or any, without a name). */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const pgError = findPgError(error);
  if (pgError?.code !== '23505') return false;
  return constraint === undefined || pgError.constraint === constraint || String(pgError.message).includes(constraint);
}

function findPgError(error: unknown): { code?: string; constraint?: string; message?: string } | undefined {
  // Drizzle wraps driver errors in `cause`; PGlite and pg both expose `code` (SQLSTATE).
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth += 1) {
    const candidate = current as { code?: unknown; constraint?: unknown; message?: unknown; cause?: unknown };
    if (typeof candidate.code === 'string' && /^[0-9A-Z]{5}$/.test(candidate.code)) {
      return {
        code: candidate.code,
        constraint: typeof candidate.constraint === 'string' ? candidate.constraint : undefined,
        message: typeof candidate.message === 'string' ? candidate.message : undefined,
      };
    }
    current = candidate.cause;
  }
  return undefined;
}
