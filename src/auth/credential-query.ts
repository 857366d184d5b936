import { sql, type SQL } from 'drizzle-orm';
import type { SubjectState } from '../core/context.ts';
import type { ServiceScope } from '../core/domain.ts';
import { onCitusDb } from '../db/citus.ts';
import { prepareBatchedLookup } from '../db/batched-lookup.ts';
import { prepareStatement, type Queryable } from '../db/client.ts';

/**
 * THE authentication rule, written once in SQL: a credential → its user (never a disabled one,
 * never an expired session) → the user's membership and role. The request hook runs it for the
 * requests of one turn of the event loop together (`actorQuery` joined LATERAL over their
 * credentials: prepareBatchedLookup); usage authenticates the requests of a group-commit batch
 * with the same joins over the whole batch: on Citus `batchActorQuery` (below), on PostgreSQL and
 * PGlite the database function roster_usage_batch (src/db/migrations/0029_usage_batch_function.sql,
 * its step 1, as 0032_usage_batch_service_tokens.sql replaced it). A new credential rule (expiry
 * of API tokens, …) is added to both functions here AND to that function, by a migration that
 * replaces it; src/usage/batch-auth.test.ts checks that the function authenticates every kind of
 * credential as `actorQuery` does.
 *
 * Inputs (`CredentialInputs`): `hash` (bytea, the token's SHA-256), `now` (timestamptz) and, for
 * kind `user` (an actor the request hook already resolved), `userId`; placeholders of a prepared
 * statement, or the columns of a batch.
 *
 * A service token (`rs_svc_…`) resolves to no user at all: `serviceActorQuery` (never revoked).
 *
 * This is the one place outside the auth and orgs modules' queries that reads their tables
 * (users, sessions, api_tokens, service_tokens, memberships, orgs, user_orgs): src/architecture.test.ts names it.
 */
/**
 * How a request names its user: a session or API token, a user id already authenticated (`user`),
 * or a service token's hash with the user id it records for (`service`: the usage batch checks the
 * token and its scope itself).
 */
export type CredentialKind = 'session' | 'api' | 'user' | 'service';

/** Where a query reads its inputs: a prepared statement's placeholders, or a batch's columns. */
export interface CredentialInputs {
  hash: SQL;
  now: SQL;
  userId: SQL;
}

const placeholder: CredentialInputs = {
  hash: sql`${sql.placeholder('hash')}::bytea`,
  now: sql`${sql.placeholder('now')}::timestamptz`,
  userId: sql`${sql.placeholder('userId')}::uuid`,
};

/** The inputs of one call of a batched lookup, each passed as text (batchedValues). */
type BatchColumn = 'hash' | 'now' | 'user_id';

const UUID_PATTERN = sql.raw(`'^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$'`);

/** A batched lookup's text columns (prepareBatchedLookup) as the rule's inputs. */
function batchInputs(column: Partial<Record<BatchColumn, SQL>>): CredentialInputs {
  return {
    hash: sql`decode(${column.hash ?? sql`NULL`}, 'hex')`,
    now: sql`${column.now ?? sql`NULL`}::timestamptz`,
    // A malformed id answers no user rather than failing the statement of every call in the batch.
    userId: sql`(CASE WHEN ${column.user_id ?? sql`NULL`} ~ ${UUID_PATTERN} THEN ${column.user_id ?? sql`NULL`}::uuid END)`,
  };
}

/** What a lookup is asked: the token's SHA-256 and the time, or a user id. */
export interface LookupValues {
  hash?: Buffer;
  now?: Date;
  userId?: string;
}

function batchedValues(values: LookupValues, columns: readonly BatchColumn[]): Record<BatchColumn, string> {
  const text: Record<BatchColumn, string> = {
    hash: values.hash?.toString('hex') ?? '',
    now: values.now?.toISOString() ?? '',
    user_id: values.userId ?? '',
  };
  return Object.fromEntries(columns.map((column) => [column, text[column]])) as Record<BatchColumn, string>;
}

