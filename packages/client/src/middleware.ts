// The one core that the Fastify and Express adapters share: who is calling (a Roster session
// cookie or bearer token checked by Roster's GET /me, or a service token plus a user id the host
// resolved itself, checked by GET /users/{id}/membership), and recording their usage. Roster
// decides every time (no cache), so a disabled member or a changed role counts on the next request.
// What the host answers when a call fails is decided in middleware-errors.ts.
import { createRosterClient, type Operation, type Reply, type RosterClient } from './client.ts';
import { RosterApiError } from './errors.ts';
import { isRefusal, judge, notAMember, refuse, thrownRefusal, type Caller, type Refusal } from './middleware-errors.ts';

export { RosterMiddlewareError, type Refusal } from './middleware-errors.ts';

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
  serviceToken?: string | undefined;
  /**
   * Service mode: the host identifies the user itself (its own session) and returns their Roster
   * user id (undefined: not signed in, 401). Without it, the request's Roster session cookie or
   * bearer token is checked.
   */
  resolveUserId?: (request: Request) => string | undefined | Promise<string | undefined>;
  /**
   * Let users in no organization through, with `request.roster` set to `null`. Default: refused,
   * 403 `not_a_member`. `recordUsage` still refuses them (403 `not_a_member`): usage counts per org.
   */
  allowNoOrg?: boolean;
  fetch?: typeof fetch;
  /** How long each Roster call may take, in milliseconds (default 10 000; `0` or `Infinity`: no limit). Past it: 503. */
  timeoutMs?: number;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; refusal: Refusal };

/** Header values as Node servers give them (lower-case names). */
export type IncomingHeaders = Record<string, string | string[] | undefined>;

export const SESSION_COOKIE = 'roster_session';
export const CSRF_COOKIE = 'roster_csrf';

export interface RosterCore<Request> {
  /** A client with the service token (when given) for the host's own calls. */
  client: RosterClient;
  authenticate(request: Request, headers: IncomingHeaders): Promise<Outcome<RosterMember | null>>;
  /** Records for the member (`null`, a user in no org let through by `allowNoOrg`: 403 `not_a_member`). */
  recordUsage(member: RosterMember | null, headers: IncomingHeaders, input: UsageInput): Promise<Outcome<UsageReceipt>>;
  /** May the member take `action` now (`GET /authz/check`, service token with `authz:read`)? */
  check(member: RosterMember | null, action: CheckAction, options?: { projectId?: string }): Promise<AccessDecision>;
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
  const connection = { baseUrl: options.baseUrl, fetch: options.fetch, timeoutMs: options.timeoutMs };
  const service = createRosterClient({ ...connection, token: options.serviceToken });
  const asCaller = (headers: Record<string, string>) => createRosterClient({ ...connection, headers });

  async function bySession(headers: IncomingHeaders): Promise<Outcome<RosterMember | null>> {
    const credential = credentialHeaders(headers);
    if (!credential) return refused(signIn());
    const me = await passOn('user', () => asCaller(credential).GET('/api/v1/me'));
    if (!me.ok) return me;
    const { user, org } = me.value;
    if (!org) return options.allowNoOrg ? { ok: true, value: null } : refused(notAMember());
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
    const looked = await passOn('service', () =>
      service.GET('/api/v1/users/{user_id}/membership', { params: { user_id: userId } }),
    );
    if (!looked.ok) return looked;
    const membership = looked.value;
    // `{org: null}`: no such user, or one in no org (Roster does not tell the two apart).
    if (!('role' in membership)) return options.allowNoOrg ? { ok: true, value: null } : refused(notAMember());
    if (membership.status === 'disabled') return refused(refuse(403, 'user_disabled', 'This account is disabled.'));
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
      if (!userId) return refused(signIn());
      return byService(userId);
    },
    async recordUsage(member, headers, input) {
      // Usage counts per member of an org: a user let through in no org has nothing to count it against.
      if (!member) return refused(notAMember());
      if (options.serviceToken) {
        // On behalf of the member, whatever authenticated them: Roster checks no CSRF here (a
        // cookie-authenticated host route must protect itself), and `key` makes a retry count once.
        const onBehalf = { user_id: member.user.id, ...input };
        return passOn('service', () => service.POST('/api/v1/usage', { body: onBehalf }));
      }
      const credential = credentialHeaders(headers, { forWrite: true });
      if (!credential) return refused(signIn());
      return passOn('user', () => asCaller(credential).POST('/api/v1/usage', { body: input }));
    },
    async check(member, action, checkOptions = {}) {
      if (!options.serviceToken) throw new Error('check needs a serviceToken with the authz:read scope');
      // Roster's own answer for a user in no org, without asking it: there is no user id to ask about.
      if (!member) return { allowed: false, role: null, org_id: null, reason: 'not_a_member' };
      const query = {
        user_id: member.user.id,
        action,
        ...(checkOptions.projectId ? { project_id: checkOptions.projectId } : {}),
      };
      const decision = await passOn('service', () => service.GET('/api/v1/authz/check', { query }));
      if (decision.ok) return decision.value;
      // No reply to send from here: a refusal that concerns the user is thrown with its status.
      throw thrownRefusal(decision.refusal, decision.cause);
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

/**
 * Runs a Roster call made with `caller`'s credential. A failure that concerns the end user becomes a
 * Refusal to send them; any other is thrown as a RosterMiddlewareError (503 or 500: middleware-errors.ts).
 */
export async function passOn<T>(
  caller: Caller,
  call: () => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; refusal: Refusal; cause: RosterApiError }> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    if (!(error instanceof RosterApiError)) throw error;
    const answer = judge(error, caller);
    if (isRefusal(answer)) return { ok: false, refusal: answer, cause: error };
    throw answer;
  }
}

function refused(refusal: Refusal): { ok: false; refusal: Refusal } {
  return { ok: false, refusal };
}

function signIn(): Refusal {
  return refuse(401, 'unauthenticated', 'Sign in to continue.');
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
