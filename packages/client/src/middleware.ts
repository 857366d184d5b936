// The one core that the Fastify and Express adapters share: who is calling (a Roster session
// cookie or bearer token checked by Roster's GET /me, or a service token plus a user id the host
// resolved itself, checked by GET /users/{id}/membership), and recording their usage. Roster
// decides every time (no cache), so a disabled member or a changed role counts on the next request.
import { createRosterClient, type Operation, type Reply, type RosterClient } from './client.ts';
import { RosterApiError, type RosterErrorBody } from './errors.ts';

type MeReply = Reply<'/api/v1/me', 'get'>;
export type RosterRole = 'owner' | 'admin' | 'member';
/** What the member may do in the org now (Roster's `permissions` list). */
export type RosterPermission = NonNullable<MeReply['org']>['permissions'][number];
/** The reply of a recorded usage: the member's totals and limits today and this month. */
export type UsageReceipt = Reply<'/api/v1/usage', 'post'>;
/** A permission name `GET /authz/check` answers (org-wide, or a project's with `projectId`). */
export type CheckAction = Operation<'/api/v1/authz/check', 'get'>['parameters']['query']['action'];
/** `{allowed, role, org_id, reason}`: Roster's policy for the user as they are now. */
export type AccessDecision = Reply<'/api/v1/authz/check', 'get'>;

/** The member behind the incoming request, as Roster knows them now (`request.roster`). */
export interface RosterMember {
  /** How the member was established: their own Roster credential, or the host's service token. */
  via: 'session' | 'service';
  /** `email`, `name` and `email_verified` are known only `via: 'session'` (GET /me). */
  user: { id: string; email?: string; name?: string; email_verified?: boolean };
  /** `tier` (`team`, `enterprise`, or null without an active subscription) is known only `via: 'service'`. */
  org: { id: string; slug: string; name: string; tier?: 'team' | 'enterprise' | null };
  role: RosterRole;
  /** Roster's `permissions` list; `null` via a service token, whose membership reply does not carry one. */
  permissions: readonly RosterPermission[] | null;
}

export interface RosterMiddlewareOptions<Request = unknown> {
  /** Where Roster answers, e.g. `http://127.0.0.1:3000`. */
  baseUrl: string;
  /** A service token (`rs_svc_…`): needed for `resolveUserId` (scope `authz:read`) and records usage on behalf (`usage:write`). */
  serviceToken?: string;
  /**
   * Service mode: the host identifies the user itself (its own session) and returns their Roster
   * user id (undefined: not signed in, 401). Without it, the request's Roster session cookie or
   * bearer token is checked.
   */
  resolveUserId?: (request: Request) => string | undefined | Promise<string | undefined>;
  /** Let users in no organization through (`request.roster` is then not set). Default: refused, 403 `not_a_member`. */
  allowNoOrg?: boolean;
  fetch?: typeof fetch;
}

/** A reply the host sends instead of running its handler: Roster's status, error body and Retry-After. */
export interface Refusal {
  status: number;
  body: { error: RosterErrorBody };
  headers: Record<string, string>;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; refusal: Refusal };

/** Header values as Node servers give them (lower-case names). */
export type IncomingHeaders = Record<string, string | string[] | undefined>;

export const SESSION_COOKIE = 'roster_session';
export const CSRF_COOKIE = 'roster_csrf';

/** Roster's refusals that concern the caller and are passed on as they are; anything else is thrown. */
const PASSED_ON = new Set([401, 403, 429]);

export interface RosterCore<Request> {
  /** A client with the service token (when given) for the host's own calls. */
  client: RosterClient;
  authenticate(request: Request, headers: IncomingHeaders): Promise<Outcome<RosterMember | null>>;
  recordUsage(member: RosterMember, headers: IncomingHeaders, input: UsageInput): Promise<Outcome<UsageReceipt>>;
  /** May the member take `action` now (`GET /authz/check`, service token with `authz:read`)? */
  check(member: RosterMember, action: CheckAction, options?: { projectId?: string }): Promise<AccessDecision>;
}

export interface UsageInput {
  activity: string;
  quantity: number;
  /** Makes a retried call count once (the same key for the same member in the same UTC month). */
  key?: string;
}

