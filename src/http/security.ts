import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticate } from '../auth/authenticate.ts';
import type { BillingProvider } from '../billing/provider.ts';
import type { Config } from '../config.ts';
import type { Caller, Clock, Ctx } from '../core/context.ts';
import { AppError } from '../core/errors.ts';
import { isUuid } from '../core/ids.ts';
import { tokenKindOf } from '../core/tokens.ts';
import type { Database } from '../db/client.ts';
import { createHash, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'roster_session';
export const CSRF_COOKIE = 'roster_csrf';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route authenticates the presented token itself, folded into its own statement (the
     * usage hot path): the hook skips its query and leaves `ctx.actor` null. CSRF rules still apply.
     */
    authenticatesItself?: boolean;
    /**
     * With `authenticatesItself`, a service token too: the route checks the token and its scope
     * itself (the usage batch, in the same statement as the write), so the hook neither looks it up
     * nor checks its scope. The route answers 401 and 403 as the hooks would (src/usage/routes.ts).
     */
    authenticatesServiceToken?: boolean;
    /**
     * The route asks about the user named by this querystring parameter (GET /authz/check): a
     * service token is authenticated in the same statement that reads that user's account and
     * role (`ctx.prefetchedSubject`), one round trip instead of two.
     */
    subjectQueryParam?: string;
  }
}

interface SecurityDeps {
  config: Config;
  clock: Clock;
  billing: BillingProvider;
  database: Database;
  authenticate: Authenticate;
}

/**
 * Resolves the actor from a bearer token or the session cookie (one query), and applies CSRF
 * rules: a cookie-authenticated write needs a JSON content type and a same-origin `Origin` or the
 * CSRF token; bearer writes need neither (browsers never attach bearer headers by themselves).
 */
export function registerSecurityHooks(app: FastifyInstance, deps: SecurityDeps): void {
  const publicOrigin = new URL(deps.config.publicUrl).origin;
  // A callback hook, not an async one: on the hot usage route (authenticatesItself) it runs no query
  // and answers without a turn of the promise queue.
  app.addHook('onRequest', (request, _reply, done) => {
    const bearer = bearerToken(request);
    const cookieToken = bearer ? undefined : request.cookies[SESSION_COOKIE];
    const token = bearer ?? cookieToken;
    // A service token is resolved here, so a self-authenticating route can refuse it through the
    // policy (403) or, when it is revoked, as unauthenticated (401); unless the route checks the
    // token itself as well (authenticatesServiceToken: POST /usage).
    const config = request.routeOptions.config;
    const authenticatesItself =
      config?.authenticatesItself === true &&
      (!(bearer && tokenKindOf(bearer) === 'service') || config.authenticatesServiceToken === true);
    const subjectUserId = subjectAskedAbout(request, bearer);
    // Called once, from the hook or from the lookup's promise: it catches its own errors, so none
    // can escape as an unhandled rejection.
    const finish = (actor: Caller | null, prefetchedSubject?: Ctx['prefetchedSubject']) => {
      let refusal: Error | undefined;
      try {
        request.ctx = {
          db: deps.database.db,
          config: deps.config,
          clock: deps.clock,
          billing: deps.billing,
          requestId: request.id,
          actor,
          ...(prefetchedSubject ? { prefetchedSubject } : {}),
        };
        refusal = csrfRefusal(request, { bearer, cookieToken, publicOrigin });
      } catch (error) {
        refusal = error instanceof Error ? error : new Error(String(error));
      }
      done(refusal);
    };
    if (bearer && subjectUserId) {
      deps.authenticate
        .serviceWithSubject(bearer, deps.clock.now(), subjectUserId)
        .then((found) => finish(found?.caller ?? null, found ? { userId: subjectUserId, row: found.subject } : undefined), done);
    } else if (token && !authenticatesItself) {
      deps.authenticate(token, deps.clock.now(), bearer ? 'bearer' : 'cookie').then((actor) => finish(actor), done);
    } else {
      finish(null);
    }
  });
}

/**
 * The CSRF refusal of a write, if any. Every write, whatever its path: the raw URL is not the route
 * (`/%61pi/v1/…` and an absolute `POST http://host/api/v1/…` reach API routes), and no write outside
 * /api/ needs a cookie.
 */
