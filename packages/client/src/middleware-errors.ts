// What the host answers when a Roster call of the middleware fails. A refusal that concerns the
// end user (their credential, their role, their usage) is passed on to them as Roster sent it.
// Everything else is thrown as a RosterMiddlewareError whose `status`/`statusCode` and `headers`
// are the host's reply, so the frameworks' default error handlers answer it right: 503 while Roster
// is unreachable or failing, 500 when the host's own setup or call is wrong. The user never sees a
// 401 for a host's revoked service token, or a 400 for a host's bug.
import type { RosterApiError, RosterErrorBody } from './errors.ts';

/** A reply the host sends instead of running its handler: Roster's status, error body and Retry-After. */
export interface Refusal {
  status: number;
  body: { error: RosterErrorBody };
  headers: Record<string, string>;
}

/** Whose credential a Roster call carried: the end user's own, or the host's service token. */
export type Caller = 'user' | 'service';

/**
 * An error the middleware throws: `status` (also `statusCode`) and `headers` are what the host
 * should answer (Express's default handler reads `status` and `headers`, Fastify's `statusCode` and
 * `headers`). `code`: `roster_unavailable` (503), `service_token_refused` or `invalid_host_request`
 * (500), or, from `check`, the code of a refusal that concerns the user. `cause` is Roster's
 * RosterApiError (its status, code and request id) when a Roster call failed.
 */
export class RosterMiddlewareError extends Error {
  readonly status: number;
  readonly statusCode: number;
  readonly code: string;
  readonly headers: Record<string, string>;
  declare readonly cause: RosterApiError | undefined;

  constructor(init: { status: number; code: string; message: string; headers?: Record<string, string>; cause?: RosterApiError }) {
    super(init.message, { cause: init.cause });
    this.name = 'RosterMiddlewareError';
    this.status = init.status;
    this.statusCode = init.status;
    this.code = init.code;
    this.headers = init.headers ?? {};
  }
}

/** Roster's 4xx that concern the end user and are passed on to them. */
const USER_REFUSALS = new Set([401, 403, 429]);

/** The host's answer to a failed Roster call: a refusal to send the user, or an error to throw. */
export function judge(error: RosterApiError, caller: Caller): Refusal | RosterMiddlewareError {
  if (error.status === 0 || error.status >= 500) return unavailable(error);
  // Roster's 404 for a user in no org (on POST /usage) is the middleware's 403 for the same case.
  if (error.status === 404 && error.code === 'not_a_member') return notAMember();
  if (caller === 'service') {
    // A service-token call carries no user credential: a 401 is about the token (unknown, revoked),
    // and `forbidden` is the refusal of a scope (a service token has no role to be refused for).
    if (error.status === 401 || (error.status === 403 && error.code === 'forbidden')) return serviceTokenRefused(error);
  }
  if (USER_REFUSALS.has(error.status)) return refusalOf(error);
  return new RosterMiddlewareError({
    status: 500,
    code: 'invalid_host_request',
    message: `Roster refused a call of the host app (${error.status} ${error.code}: ${error.message}). This is a bug or a misconfiguration of the host app, not something its user can fix.`,
    cause: error,
  });
}

/** The host's reply for a Roster refusal: same status and body, Retry-After when Roster gave one. */
export function refusalOf(error: RosterApiError): Refusal {
  return { status: error.status, body: error.toJSON(), headers: retryAfterOf(error) };
}

export function refuse(status: number, code: string, message: string): Refusal {
  return { status, body: { error: { code, message } }, headers: {} };
}

export function notAMember(): Refusal {
  return refuse(403, 'not_a_member', 'You are not a member of an organization.');
}

/** A refusal raised where no reply can be sent (`check`): thrown with the refusal's status and headers. */
export function thrownRefusal(refusal: Refusal, cause: RosterApiError): RosterMiddlewareError {
  const { code, message } = refusal.body.error;
  return new RosterMiddlewareError({ status: refusal.status, code, message, headers: refusal.headers, cause });
}

function unavailable(error: RosterApiError): RosterMiddlewareError {
  const what = error.status === 0 ? error.code : `${error.status} ${error.code}`;
  return new RosterMiddlewareError({
    status: 503,
    code: 'roster_unavailable',
    message: `Roster is unavailable (${what}): ${error.message}`,
    headers: retryAfterOf(error),
    cause: error,
  });
}

function serviceTokenRefused(error: RosterApiError): RosterMiddlewareError {
  const why =
    error.status === 401
      ? 'it is unknown or revoked: check the serviceToken option, or create one with `roster admin create-service-token`'
      : `it lacks a scope (${error.message})`;
  return new RosterMiddlewareError({
    status: 500,
    code: 'service_token_refused',
    message: `Roster refused the host app's service token (${error.status} ${error.code}): ${why}.`,
    cause: error,
  });
}

function retryAfterOf(error: RosterApiError): Record<string, string> {
  return error.retryAfterSeconds === undefined ? {} : { 'retry-after': String(error.retryAfterSeconds) };
}

export function isRefusal(outcome: Refusal | RosterMiddlewareError): outcome is Refusal {
  return !(outcome instanceof RosterMiddlewareError);
}
