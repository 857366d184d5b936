// Every failure of a Roster call surfaces as one typed error, whatever the route: the stable `code`
// is what a program branches on, the message is for a person.

/** An error body as Roster sends it: `{"error": {code, message, details?}}`. */
export interface RosterErrorBody {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export interface RosterApiErrorInit extends RosterErrorBody {
  /** The HTTP status; 0 when Roster could not be reached at all. */
  status: number;
  requestId?: string | undefined;
  retryAfterSeconds?: number | undefined;
}

/** An error answered by Roster, or a failure to reach it (`status` 0, `code` `network_error`). */
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

export function networkError(cause: unknown): RosterApiError {
  const error = new RosterApiError({
    status: 0,
    code: 'network_error',
    message: 'Roster cannot be reached. Check the connection and try again.',
  });
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