function csrfRefusal(
  request: FastifyRequest,
  presented: { bearer: string | undefined; cookieToken: string | undefined; publicOrigin: string },
): AppError | undefined {
  if (SAFE_METHODS.has(request.method)) return undefined;
  const origin = request.headers.origin;
  const isSameOrigin = origin === presented.publicOrigin;
  if (presented.cookieToken) {
    const csrfHeader = request.headers['x-csrf-token'];
    const hasCsrfToken = typeof csrfHeader === 'string' && isCsrfTokenOf(presented.cookieToken, csrfHeader);
    if (!isJson(request) || !(isSameOrigin || hasCsrfToken)) {
      return new AppError('csrf_failed', 'This request was refused to protect your session. Reload the page and try again.');
    }
  } else if (!presented.bearer && origin !== undefined && !isSameOrigin) {
    // Login CSRF: another site must not sign a browser into an account of its choosing.
    return new AppError('csrf_failed', 'Cross-site requests are not accepted.');
  }
  return undefined;
}

/**
 * Whether the request was routed to an API route. The matched route's pattern, not the raw URL:
 * the router decodes `/%61pi/` and accepts absolute-form targets, so a test of `request.url`
 * is bypassed. An unmatched request (404) falls back to the URL it came with.
 */
export function isApiRoute(request: FastifyRequest): boolean {
  return (request.routeOptions.url ?? request.url).startsWith('/api/');
}

/** The well-formed user id a service token's request asks about, on a route that names one (subjectQueryParam). */
function subjectAskedAbout(request: FastifyRequest, bearer: string | undefined): string | undefined {
  const param = request.routeOptions.config?.subjectQueryParam;
  if (!param || !bearer || tokenKindOf(bearer) !== 'service') return undefined;
  const value = (request.query as Record<string, unknown> | undefined)?.[param];
  // A malformed id is left to the route's schema (400); it is never cast in SQL.
  return typeof value === 'string' && isUuid(value) ? value : undefined;
}

/** The bearer token, else the session cookie: what a self-authenticating route checks. */
export function presentedToken(request: FastifyRequest): string | undefined {
  const bearer = bearerToken(request);
  if (bearer) return bearer;
  // The cookie holds only a session token (as authenticate rules for the hook): a route that checks
  // the token itself must not see an API or service token there.
  const cookie = request.cookies[SESSION_COOKIE];
  return cookie && tokenKindOf(cookie) === 'session' ? cookie : undefined;
}

function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

function isJson(request: FastifyRequest): boolean {
  const type = request.headers['content-type'];
  return typeof type === 'string' && /^application\/json\s*(;|$)/i.test(type);
}

/**
 * The CSRF token of a session: derived from the session token, which is secret and httpOnly, so a
 * token and cookie pair planted by someone who can set cookies for this site (a sibling subdomain)
 * never matches the victim's session (regression: any equal cookie and header passed). One-way, so
 * the script-readable CSRF cookie reveals nothing of the session token.
 */
export function csrfTokenOf(sessionToken: string): string {
  return createHash('sha256').update(`roster-csrf:${sessionToken}`).digest('base64url');
}

function isCsrfTokenOf(sessionToken: string, presented: string): boolean {
  const expected = Buffer.from(csrfTokenOf(sessionToken));
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function setSessionCookies(reply: FastifyReply, config: Config, token: string, expiresAt: Date): void {
  const secure = config.publicUrl.startsWith('https://');
  reply.setCookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'lax', secure, path: '/', expires: expiresAt });
  reply.setCookie(CSRF_COOKIE, csrfTokenOf(token), {
    httpOnly: false,
    sameSite: 'lax',
    secure,
    path: '/',
    expires: expiresAt,
  });
}

export function clearSessionCookies(reply: FastifyReply, config: Config): void {
  const secure = config.publicUrl.startsWith('https://');
  reply.clearCookie(SESSION_COOKIE, { path: '/', secure, httpOnly: true, sameSite: 'lax' });
  reply.clearCookie(CSRF_COOKIE, { path: '/', secure, sameSite: 'lax' });
}
