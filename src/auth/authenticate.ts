import type { Actor } from '../core/context.ts';
import { hashToken, tokenKindOf } from '../core/tokens.ts';
import { prepareStatement, type Db } from '../db/client.ts';
import { actorQuery, type ActorRow } from './credential-query.ts';

/**
 * Hot path: credential, user, membership and role in one prepared, indexed query per request
 * (the one authentication rule in credential-query.ts). Nothing is cached, so a revoked session,
 * a disabled user or a changed role counts at once.
 */
export function createAuthenticator(db: Db) {
  const bySession = prepareStatement<ActorRow>(db, 'roster_auth_session', actorQuery('session', { withOrg: true }));
  const byApiToken = prepareStatement<ActorRow>(db, 'roster_auth_api_token', actorQuery('api', { withOrg: true }));

  return async function authenticate(token: string, now: Date): Promise<Actor | null> {
    const kind = tokenKindOf(token);
    if (kind !== 'session' && kind !== 'api') return null;
    const statement = kind === 'session' ? bySession : byApiToken;
    const [row] = await statement({ hash: hashToken(token), now });
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
  };
}

export type Authenticate = ReturnType<typeof createAuthenticator>;
