import { sql, type SQL } from 'drizzle-orm';
import type { ServiceScope } from '../core/domain.ts';

/**
 * THE authentication rule, written once in SQL: a credential → its user (never a disabled one,
 * never an expired session) → the user's membership and role. The request hook runs it as its
 * own prepared statement; usage authenticates the requests of a group-commit batch with the same
 * joins over the whole batch (`batchActorQuery`, below). A new credential rule (expiry of API
 * tokens, …) is added to both functions here.
 *
 * Placeholders: `hash` (bytea, the token's SHA-256), `now` (timestamptz) and, for kind `user`
 * (an actor the request hook already resolved), `userId`.
 *
 * A service token (`rs_svc_…`) resolves to no user at all: `serviceActorQuery` (never revoked).
 *
 * This is the one place outside the auth and orgs modules' queries that reads their tables
 * (users, sessions, api_tokens, service_tokens, memberships, orgs): src/architecture.test.ts names it.
 */
export type CredentialKind = 'session' | 'api' | 'user';

const placeholder = {
  hash: sql`${sql.placeholder('hash')}::bytea`,
  now: sql`${sql.placeholder('now')}::timestamptz`,
  userId: sql`${sql.placeholder('userId')}::uuid`,
};

function credentialSource(kind: CredentialKind): SQL {
  if (kind === 'session') {
    return sql`SELECT id, user_id FROM sessions WHERE token_hash = ${placeholder.hash} AND expires_at > ${placeholder.now}`;
  }
  if (kind === 'api') return sql`SELECT id, user_id FROM api_tokens WHERE token_hash = ${placeholder.hash}`;
  return sql`SELECT NULL::uuid AS id, ${placeholder.userId} AS user_id`;
}

/** Columns of one actor row; `withOrg` adds the org's slug and name (the hot path needs neither). */
export interface ActorRow {
  credential_id: string | null;
  user_id: string;
  email: string;
  name: string;
  email_verified_at: Date | string | null;
  org_id: string | null;
  role: 'owner' | 'admin' | 'member' | null;
  slug?: string | null;
  org_name?: string | null;
}

/** The actor of a credential as a subquery: zero rows when the credential does not authenticate. */
export function actorQuery(kind: CredentialKind, options: { withOrg: boolean }): SQL {
  const orgColumns = options.withOrg ? sql`, o.slug, o.name AS org_name` : sql``;
  const orgJoin = options.withOrg ? sql`LEFT JOIN orgs o ON o.id = m.org_id` : sql``;
  return sql`
    SELECT credential.id AS credential_id, u.id AS user_id, u.email, u.name, u.email_verified_at,
           m.org_id, m.role${orgColumns}
    FROM (${credentialSource(kind)}) credential
    JOIN users u ON u.id = credential.user_id AND u.disabled_at IS NULL
    LEFT JOIN memberships m ON m.user_id = u.id
    ${orgJoin}`;
}

/** A user as the policy sees them (GET /authz/check): disabled or not, and their org and role. */
export interface SubjectRow {
  user_id: string;
  disabled: boolean;
  org_id: string | null;
  role: 'owner' | 'admin' | 'member' | null;
}

/**
 * The user `userId` (bound as the `userId` placeholder) with their membership, whether or not they
 * are disabled: zero rows when no user has the id. One indexed lookup per table, prepared by the
 * caller, so a host app's permission check costs one round-trip.
 */
export function subjectQuery(): SQL {
  return sql`
    SELECT u.id AS user_id, u.disabled_at IS NOT NULL AS disabled, m.org_id, m.role
    FROM users u
    LEFT JOIN memberships m ON m.user_id = u.id
    WHERE u.id = ${placeholder.userId}`;
}

/** A service token's row: its id and scopes. */
export interface ServiceActorRow {
  credential_id: string;
  /** A text[]; a driver that leaves arrays unparsed gives the literal `{a,b}`. */
  scopes: ServiceScope[] | string;
  /** Null until first used; written at most once a minute (touchServiceToken). */
  last_used_at: Date | string | null;
}

/**
 * The service token with hash `hash`, unless it is revoked: zero rows then. No user, no org. A read
 * only: the hot path records the token's last use separately, at most once a minute per token
 * (`touchServiceToken`), so the operator sees which tokens are in use.
 */
export function serviceActorQuery(): SQL {
  return sql`
    SELECT id AS credential_id, scopes, last_used_at FROM service_tokens
    WHERE token_hash = ${placeholder.hash} AND revoked_at IS NULL`;
}

export function scopesOf(row: ServiceActorRow): ServiceScope[] {
  if (Array.isArray(row.scopes)) return row.scopes;
  return row.scopes
    .replace(/^\{|\}$/g, '')
    .split(',')
    .filter(Boolean) as ServiceScope[];
}

/**
 * The same rule over a batch of requests (usage group commit, src/usage/batch.ts): `requests` is
 * a relation of `(idx int, kind text, hash bytea, user_id uuid)` — `kind` `session` or `api` with
 * `hash`, or `user` with `user_id` (a service token's on-behalf request). One row per request that
 * authenticates (never a disabled user, never an expired session), with its membership.
 */
export function batchActorQuery(requests: SQL, now: SQL): SQL {
  return sql`
    SELECT r.idx, u.id AS user_id, m.org_id, m.role
    FROM ${requests}
    LEFT JOIN sessions s ON r.kind = 'session' AND s.token_hash = r.hash AND s.expires_at > ${now}
    LEFT JOIN api_tokens t ON r.kind = 'api' AND t.token_hash = r.hash
    JOIN users u ON u.id = CASE r.kind WHEN 'session' THEN s.user_id WHEN 'api' THEN t.user_id ELSE r.user_id END
      AND u.disabled_at IS NULL
    LEFT JOIN memberships m ON m.user_id = u.id`;
}
