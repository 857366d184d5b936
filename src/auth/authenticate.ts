import type { Caller, ServiceActor } from '../core/context.ts';
import { hashToken, tokenKindOf } from '../core/tokens.ts';
import type { Db } from '../db/client.ts';
import { SERVICE_TOKEN_USE_RESOLUTION_MS, touchServiceToken } from './queries.ts';
import {
  prepareActorLookup,
  prepareServiceActorLookup,
  prepareServiceActorWithSubjectLookup,
  prepareSubjectLookup,
  scopesOf,
  type ServiceActorRow,
  type SubjectRow,
} from './credential-query.ts';
import { onCitusDb } from '../db/citus.ts';

/**
 * Hot path: credential, user, membership and role in one prepared, indexed query (the one
 * authentication rule in credential-query.ts), shared by every request of the same turn of the
 * event loop (prepareBatchedLookup); on Citus two per request, each on one node. Nothing is cached,
 * so a revoked session, a disabled user or a changed role counts at once. A service token
 * (`rs_svc_…`) is accepted only as a bearer token, never from the session cookie, and resolves to a
 * service actor (no user).
 */

export function createAuthenticator(db: Db) {
  const bySession = prepareActorLookup(db, 'roster_auth_session', 'session', { withOrg: true });
  const byApiToken = prepareActorLookup(db, 'roster_auth_api_token', 'api', { withOrg: true });

  const byServiceToken = prepareServiceActorLookup(db, 'roster_auth_service_token');
  const byServiceTokenWithSubject = prepareServiceActorWithSubjectLookup(db, 'roster_auth_service_token_subject');
  const subjectOnCitus = prepareSubjectLookup(db, 'roster_auth_subject');

  async function serviceActorOf(service: ServiceActorRow, now: Date): Promise<ServiceActor> {
    const lastUsed = service.last_used_at === null ? null : new Date(service.last_used_at);
    if (!lastUsed || now.getTime() - lastUsed.getTime() >= SERVICE_TOKEN_USE_RESOLUTION_MS) {
      await touchServiceToken(db, { id: service.credential_id, now });
    }
    return { via: 'service_token', credentialId: service.credential_id, scopes: scopesOf(service) };
  }

  /**
   * A service token (bearer only) and, in the same statement, the user `subjectUserId` it asks
   * about (GET /authz/check): one round trip instead of two. `subject` is undefined when no user
   * has the id; null caller when the token does not authenticate.
   */
  async function authenticateServiceWithSubject(
    token: string,
    now: Date,
    subjectUserId: string,
  ): Promise<{ caller: ServiceActor; subject: SubjectRow | undefined } | null> {
    if (await onCitusDb(db)) {
      // Citus: the subject's membership is on its org's shard; the one-statement form would read
      // every shard. The token, then the subject's two single-node steps (prepareSubjectLookup).
      const service = await byServiceToken({ hash: hashToken(token) });
      if (!service) return null;
      return { caller: await serviceActorOf(service, now), subject: await subjectOnCitus({ userId: subjectUserId }) };
    }
    const row = await byServiceTokenWithSubject({ hash: hashToken(token), userId: subjectUserId });
    if (!row) return null;
    const subject =
      row.subject_user_id === null
        ? undefined
        : {
            user_id: row.subject_user_id,
            disabled: row.subject_disabled === true,
            org_id: row.subject_org_id,
            role: row.subject_role,
          };
    return { caller: await serviceActorOf(row, now), subject };
  }

  async function authenticate(token: string, now: Date, source: 'bearer' | 'cookie' = 'bearer'): Promise<Caller | null> {
    const kind = tokenKindOf(token);
    // The session cookie holds a session token and nothing else: an API or service token there
    // would be a token of one kind accepted as another.
    if (source === 'cookie' && kind !== 'session') return null;
    if (kind === 'service') {
      const service = await byServiceToken({ hash: hashToken(token) });
      if (!service) return null;
      return serviceActorOf(service, now);
    }
    if (kind !== 'session' && kind !== 'api') return null;
    const statement = kind === 'session' ? bySession : byApiToken;
    const row = await statement({ hash: hashToken(token), now });
    if (!row) return null;
    return {
      userId: row.user_id,
      email: row.email,
      name: row.name,
      emailVerified: row.email_verified_at !== null,
      membership:
        row.org_id && row.role && row.slug && row.org_name
          ? { orgId: row.org_id, role: row.role, slug: row.slug, orgName: row.org_name }
          : null,
      via: kind === 'session' ? 'session' : 'api_token',
      credentialId: row.credential_id,
    };
  }

  return Object.assign(authenticate, { serviceWithSubject: authenticateServiceWithSubject });
}

export type Authenticate = ReturnType<typeof createAuthenticator>;

const authenticators = new WeakMap<Db, Authenticate>();

/**
 * The authenticator of `db`, created once: the request hook's, which a route that authenticates a
 * token itself (POST /usage) also uses on its slow path (a refused or malformed request).
 */
export function authenticatorOf(db: Db): Authenticate {
  let authenticator = authenticators.get(db);
  if (!authenticator) {
    authenticator = createAuthenticator(db);
    authenticators.set(db, authenticator);
  }
  return authenticator;
}