/** `query`, written for one credential, answered for every call of a turn (prepareBatchedLookup). */
function prepareCredentialBatch<Row>(
  db: Queryable,
  name: string,
  columns: readonly BatchColumn[],
  query: (input: CredentialInputs) => SQL,
): (values: LookupValues) => Promise<Row | undefined> {
  const lookup = prepareBatchedLookup<Row, BatchColumn>(db, name, columns, (column) => query(batchInputs(column)));
  return (values) => lookup(batchedValues(values, columns));
}

function credentialSource(kind: CredentialKind, input: CredentialInputs): SQL {
  if (kind === 'session') {
    return sql`SELECT id, user_id FROM sessions WHERE token_hash = ${input.hash} AND expires_at > ${input.now}`;
  }
  if (kind === 'api') return sql`SELECT id, user_id FROM api_tokens WHERE token_hash = ${input.hash}`;
  return sql`SELECT NULL::uuid AS id, ${input.userId} AS user_id`;
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

/**
 * Where the actor's membership is read from.
 * - `join` (PostgreSQL, PGlite): memberships joined by user id, in the same statement.
 * - `user_orgs` (Citus): memberships are sharded by org, so a join by user id reads every shard
 *   (Citus even pulls every shard's memberships and orgs to the coordinator for the outer join).
 *   The first statement reads the user's org id from `user_orgs` (one org per user, kept on the
 *   coordinator, written in the same transaction as the membership) and answers no role; the
 *   second (`memberInOrgQuery`) reads the role with that org id as a constant, so Citus routes it
 *   to the org's one shard. `prepareActorLookup` and `prepareSubjectLookup` run both.
 */
export type MembershipSource = 'join' | 'user_orgs';

/** The actor of a credential as a subquery: zero rows when the credential does not authenticate. */
export function actorQuery(
  kind: CredentialKind,
  options: { withOrg: boolean; membership?: MembershipSource },
  input: CredentialInputs = placeholder,
): SQL {
  const head = sql`SELECT credential.id AS credential_id, u.id AS user_id, u.email, u.name, u.email_verified_at`;
  const actor = sql`FROM (${credentialSource(kind, input)}) credential
    JOIN users u ON u.id = credential.user_id AND u.disabled_at IS NULL`;
  if (options.membership === 'user_orgs') {
    const orgColumns = options.withOrg ? sql`, NULL::text AS slug, NULL::text AS org_name` : sql``;
    return sql`${head}, uo.org_id, NULL::text AS role${orgColumns}
      ${actor}
      LEFT JOIN user_orgs uo ON uo.user_id = u.id`;
  }
  const orgColumns = options.withOrg ? sql`, o.slug, o.name AS org_name` : sql``;
  const orgJoin = options.withOrg ? sql`LEFT JOIN orgs o ON o.id = m.org_id` : sql``;
  return sql`${head}, m.org_id, m.role${orgColumns}
    ${actor}
    LEFT JOIN memberships m ON m.user_id = u.id
    ${orgJoin}`;
}

/**
 * The second statement of the `user_orgs` source: the member `userId`'s role in the org `orgId`
 * (and, `withOrg`, the org's slug and name); zero rows when they are not its member. Every table is
 * filtered by the org id, so it reaches one shard.
 */
export function memberInOrgQuery(options: { withOrg: boolean }): SQL {
  const orgId = sql`${sql.placeholder('orgId')}::uuid`;
  if (!options.withOrg) {
    return sql`SELECT m.role FROM memberships m WHERE m.org_id = ${orgId} AND m.user_id = ${placeholder.userId}`;
  }
  return sql`SELECT m.role, o.slug, o.name AS org_name FROM memberships m JOIN orgs o ON o.id = m.org_id AND o.id = ${orgId}
    WHERE m.org_id = ${orgId} AND m.user_id = ${placeholder.userId}`;
}

type Membership = { org_id: string | null; role: 'owner' | 'admin' | 'member' | null };

/**
 * One lookup, prepared for either engine, that answers a row with the user's membership: on
 * PostgreSQL and PGlite `joined` (membership joined, one statement, shared by every call of the
 * same turn of the event loop: prepareBatchedLookup); on Citus `byUserOrg` (the org id from
 * `user_orgs`, no role), then `memberInOrgQuery` for that org (two statements, each on one node).
 * A user whose org has no membership of theirs any more answers no org.
 */
function prepareMembershipLookup<Row extends Membership & { user_id: string }>(
  db: Queryable,
  name: string,
  queries: { joined: (input: CredentialInputs) => SQL; byUserOrg: SQL; withOrg: boolean; columns: readonly BatchColumn[] },
): (values: LookupValues) => Promise<Row | undefined> {
  const joined = prepareCredentialBatch<Row>(db, name, queries.columns, queries.joined);
  const byUserOrg = prepareStatement<Row>(db, `${name}_uo`, queries.byUserOrg);
  const inOrg = prepareStatement<Partial<Row>>(db, `${name}_m`, memberInOrgQuery({ withOrg: queries.withOrg }));
  return async (values) => {
    if (!(await onCitusDb(db))) return joined(values);
    const [row] = await byUserOrg({ ...values });
    if (!row?.org_id) return row;
    const [member] = await inOrg({ orgId: row.org_id, userId: row.user_id });
    return member ? { ...row, ...member } : { ...row, org_id: null, role: null };
  };
}

/** The actor of a credential (`hash`, `now`; kind `user`: `userId`), by the rule above, on any engine. */
export function prepareActorLookup(
  db: Queryable,
  name: string,
  kind: CredentialKind,
  options: { withOrg: boolean },
): (values: LookupValues) => Promise<ActorRow | undefined> {
  return prepareMembershipLookup<ActorRow>(db, name, {
    joined: (input) => actorQuery(kind, { ...options, membership: 'join' }, input),
    byUserOrg: actorQuery(kind, { ...options, membership: 'user_orgs' }),
    withOrg: options.withOrg,
    columns: kind === 'user' ? ['user_id'] : kind === 'session' ? ['hash', 'now'] : ['hash'],
  });
}

/** A user as the policy sees them (GET /authz/check): disabled or not, and their org and role. */
export type SubjectRow = SubjectState;

/**
 * The user `userId` (bound as the `userId` placeholder) with their membership, whether or not they
 * are disabled: zero rows when no user has the id. One indexed lookup per table, prepared by the
 * caller, so a host app's permission check costs one round-trip.
 */
export function subjectQuery(membership: MembershipSource = 'join', input: CredentialInputs = placeholder): SQL {
  if (membership === 'user_orgs') {
    return sql`
      SELECT u.id AS user_id, u.disabled_at IS NOT NULL AS disabled, uo.org_id, NULL::text AS role
      FROM users u
      LEFT JOIN user_orgs uo ON uo.user_id = u.id
      WHERE u.id = ${input.userId}`;
  }
  return sql`
    SELECT u.id AS user_id, u.disabled_at IS NOT NULL AS disabled, m.org_id, m.role
    FROM users u
    LEFT JOIN memberships m ON m.user_id = u.id
    WHERE u.id = ${input.userId}`;
}

/** The subject `userId` (subjectQuery) on any engine, as prepareActorLookup does for credentials. */
export function prepareSubjectLookup(
  db: Queryable,
  name: string,
): (values: { userId: string }) => Promise<SubjectRow | undefined> {
  return prepareMembershipLookup<SubjectRow>(db, name, {
    joined: (input) => subjectQuery('join', input),
    byUserOrg: subjectQuery('user_orgs'),
    withOrg: false,
    columns: ['user_id'],
  });
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
function serviceActorQuery(input: CredentialInputs): SQL {
  return sql`
    SELECT id AS credential_id, scopes, last_used_at FROM service_tokens
    WHERE token_hash = ${input.hash} AND revoked_at IS NULL`;
}

/** serviceActorQuery for every call of a turn (prepareBatchedLookup), by the token's hash. */
export function prepareServiceActorLookup(
  db: Queryable,
  name: string,
): (values: { hash: Buffer }) => Promise<ServiceActorRow | undefined> {
  return prepareCredentialBatch<ServiceActorRow>(db, name, ['hash'], serviceActorQuery);
}

/** A service token's row with the user it asks about (`SubjectRow`'s columns, null when no user has the id). */
export interface ServiceActorWithSubjectRow extends ServiceActorRow {
  subject_user_id: string | null;
  subject_disabled: boolean | null;
  subject_org_id: string | null;
  subject_role: 'owner' | 'admin' | 'member' | null;
}

/**
 * `serviceActorQuery` and `subjectQuery` in one statement, for the host app's permission check
 * (GET /authz/check): the token and the user it asks about are read in one round trip instead of
 * two, from the rows as they are now. Zero rows when the token does not authenticate; the subject
 * columns are null when no user has the id.
 */
function serviceActorWithSubjectQuery(input: CredentialInputs): SQL {
  return sql`
    SELECT service.credential_id, service.scopes, service.last_used_at, subject.user_id AS subject_user_id,
           subject.disabled AS subject_disabled, subject.org_id AS subject_org_id, subject.role AS subject_role
    FROM (${serviceActorQuery(input)}) service
    LEFT JOIN LATERAL (${subjectQuery('join', input)}) subject ON true`;
}

/** serviceActorWithSubjectQuery for every call of a turn (prepareBatchedLookup): PostgreSQL and PGlite. */
export function prepareServiceActorWithSubjectLookup(
  db: Queryable,
  name: string,
): (values: { hash: Buffer; userId: string }) => Promise<ServiceActorWithSubjectRow | undefined> {
  return prepareCredentialBatch<ServiceActorWithSubjectRow>(db, name, ['hash', 'user_id'], serviceActorWithSubjectQuery);
}

export function scopesOf(row: ServiceActorRow): ServiceScope[] {
  if (Array.isArray(row.scopes)) return row.scopes;
  return row.scopes
    .replace(/^\{|\}$/g, '')
    .split(',')
    .filter(Boolean) as ServiceScope[];
}

/**
 * The same rule over a batch of requests (usage group commit on Citus, src/usage/batch.ts):
 * `requests` is a relation of `(idx int, kind text, hash bytea, user_id uuid)` — `kind` `session` or
 * `api` with `hash`, `user` with `user_id` (an actor already resolved), or `service` with both (a
 * request on behalf of `user_id` with a service token, which must be unrevoked and hold one of
 * `scopes`: the serviceActorQuery rule). One row per request that authenticates (never a disabled
 * user, never an expired session), with the user's org from `user_orgs` and no role
 * (memberRolesInOrgQuery reads the roles, org by org).
 */
export function batchActorQuery(requests: SQL, now: SQL, scopes: SQL): SQL {
  return sql`
    SELECT r.idx, u.id AS user_id, uo.org_id, NULL::text AS role
    FROM ${requests}
    LEFT JOIN sessions s ON r.kind = 'session' AND s.token_hash = r.hash AND s.expires_at > ${now}
    LEFT JOIN api_tokens t ON r.kind = 'api' AND t.token_hash = r.hash
    LEFT JOIN service_tokens st ON r.kind = 'service' AND st.token_hash = r.hash AND st.revoked_at IS NULL AND st.scopes && ${scopes}
    JOIN users u ON u.id = CASE r.kind WHEN 'session' THEN s.user_id WHEN 'api' THEN t.user_id
                                       WHEN 'service' THEN CASE WHEN st.id IS NOT NULL THEN r.user_id END ELSE r.user_id END
      AND u.disabled_at IS NULL
    LEFT JOIN user_orgs uo ON uo.user_id = u.id`;
}

/**
 * The second statement of a `user_orgs` batch (Citus): the roles of `userIds` in the org `orgId`,
 * one shard. A user of the list who is not its member any more has no row.
 */
export function memberRolesInOrgQuery(orgId: string, userIds: string[]): SQL {
  return sql`SELECT m.user_id, m.role FROM memberships m
    WHERE m.org_id = ${orgId}::uuid AND m.user_id = ANY(${sql.param(userIds)}::uuid[])`;
}