export function createRosterCore<Request>(options: RosterMiddlewareOptions<Request>): RosterCore<Request> {
  if (options.resolveUserId && !options.serviceToken) {
    throw new Error('resolveUserId needs a serviceToken (scope authz:read) to look the user up in Roster');
  }
  const service = createRosterClient({ baseUrl: options.baseUrl, token: options.serviceToken, fetch: options.fetch });
  const asCaller = (headers: Record<string, string>) =>
    createRosterClient({ baseUrl: options.baseUrl, fetch: options.fetch, headers });

  async function bySession(headers: IncomingHeaders): Promise<Outcome<RosterMember | null>> {
    const credential = credentialHeaders(headers);
    if (!credential) return refuse(401, 'unauthenticated', 'Sign in to continue.');
    const me = await passOn(() => asCaller(credential).GET('/api/v1/me'));
    if (!me.ok) return me;
    const { user, org } = me.value;
    if (!org) return options.allowNoOrg ? { ok: true, value: null } : notAMember();
    return {
      ok: true,
      value: {
        via: 'session',
        user,
        org: { id: org.id, slug: org.slug, name: org.name },
        role: org.role,
        permissions: org.permissions,
      },
    };
  }

  async function byService(userId: string): Promise<Outcome<RosterMember | null>> {
    const looked = await passOn(() => service.GET('/api/v1/users/{user_id}/membership', { params: { user_id: userId } }));
    if (!looked.ok) return looked;
    const membership = looked.value;
    // `{org: null}`: no such user, or one in no org (Roster does not tell the two apart).
    if (!('role' in membership)) return options.allowNoOrg ? { ok: true, value: null } : notAMember();
    if (membership.status === 'disabled') return refuse(403, 'user_disabled', 'This account is disabled.');
    // The membership reply carries no permissions list: ask `GET /authz/check` per action.
    return {
      ok: true,
      value: { via: 'service', user: { id: userId }, org: membership.org, role: membership.role, permissions: null },
    };
  }

  return {
    client: service,
    async authenticate(request, headers) {
      if (!options.resolveUserId) return bySession(headers);
      const userId = await options.resolveUserId(request);
      if (!userId) return refuse(401, 'unauthenticated', 'Sign in to continue.');
      return byService(userId);
    },
    async recordUsage(member, headers, input) {
      if (options.serviceToken) {
        // On behalf of the member: no CSRF to forward, and `key` makes a retry count once.
        const onBehalf = { user_id: member.user.id, ...input };
        return passOn(() => service.POST('/api/v1/usage', { body: onBehalf }));
      }
      const credential = credentialHeaders(headers, { forWrite: true });
      if (!credential) return refuse(401, 'unauthenticated', 'Sign in to continue.');
      return passOn(() => asCaller(credential).POST('/api/v1/usage', { body: input }));
    },
    async check(member, action, checkOptions = {}) {
      if (!options.serviceToken) throw new Error('check needs a serviceToken with the authz:read scope');
      const query = {
        user_id: member.user.id,
        action,
        ...(checkOptions.projectId ? { project_id: checkOptions.projectId } : {}),
      };
      return service.GET('/api/v1/authz/check', { query });
    },
  };
}

/**
 * The caller's own Roster credential, to present to Roster: the bearer token, or the session
 * cookie. A cookie-authenticated write also carries the browser's CSRF pair (the `roster_csrf`
 * cookie and its `X-CSRF-Token` header), so Roster's CSRF rule still judges the original request.
 */
export function credentialHeaders(
  headers: IncomingHeaders,
  options: { forWrite?: boolean } = {},
): Record<string, string> | undefined {
  const authorization = first(headers.authorization);
  const bearer = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] : undefined;
  if (bearer) return { Authorization: `Bearer ${bearer}` };
  const cookies = parseCookies(first(headers.cookie));
  const session = cookies[SESSION_COOKIE];
  if (!session) return undefined;
  const forwarded: Record<string, string> = { cookie: `${SESSION_COOKIE}=${encodeURIComponent(session)}` };
  if (options.forWrite) {
    const csrf = cookies[CSRF_COOKIE];
    const csrfHeader = first(headers['x-csrf-token']);
    if (csrf) forwarded.cookie += `; ${CSRF_COOKIE}=${encodeURIComponent(csrf)}`;
    if (csrfHeader) forwarded['X-CSRF-Token'] = csrfHeader;
  }
  return forwarded;
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at <= 0) continue;
    const name = part.slice(0, at).trim();
    const raw = part.slice(at + 1).trim();
    if (cookies[name] !== undefined) continue;
    try {
      cookies[name] = decodeURIComponent(raw);
    } catch {
      cookies[name] = raw;
    }
  }
  return cookies;
}

/** Runs a Roster call; its 401, 403 and 429 become a Refusal to pass on, anything else is thrown. */
export async function passOn<T>(call: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    if (error instanceof RosterApiError && PASSED_ON.has(error.status)) return { ok: false, refusal: refusalOf(error) };
    throw error;
  }
}

/** The host's reply for a Roster refusal: same status and body, Retry-After when Roster gave one. */
export function refusalOf(error: RosterApiError): Refusal {
  const headers: Record<string, string> = {};
  if (error.retryAfterSeconds !== undefined) headers['retry-after'] = String(error.retryAfterSeconds);
  return { status: error.status, body: error.toJSON(), headers };
}

function refuse(status: number, code: string, message: string): { ok: false; refusal: Refusal } {
  return { ok: false, refusal: { status, body: { error: { code, message } }, headers: {} } };
}

function notAMember(): { ok: false; refusal: Refusal } {
  return refuse(403, 'not_a_member', 'You are not a member of an organization.');
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
