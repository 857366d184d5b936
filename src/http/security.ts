import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticate } from '../auth/authenticate.ts';
import type { BillingProvider } from '../billing/provider.ts';
import type { Config } from '../config.ts';
import type { Clock } from '../core/context.ts';
import { AppError } from '../core/errors.ts';
import { tokenKindOf } from '../core/tokens.ts';
import type { Database } from '../db/client.ts';
import { randomBytes } from 'node:crypto';

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
  app.addHook('onRequest', async (request) => {
    const bearer = bearerToken(request);
    const cookieToken = bearer ? undefined : request.cookies[SESSION_COOKIE];
    const token = bearer ?? cookieToken;
    // A service token is always resolved here, so a self-authenticating route (usage) can refuse it
    // through the policy (403) or, when it is revoked, as unauthenticated (401).
    const authenticatesItself =
      request.routeOptions.config?.authenticatesItself === true && !(bearer && tokenKindOf(bearer) === 'service');
    const actor =
      token && !authenticatesItself ? await deps.authenticate(token, deps.clock.now(), bearer ? 'bearer' : 'cookie') : null;
    request.ctx = {
      db: deps.database.db,
      config: deps.config,
      clock: deps.clock,
      billing: deps.billing,
      requestId: request.id,
      actor,
    };
    if (SAFE_METHODS.has(request.method) || !request.url.startsWith('/api/')) return;
    const origin = request.headers.origin;
    const isSameOrigin = origin === publicOrigin;
    if (cookieToken) {
      const csrfHeader = request.headers['x-csrf-token'];
      const csrfCookie = request.cookies[CSRF_COOKIE];
      const hasCsrfToken = typeof csrfHeader === 'string' && csrfHeader.length > 0 && csrfHeader === csrfCookie;
      if (!isJson(request) || !(isSameOrigin || hasCsrfToken)) {
        throw new AppError('csrf_failed', 'This request was refused to protect your session. Reload the page and try again.');
      }
    } else if (!bearer && origin !== undefined && !isSameOrigin) {
      // Login CSRF: another site must not sign a browser into an account of its choosing.
      throw new AppError('csrf_failed', 'Cross-site requests are not accepted.');
    }
  });
}

/** The bearer token, else the session cookie: what a self-authenticating route checks. */
export function presentedToken(request: FastifyRequest): string | undefined {
  return bearerToken(request) ?? request.cookies[SESSION_COOKIE];
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

export function setSessionCookies(reply: FastifyReply, config: Config, token: string, expiresAt: Date): void {
  const secure = config.publicUrl.startsWith('https://');
  reply.setCookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'lax', secure, path: '/', expires: expiresAt });
  reply.setCookie(CSRF_COOKIE, randomBytes(24).toString('base64url'), {
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
