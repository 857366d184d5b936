import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import type { Actor } from '../core/context.ts';
import { hashToken, tokenKindOf } from '../core/tokens.ts';
import type { Db } from '../db/client.ts';
import { apiTokens, memberships, orgs, sessions, users } from '../db/schema.ts';

const actorColumns = {
  credentialId: sql<string>`credential.id`,
  userId: users.id,
  email: users.email,
  name: users.name,
  emailVerifiedAt: users.emailVerifiedAt,
  orgId: memberships.orgId,
  role: memberships.role,
  slug: orgs.slug,
  orgName: orgs.name,
};

/**
 * Hot path: credential, user, membership and role in one prepared, indexed query per request.
 * Nothing is cached, so a revoked session, a disabled user or a changed role counts at once.
 */
export function createAuthenticator(db: Db) {
  const sessionCredential = db.$with('credential').as(
    db
      .select({ id: sessions.id, userId: sql<string>`${sessions.userId}`.as('user_id') })
      .from(sessions)
      .where(and(eq(sessions.tokenHash, sql.placeholder('hash')), gt(sessions.expiresAt, sql.placeholder('now')))),
  );
  const apiCredential = db.$with('credential').as(
    db
      .select({ id: apiTokens.id, userId: sql<string>`${apiTokens.userId}`.as('user_id') })
      .from(apiTokens)
      .where(eq(apiTokens.tokenHash, sql.placeholder('hash'))),
  );
  const bySession = db
    .with(sessionCredential)
    .select(actorColumns)
    .from(sessionCredential)
    .innerJoin(users, and(eq(users.id, sql`credential.user_id`), isNull(users.disabledAt)))
    .leftJoin(memberships, eq(memberships.userId, users.id))
    .leftJoin(orgs, eq(orgs.id, memberships.orgId))
    .prepare('roster_auth_session');
  const byApiToken = db
    .with(apiCredential)
    .select(actorColumns)
    .from(apiCredential)
    .innerJoin(users, and(eq(users.id, sql`credential.user_id`), isNull(users.disabledAt)))
    .leftJoin(memberships, eq(memberships.userId, users.id))
    .leftJoin(orgs, eq(orgs.id, memberships.orgId))
    .prepare('roster_auth_api_token');

  return async function authenticate(token: string, now: Date): Promise<Actor | null> {
    const kind = tokenKindOf(token);
    if (kind !== 'session' && kind !== 'api') return null;
    const statement = kind === 'session' ? bySession : byApiToken;
    const [row] = await statement.execute({ hash: hashToken(token), now });
    if (!row) return null;
    return {
      userId: row.userId,
      email: row.email,
      name: row.name,
      emailVerified: row.emailVerifiedAt !== null,
      membership:
        row.orgId && row.role && row.slug && row.orgName
          ? { orgId: row.orgId, role: row.role, slug: row.slug, orgName: row.orgName }
          : null,
      via: kind === 'session' ? 'session' : 'api_token',
      credentialId: row.credentialId,
    };
  };
}

export type Authenticate = ReturnType<typeof createAuthenticator>;
