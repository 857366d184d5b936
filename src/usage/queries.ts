import { sql, type SQL } from 'drizzle-orm';
import { autocommitQuery, queryRows, queryRowsPrepared, type Queryable } from '../db/client.ts';
import type { Plan, Role } from '../db/schema.ts';
import { activeSubscriptionColumns } from '../billing/queries.ts';
import { batchActorQuery, memberRolesInOrgQuery, type CredentialKind } from '../auth/credential-query.ts';
import { serviceTokenUseSince, touchServiceTokens } from '../auth/queries.ts';

export type { CredentialKind };

/**
 * Counter rows ("slices") per member: `USAGE_COUNTER_SLICES`, default 1. They let a
 * one-statement-per-request path add to one row per connection; group commit (src/usage/batch.ts)
 * decides every request under the member's row locks in one transaction per batch, so more rows
 * only add locks. Rows that exist are always all locked and summed, so changing the number is safe.
 */

export interface MemberLimits {
  daily: number | null;
  monthly: number | null;
}

export async function findLimits(db: Queryable, orgId: string, userId: string): Promise<MemberLimits> {
  const rows = await queryRows<{ daily_limit: string | number | null; monthly_limit: string | number | null }>(
    db,
    sql`SELECT daily_limit, monthly_limit FROM usage_limits WHERE org_id = ${orgId} AND user_id = ${userId}`,
  );
  return { daily: toNumberOrNull(rows[0]?.daily_limit), monthly: toNumberOrNull(rows[0]?.monthly_limit) };
}

/** Per-activity totals of one member, or of every member of the org, between two UTC days. */
export async function activityTotals(
  db: Queryable,
  input: { orgId: string; userId?: string; from: string; until: string; day: string },
): Promise<{ userId: string; activity: string; day: number; period: number }[]> {
  const rows = await queryRows<{ user_id: string; activity: string; day_quantity: string | number; quantity: string | number }>(
    db,
    sql`SELECT user_id, activity,
               coalesce(sum(quantity) FILTER (WHERE day = ${input.day}::date), 0) AS day_quantity,
               sum(quantity) AS quantity
        FROM usage_activity
        WHERE org_id = ${input.orgId}
          ${input.userId ? sql`AND user_id = ${input.userId}` : sql``}
          AND day >= ${input.from}::date AND day < ${input.until}::date
        GROUP BY user_id, activity
        ORDER BY user_id, activity`,
  );
  return rows.map((row) => ({
    userId: row.user_id,
    activity: row.activity,
    day: Number(row.day_quantity),
    period: Number(row.quantity),
  }));
}

/** Sets (or clears, with nulls) a member's limits. */
export async function upsertLimits(
  tx: Queryable,
  input: { orgId: string; userId: string; daily: number | null; monthly: number | null; now: Date },
): Promise<void> {
  await tx.execute(
    sql`INSERT INTO usage_limits (org_id, user_id, daily_limit, monthly_limit, updated_at)
        VALUES (${input.orgId}, ${input.userId}, ${input.daily}, ${input.monthly}, ${input.now})
        ON CONFLICT (org_id, user_id) DO UPDATE
        SET daily_limit = excluded.daily_limit, monthly_limit = excluded.monthly_limit, updated_at = excluded.updated_at`,
  );
}

/**
 * For another module's read of members that shows their limits in the same statement:
 * `LEFT JOIN LATERAL ${limitsOfMember({ orgId: sql`m.org_id`, userId: sql`m.user_id` })} l ON true` gives
 * l.daily_limit and l.monthly_limit (null: no limit).
 */
/** Ids of the org's members with a daily or monthly limit, for a set-based filter in another module's count. */
export function userIdsWithLimit(orgId: string): SQL {
  return sql`(SELECT user_id FROM usage_limits
              WHERE org_id = ${orgId} AND (daily_limit IS NOT NULL OR monthly_limit IS NOT NULL))`;
}

export function limitsOfMember(membership: { orgId: SQL; userId: SQL }): SQL {
  return sql`(SELECT daily_limit, monthly_limit FROM usage_limits WHERE org_id = ${membership.orgId} AND user_id = ${membership.userId})`;
}

// ---- limit changes ------------------------------------------------------------------------

/**
 * Locks the member's counter rows in the transaction that changes the limit (keeping quota =
 * used, as every batch writes it): a usage batch of that member waits for the change and then
 * reads the new limit.
 */
export async function drainShares(tx: Queryable, orgId: string, userId: string): Promise<void> {
  await tx.execute(
    sql`UPDATE usage_counters SET day_quota = day_used, month_quota = month_used
        WHERE org_id = ${orgId} AND user_id = ${userId}`,
  );
}

export function toNumberOrNull(value: string | number | null | undefined): number | null {
  return value === null || value === undefined ? null : Number(value);
}

// ---- organization allocation (credits): org_usage, org_allocations, allocation_notices ----------
// src/usage/allocation.ts decides; these are its statements.

export interface AllocationInputs {
  /** The live subscription's plan and seats; null without one (or canceled). */
  plan: Plan | null;
  seats: number;
  /** Support's Enterprise setting: null = unlimited (also when never set). */
  enterpriseMonthly: number | null;
}

/** What the org's allocation is computed from, in one statement (billing's subscription fragment). */
export async function allocationInputs(db: Queryable, orgId: string): Promise<AllocationInputs> {
  const rows = await queryRows<{ plan: Plan | null; seats: number | string | null; monthly: string | number | null }>(
    db,
    sql`SELECT s.plan, s.seats, a.monthly
        FROM (SELECT 1) one
        LEFT JOIN LATERAL ${activeSubscriptionColumns(sql`${orgId}::uuid`)} s ON true
        LEFT JOIN org_allocations a ON a.org_id = ${orgId}`,
  );
  const row = rows[0];
  return { plan: row?.plan ?? null, seats: Number(row?.seats ?? 0), enterpriseMonthly: toNumberOrNull(row?.monthly) };
}

/**
 * The advisory lock class of an org's allocation (the key's second half is the org id's hashtext):
 * every usage batch of the org holds it shared (roster_usage_batch, migration 0033), a change of
 * the org's allocation exclusively (lockOrgUsage). Class 5 is the event log's (src/events/queries.ts).
 */
export const ORG_ALLOCATION_LOCK = 6;

/**
 * Citus: a usage batch's share of the org's allocation lock, until commit (roster_usage_batch takes
 * the same in the database). Under it the org's allocation stays as read, finite or unlimited.
 */
export async function shareOrgAllocationLock(tx: Queryable, orgId: string): Promise<void> {
  await tx.execute(sql`SELECT pg_advisory_xact_lock_shared(${ORG_ALLOCATION_LOCK}::int, hashtext(${orgId}::uuid::text))`);
}

/**
 * For a change of the org's allocation (a plan change, set-allocation), until commit: takes the
 * org's allocation lock exclusively, which waits for the org's usage batches in flight (each holds
 * it shared) and makes the later ones wait, then creates the org's row for the month when missing
 * and locks it FOR UPDATE (the batches of a finite allocation lock the same row). Returns the
 * month's usage as the row holds it.
 */
export async function lockOrgUsage(tx: Queryable, input: { orgId: string; month: string }): Promise<number> {
  await tx.execute(sql`SELECT pg_advisory_xact_lock(${ORG_ALLOCATION_LOCK}::int, hashtext(${input.orgId}::uuid::text))`);
  await tx.execute(
    sql`INSERT INTO org_usage (org_id, month, used) VALUES (${input.orgId}, ${input.month}::date, 0)
        ON CONFLICT (org_id, month) DO NOTHING`,
  );
  const rows = await queryRows<{ used: string | number }>(
    tx,
    sql`SELECT used FROM org_usage WHERE org_id = ${input.orgId} AND month = ${input.month}::date
        FOR UPDATE`,
  );
  return Number(rows[0]?.used ?? 0);
}

/**
 * Called (in its transaction, after `lockOrgUsage`) when the org's allocation may change between
 * unlimited and finite: sets the month's usage from the counters, which hold everything recorded
 * this month (and keeps every counter's quota equal to its use, as the batches write them).
 */
export async function resyncOrgUsage(tx: Queryable, input: { orgId: string; month: string }): Promise<number> {
  await tx.execute(sql`UPDATE usage_counters SET day_quota = day_used, month_quota = month_used WHERE org_id = ${input.orgId}`);
  const rows = await queryRows<{ used: string | number }>(
    tx,
    sql`UPDATE org_usage SET used = (
          SELECT coalesce(sum(month_used), 0) FROM usage_counters WHERE org_id = ${input.orgId} AND month = ${input.month}::date
        )
        WHERE org_id = ${input.orgId} AND month = ${input.month}::date
        RETURNING used`,
  );
  return Number(rows[0]?.used ?? 0);
}

/** The org's usage this month: its org_usage row (finite allocation) and its members' counters. */
export async function orgMonthUsage(db: Queryable, orgId: string, month: string): Promise<{ tracked: number; counted: number }> {
  const rows = await queryRows<{ tracked: string | number | null; counted: string | number | null }>(
    db,
    sql`SELECT (SELECT used FROM org_usage WHERE org_id = ${orgId} AND month = ${month}::date) AS tracked,
               (SELECT coalesce(sum(month_used), 0) FROM usage_counters WHERE org_id = ${orgId} AND month = ${month}::date) AS counted`,
  );
  return { tracked: Number(rows[0]?.tracked ?? 0), counted: Number(rows[0]?.counted ?? 0) };
}

/** Sets support's Enterprise allocation (null: unlimited); returns the previous setting. */
export async function upsertOrgAllocation(
  tx: Queryable,
  input: { orgId: string; monthly: number | null; now: Date },
): Promise<number | null> {
  const previous = await queryRows<{ monthly: string | number | null }>(
    tx,
    sql`SELECT monthly FROM org_allocations WHERE org_id = ${input.orgId} FOR UPDATE`,
  );
  await tx.execute(
    sql`INSERT INTO org_allocations (org_id, monthly, updated_at) VALUES (${input.orgId}, ${input.monthly}, ${input.now})
        ON CONFLICT (org_id) DO UPDATE SET monthly = excluded.monthly, updated_at = excluded.updated_at`,
  );
  return toNumberOrNull(previous[0]?.monthly);
}

/** Claims the month's warning of `level`; false when it was already sent this month. */
export async function claimAllocationNotice(
  tx: Queryable,
  input: { orgId: string; month: string; level: 'low' | 'exhausted'; now: Date },
): Promise<boolean> {
  const rows = await queryRows<{ level: string }>(
    tx,
    sql`INSERT INTO allocation_notices (org_id, month, level, created_at)
        VALUES (${input.orgId}, ${input.month}::date, ${input.level}, ${input.now})
        ON CONFLICT (org_id, month, level) DO NOTHING
        RETURNING level`,
  );
  return rows.length > 0;
}

// ---- usage on behalf of members and retried requests: usage_keys, usage_limit_notices ----------

export interface UsageActor {
  userId: string;
  /** Null when the user belongs to no org. */
  orgId: string | null;
  role: Role | null;
}

export interface StoredKey {
  activity: string;
  quantity: number;
  dayUsed: number;
  dayLimit: number | null;
  monthUsed: number;
  monthLimit: number | null;
}

export interface KeyedRequest extends MemberKey {
  key: string;
}

export function usageKeyId(orgId: string, userId: string, key: string): string {
  return `${orgId}/${userId}/${key}`;
}

/** Claims the member's limit notice of a period; false when it was already claimed. */
export async function claimLimitNotice(
  tx: Queryable,
  input: { orgId: string; userId: string; period: 'day' | 'month'; start: string; now: Date },
): Promise<boolean> {
  const rows = await queryRows<{ period: string }>(
    tx,
    sql`INSERT INTO usage_limit_notices (org_id, user_id, period, start, created_at)
        VALUES (${input.orgId}, ${input.userId}, ${input.period}, ${input.start}::date, ${input.now})
        ON CONFLICT (org_id, user_id, period, start) DO NOTHING
        RETURNING period`,
  );
  return rows.length > 0;
}

// ---- group commit (src/usage/batch.ts decides) ----------------------------------------------------
//
// PostgreSQL and PGlite run a batch as one call of the database function roster_usage_batch
// (src/db/migrations/0029_usage_batch_function.sql; callUsageBatch, below). Citus runs its steps
// from node, each step one statement per org, filtered by that org (`inOrg`) so that Citus routes
// it to the org's shard (it refuses FOR UPDATE over several shards): BEGIN; authenticate; lock
// the org's month row; its allocation inputs; lock the counter rows; the limits; the stored keys;
// the writes; COMMIT. What must be read AFTER a lock is granted (a change committed by its
// previous holder) is never in the statement that waits for that lock: a statement's snapshot is
// taken before it waits (a locked row itself is read at its latest version).

/** Citus: the filter by the batch's org `only` that routes a statement to the org's shard. */
function inOrg(column: SQL, only: string | undefined): SQL {
  return only === undefined ? sql`` : sql` AND ${column} = ${only}::uuid`;
}

export interface BatchRequestRow {
  idx: number;
  kind: CredentialKind;
  /** SHA-256 of the token (session, api, service), or undefined. */
  hash?: Buffer | undefined;
  /** A valid uuid (kinds `user` and `service`), or undefined. */
  userId?: string | undefined;
}

type ActorRow = { idx: number; user_id: string; org_id: string | null; role: Role | null };

function actorsQuery(requests: BatchRequestRow[], now: Date, scopes: readonly string[]): SQL {
  const source = sql`(SELECT r0.idx, r0.kind, decode(r0.hash_hex, 'hex') AS hash, nullif(r0.user_id, '')::uuid AS user_id
      FROM unnest(${sql.param(requests.map((row) => row.idx))}::int[], ${sql.param(requests.map((row) => row.kind))}::text[],
                  ${sql.param(requests.map((row) => row.hash?.toString('hex') ?? ''))}::text[],
                  ${sql.param(requests.map((row) => row.userId ?? ''))}::text[]) AS r0(idx, kind, hash_hex, user_id)) r`;
  return batchActorQuery(source, sql`${now}::timestamptz`, sql`${sql.param([...scopes])}::text[]`);
}

function toActors(rows: ActorRow[]): Map<number, UsageActor> {
  return new Map(rows.map((row) => [Number(row.idx), { userId: row.user_id, orgId: row.org_id, role: row.role }]));
}

/**
 * Citus: authenticates every request of the batch (the shared rule, batchActorQuery) with the
 * users' orgs from `user_orgs` (on the coordinator), then reads the roles org by org, each
 * statement on the org's one shard (a join of memberships by user id would read every shard).
 */
export async function authenticateBatch(
  tx: Queryable,
  requests: BatchRequestRow[],
  input: { now: Date; scopes: readonly string[] },
): Promise<Map<number, UsageActor>> {
  const rows = await queryRows<ActorRow>(tx, actorsQuery(requests, input.now, input.scopes));
  const services = requests.flatMap((request) => (request.kind === 'service' && request.hash ? [request.hash] : []));
  if (services.length > 0) await touchServiceTokens(tx, { hashes: services, scopes: input.scopes, now: input.now });
  const usersOfOrg = new Map<string, Set<string>>();
  for (const row of rows) {
    if (row.org_id) usersOfOrg.set(row.org_id, (usersOfOrg.get(row.org_id) ?? new Set()).add(row.user_id));
  }
  const roles = new Map<string, Role>();
  for (const [orgId, userIds] of [...usersOfOrg].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const members = await queryRows<{ user_id: string; role: Role }>(tx, memberRolesInOrgQuery(orgId, [...userIds]));
    for (const member of members) roles.set(`${orgId}/${member.user_id}`, member.role);
  }
  return toActors(
    rows.map((row) => {
      const role = row.org_id ? roles.get(`${row.org_id}/${row.user_id}`) : undefined;
      return role ? { ...row, role } : { ...row, org_id: null, role: null };
    }),
  );
}

/**
 * Creates the orgs' month rows when missing and locks them FOR UPDATE in org id order (the fixed
 * order every recording follows: org rows, then counter rows, then activity rows), answering the
 * month's usage as each row holds it. A new row starts at what the members used that month (under
 * an unlimited allocation, which org_usage does not track: migration 0037).
 */
export async function lockOrgMonths(tx: Queryable, orgIds: string[], month: string, only?: string): Promise<Map<string, number>> {
  const sorted = [...orgIds].sort();
  const orgs = sql.param(sorted);
  const existing = await queryRows<{ org_id: string }>(
    tx,
    sql`SELECT org_id FROM org_usage WHERE org_id = ANY(${orgs}::uuid[]) AND month = ${month}::date${inOrg(sql`org_id`, only)}`,
  );
  const missing = sorted.filter((id) => !existing.some((row) => row.org_id === id));
  if (missing.length > 0) {
    // Summed by itself (on Citus a statement of one org's shard), then inserted as values.
    const counted = await queryRows<{ org_id: string; used: string | number }>(
      tx,
      sql`SELECT org_id, coalesce(sum(month_used), 0) AS used FROM usage_counters
          WHERE org_id = ANY(${sql.param(missing)}::uuid[]) AND month = ${month}::date${inOrg(sql`org_id`, only)} GROUP BY org_id`,
    );
    const usedBy = new Map(counted.map((row) => [row.org_id, Number(row.used)]));
    await tx.execute(
      sql`INSERT INTO org_usage (org_id, month, used)
          SELECT o, ${month}::date, u
          FROM unnest(${sql.param(missing)}::uuid[], ${sql.param(missing.map((id) => usedBy.get(id) ?? 0))}::bigint[]) x(o, u)
          ORDER BY o
          ON CONFLICT (org_id, month) DO NOTHING`,
    );
  }
  const rows = await queryRows<{ org_id: string; used: string | number }>(
    tx,
    sql`SELECT org_id, used FROM org_usage WHERE org_id = ANY(${orgs}::uuid[]) AND month = ${month}::date${inOrg(sql`org_id`, only)}
        ORDER BY org_id FOR UPDATE`,
  );
  return new Map(rows.map((row) => [row.org_id, Number(row.used)]));
}

export interface MemberKey {
  orgId: string;
  userId: string;
}

export interface MemberSlice {
  orgId: string;
  userId: string;
  slice: number;
  day: string;
  dayUsed: number;
  month: string;
  monthUsed: number;
}

function memberArrays(members: MemberKey[]) {
  const sorted = [...members].sort((a, b) => (a.orgId + a.userId < b.orgId + b.userId ? -1 : 1));
  return {
    orgs: sql.param(sorted.map((member) => member.orgId)),
    users: sql.param(sorted.map((member) => member.userId)),
  };
}

type SliceRow = {
  org_id: string;
  user_id: string;
  slice: number;
  day: string;
  day_used: string | number;
  month: string;
  month_used: string | number;
};

function slicesQuery(members: MemberKey[], only?: string): SQL {
  const { orgs, users } = memberArrays(members);
  return lockSlicesOf(sql`unnest(${orgs}::uuid[], ${users}::uuid[]) m(org_id, user_id)`, inOrg(sql`c.org_id`, only));
}

/** Locks the counter rows of the members `m` (org_id, user_id) in (org, user, slice) order, reading them as locked. */
function lockSlicesOf(members: SQL, filter: SQL): SQL {
  return sql`SELECT c.org_id, c.user_id, c.slice, c.day::text AS day, c.day_used, c.month::text AS month, c.month_used
        FROM usage_counters c
        JOIN ${members} ON c.org_id = m.org_id AND c.user_id = m.user_id${filter}
        ORDER BY c.org_id, c.user_id, c.slice
        FOR UPDATE OF c`;
}

function toSlices(rows: SliceRow[]): MemberSlice[] {
  return rows
    .map((row) => ({
      orgId: row.org_id,
      userId: row.user_id,
      slice: Number(row.slice),
      day: row.day,
      dayUsed: Number(row.day_used),
      month: row.month,
      monthUsed: Number(row.month_used),
    }))
    .sort((a, b) =>
      a.orgId !== b.orgId
        ? a.orgId < b.orgId
          ? -1
          : 1
        : a.userId !== b.userId
          ? a.userId < b.userId
            ? -1
            : 1
          : a.slice - b.slice,
    );
}

/** Locks the members' counter rows in (org, user, slice) order; members without rows have none. */
export async function lockMemberSlices(tx: Queryable, members: MemberKey[], only?: string): Promise<MemberSlice[]> {
  return toSlices(await queryRows<SliceRow>(tx, slicesQuery(members, only)));
}

/** Creates `slices` counter rows for members that have none, in (org, user, slice) order. */
export async function createMemberSlices(
  tx: Queryable,
  input: { members: MemberKey[]; day: string; month: string; slices: number },
): Promise<void> {
  const { orgs, users } = memberArrays(input.members);
  await tx.execute(
    sql`INSERT INTO usage_counters (org_id, user_id, slice, day, day_used, day_quota, month, month_used, month_quota)
        SELECT m.org_id, m.user_id, g, ${input.day}::date, 0, 0, ${input.month}::date, 0, 0
        FROM unnest(${orgs}::uuid[], ${users}::uuid[]) m(org_id, user_id), generate_series(0, ${input.slices - 1}) g
        ORDER BY m.org_id, m.user_id, g
        ON CONFLICT (org_id, user_id, slice) DO NOTHING`,
  );
}

type LimitRow = { org_id: string; user_id: string; daily_limit: string | number | null; monthly_limit: string | number | null };

function limitsQuery(members: MemberKey[], only?: string): SQL {
  return sql`SELECT l.org_id, l.user_id, l.daily_limit, l.monthly_limit
        FROM usage_limits l
        JOIN unnest((SELECT ${sql.param(members.map((member) => member.orgId))}::uuid[]),
                    (SELECT ${sql.param(members.map((member) => member.userId))}::uuid[])) m(org_id, user_id)
          ON l.org_id = m.org_id AND l.user_id = m.user_id${inOrg(sql`l.org_id`, only)}`;
}

function toLimits(rows: LimitRow[]): Map<string, MemberLimits> {
  return new Map(
    rows.map((row) => [
      `${row.org_id}/${row.user_id}`,
      { daily: toNumberOrNull(row.daily_limit), monthly: toNumberOrNull(row.monthly_limit) },
    ]),
  );
}

/** The members' limits (read after their counter rows are locked: a limit change drains them). */
export async function limitsOfMembers(tx: Queryable, members: MemberKey[], only?: string): Promise<Map<string, MemberLimits>> {
  return toLimits(await queryRows<LimitRow>(tx, limitsQuery(members, only)));
}

type KeyRow = {
  org_id: string;
  user_id: string;
  key: string;
  activity: string;
  quantity: string | number;
  day_used: string | number | null;
  day_limit: string | number | null;
  month_used: string | number | null;
  month_limit: string | number | null;
};

function wantedKeys(requests: KeyedRequest[]): SQL {
  const column = <T>(pick: (request: KeyedRequest) => T) => sql.param(requests.map(pick));
  return sql`unnest((SELECT ${column((r) => r.orgId)}::uuid[]), (SELECT ${column((r) => r.userId)}::uuid[]),
                    (SELECT ${column((r) => r.key)}::text[])) w(org_id, user_id, key)`;
}

/**
 * Deletes the members' keys of past months once they are a day old: a key counts once per member
 * and UTC month, and a retry sent just after the month turned still finds its key (the rule of
 * roster_usage_batch, migration 0037).
 */
function staleKeysDelete(input: { requests: KeyedRequest[]; month: string; now: Date; only?: string | undefined }): SQL {
  return sql`DELETE FROM usage_keys k USING (SELECT DISTINCT org_id, user_id FROM ${wantedKeys(input.requests)}) w
        WHERE k.org_id = w.org_id AND k.user_id = w.user_id AND ${isStaleKey(input)}${inOrg(sql`k.org_id`, input.only)}`;
}

/** A key `k` of a past month that is a day old: it no longer makes a retry count once. */
function isStaleKey(input: { month: string; now: Date }): SQL {
  return sql`k.month < ${input.month}::date AND k.created_at <= ${input.now}::timestamptz - interval '1 day'`;
}

/** The members' stored keys: what staleKeysDelete left is this month's or less than a day old. */
function storedKeysQuery(input: { requests: KeyedRequest[]; only?: string | undefined }): SQL {
  return sql`SELECT k.org_id, k.user_id, k.key, k.activity, k.quantity, k.day_used, k.day_limit, k.month_used, k.month_limit
        FROM usage_keys k JOIN ${wantedKeys(input.requests)} ON k.org_id = w.org_id AND k.user_id = w.user_id AND k.key = w.key
        WHERE true${inOrg(sql`k.org_id`, input.only)}`;
}

function toStoredKeys(rows: KeyRow[]): Map<string, StoredKey> {
  return new Map(
    rows.map((row) => [
      usageKeyId(row.org_id, row.user_id, row.key),
      {
        activity: row.activity,
        quantity: Number(row.quantity),
        dayUsed: Number(row.day_used ?? 0),
        dayLimit: toNumberOrNull(row.day_limit),
        monthUsed: Number(row.month_used ?? 0),
        monthLimit: toNumberOrNull(row.month_limit),
      },
    ]),
  );
}

/**
 * The committed requests of these members' keys this month (or less than a day ago), with the
 * receipts they answered, keyed `org/user/key`. Read under the members' counter-row locks: every
 * writer of a member's keys holds them, so what is committed is all there is. Keys of past months
 * that are a day old are deleted first.
 */
export async function findUsageKeys(
  tx: Queryable,
  input: { requests: KeyedRequest[]; month: string; now: Date; only?: string | undefined },
): Promise<Map<string, StoredKey>> {
  await tx.execute(staleKeysDelete(input));
  return toStoredKeys(await queryRows<KeyRow>(tx, storedKeysQuery(input)));
}

/**
 * The receipt a member's key recorded (this month, or less than a day ago), read without the
 * member's counter-row locks: for the answer to a retry that the batch no longer decides (its member
 * was disabled since). Read only, as the batch deletes stale keys under those locks.
 */
export async function findRecordedKey(
  db: Queryable,
  input: { orgId: string; userId: string; key: string; month: string; now: Date },
): Promise<StoredKey | undefined> {
  const request = { orgId: input.orgId, userId: input.userId, key: input.key };
  const rows = await queryRows<KeyRow>(
    db,
    sql`${storedKeysQuery({ requests: [request], only: input.orgId })} AND NOT (${isStaleKey(input)})`,
  );
  return toStoredKeys(rows).get(usageKeyId(input.orgId, input.userId, input.key));
}

export interface CounterWrite {
  orgId: string;
  userId: string;
  slice: number;
  dayUsed: number;
  monthUsed: number;
}

export interface BatchWrites {
  day: string;
  month: string;
  now: Date;
  /** The counter rows, for the current day and month (the quota stays at `used`: no row holds a share). */
  counters: CounterWrite[];
  /** Per-activity totals (one row per member, activity and slice), added in key order. */
  activities: { orgId: string; userId: string; activity: string; slice: number; quantity: number }[];
  /** The keys of the recorded requests, with their receipts. */
  keys: (KeyedRequest & StoredKey)[];
  /** The locked month rows of orgs with a finite allocation, with their new totals. */
  orgMonths: { orgId: string; used: number }[];
}

/** The batch's write statements, each with a letter for the prepared statement's name. */
function batchWriteStatements(input: BatchWrites, only: string | undefined): { letter: string; statement: SQL }[] {
  const statements: { letter: string; statement: SQL }[] = [];
  if (input.counters.length > 0) {
    const rows = input.counters.map((row) => ({
      org_id: row.orgId,
      user_id: row.userId,
      slice: row.slice,
      day_used: row.dayUsed,
      month_used: row.monthUsed,
    }));
    statements.push({
      letter: 'c',
      statement: sql`UPDATE usage_counters c
        SET day = ${input.day}::date, day_used = v.day_used, day_quota = v.day_used,
            month = ${input.month}::date, month_used = v.month_used, month_quota = v.month_used
        FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
             AS v(org_id uuid, user_id uuid, slice smallint, day_used bigint, month_used bigint)
        WHERE c.org_id = v.org_id AND c.user_id = v.user_id AND c.slice = v.slice${inOrg(sql`c.org_id`, only)}`,
    });
  }
  if (input.activities.length > 0) {
    const rows = input.activities.map((row) => ({
      org_id: row.orgId,
      user_id: row.userId,
      activity: row.activity,
      slice: row.slice,
      quantity: row.quantity,
    }));
    statements.push({
      letter: 'a',
      statement: sql`INSERT INTO usage_activity AS t (org_id, user_id, day, activity, slice, quantity)
        SELECT v.org_id, v.user_id, ${input.day}::date, v.activity, v.slice, v.quantity
        FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
             AS v(org_id uuid, user_id uuid, activity text, slice smallint, quantity bigint)
        ORDER BY v.org_id, v.user_id, v.activity, v.slice
        ON CONFLICT (org_id, user_id, day, activity, slice) DO UPDATE SET quantity = t.quantity + excluded.quantity`,
    });
  }
  if (input.keys.length > 0) {
    const column = <T>(pick: (row: KeyedRequest & StoredKey) => T) => sql.param(input.keys.map(pick));
    statements.push({
      letter: 'k',
      statement: sql`INSERT INTO usage_keys (org_id, user_id, key, month, activity, quantity, day_used, day_limit, month_used, month_limit, created_at)
        SELECT k.org_id, k.user_id, k.key, ${input.month}::date, k.activity, k.quantity, k.day_used, k.day_limit,
               k.month_used, k.month_limit, ${input.now}
        FROM unnest(${column((r) => r.orgId)}::uuid[], ${column((r) => r.userId)}::uuid[], ${column((r) => r.key)}::text[],
                    ${column((r) => r.activity)}::text[], ${column((r) => r.quantity)}::bigint[], ${column((r) => r.dayUsed)}::bigint[],
                    ${column((r) => r.dayLimit)}::bigint[], ${column((r) => r.monthUsed)}::bigint[],
                    ${column((r) => r.monthLimit)}::bigint[])
             AS k(org_id, user_id, key, activity, quantity, day_used, day_limit, month_used, month_limit)
        ORDER BY k.org_id, k.user_id, k.key`,
    });
  }
  if (input.orgMonths.length > 0) {
    const rows = input.orgMonths.map((row) => ({ org_id: row.orgId, used: row.used }));
    statements.push({
      letter: 'o',
      statement: sql`UPDATE org_usage o SET used = v.used
        FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS v(org_id uuid, used bigint)
        WHERE o.org_id = v.org_id AND o.month = ${input.month}::date${inOrg(sql`o.org_id`, only)}`,
    });
  }
  return statements;
}

/** Citus: writes what the batch recorded for the org `only`, set-based, one statement each. */
export async function writeBatch(tx: Queryable, input: BatchWrites, only: string): Promise<void> {
  for (const { statement } of batchWriteStatements(input, only)) await tx.execute(statement);
}

/** One request of a batch for roster_usage_batch: its credential, and what it records. */
export interface BatchCallRequest extends BatchRequestRow {
  activity: string;
  quantity: number;
  key?: string | undefined;
}

/** A row of roster_usage_batch: one per request (idx from 1), or (idx 0, status `org`) per org to notify. */
export interface BatchCallRow {
  r_idx: number;
  r_status: string;
  r_user: string | null;
  r_org: string | null;
  r_day_used: string | number | null;
  r_month_used: string | number | null;
  r_daily: string | number | null;
  r_monthly: string | number | null;
  r_over_day: boolean | null;
  r_over_month: boolean | null;
  k_activity: string | null;
  k_quantity: string | number | null;
  k_day_used: string | number | null;
  k_day_limit: string | number | null;
  k_month_used: string | number | null;
  k_month_limit: string | number | null;
  a_monthly: string | number | null;
  a_used: string | number | null;
}

/** SQLSTATE of roster_usage_batch when, called without notices, the batch makes an allocation notice due. */
export const NOTICE_DUE = 'RU001';

/** What roster_usage_batch is called with (callUsageBatch, callUsageBatchAlone). */
export interface BatchCallInput {
  requests: BatchCallRequest[];
  now: Date;
  day: string;
  month: string;
  roles: readonly string[];
  /** The service token scopes that may record usage (a `service` request's token must hold one). */
  scopes: readonly string[];
  slices: number;
  creditsPerSeat: number;
  lowShare: number;
  /** Answer the orgs to notify (rows `org`) rather than fail with NOTICE_DUE. */
  notices: boolean;
}

/** roster_usage_batch's parameter types, in order (src/db/migrations/0033_usage_batch_shared_allocation_lock.sql). */
const BATCH_CALL_TYPES =
  'text[] text[] text[] text[] bigint[] text[] timestamptz date date text[] integer bigint float8 boolean text[] timestamptz'.split(
    ' ',
  );

/** The call's parameters, in BATCH_CALL_TYPES order ('' stands for none in the text arrays). */
function batchCallValues(input: BatchCallInput): unknown[] {
  const column = <T>(pick: (request: BatchCallRequest) => T) => input.requests.map(pick);
  return [
    column((r) => r.kind),
    column((r) => r.hash?.toString('hex') ?? ''),
    column((r) => r.userId ?? ''),
    column((r) => r.activity),
    column((r) => r.quantity),
    column((r) => r.key ?? ''),
    input.now,
    input.day,
    input.month,
    [...input.roles],
    input.slices,
    input.creditsPerSeat,
    input.lowShare,
    input.notices,
    [...input.scopes],
    serviceTokenUseSince(input.now),
  ];
}

const BATCH_CALL_TEXT = `SELECT * FROM roster_usage_batch(${BATCH_CALL_TYPES.map((type, index) => `$${index + 1}::${type}`).join(', ')})`;

/**
 * PostgreSQL, PGlite: the whole batch in one statement, the function roster_usage_batch
 * (src/db/migrations/0029_usage_batch_function.sql: authenticate, lock, read, decide, write), in
 * the caller's transaction `tx`. Without `notices`, a batch that makes an allocation notice due
 * fails with NOTICE_DUE (the caller runs it again with `notices`, then sends them).
 */
export async function callUsageBatch(tx: Queryable, input: BatchCallInput): Promise<BatchCallRow[]> {
  const values = batchCallValues(input);
  return queryRowsPrepared<BatchCallRow>(
    tx,
    'roster_usage_batch',
    sql`SELECT * FROM roster_usage_batch(${sql.join(
      values.map((value, index) => sql`${sql.param(value)}::${sql.raw(BATCH_CALL_TYPES[index]!)}`),
      sql`, `,
    )})`,
  );
}

/**
 * PostgreSQL: callUsageBatch without notices as a transaction of its own: the call alone, committed
 * when it ends (one statement; no BEGIN, no COMMIT, no transaction handle in node). A batch that
 * makes a notice due fails with NOTICE_DUE and leaves nothing. PGlite: undefined (callUsageBatch in
 * a transaction).
 */
export function callUsageBatchAlone(db: Queryable, input: Omit<BatchCallInput, 'notices'>): Promise<BatchCallRow[]> | undefined {
  return autocommitQuery<BatchCallRow>(
    db,
    'roster_usage_batch_alone',
    BATCH_CALL_TEXT,
    batchCallValues({ ...input, notices: false }),
  );
}

/**
 * activityTotals for one page of members (GET /org/usage pages the org): the page's user ids
 * only, so the work follows the page, not the org's size.
 */
export async function activityTotalsOfMembers(
  db: Queryable,
  input: { orgId: string; userIds: string[]; from: string; until: string; day: string },
): Promise<{ userId: string; activity: string; day: number; period: number }[]> {
  if (input.userIds.length === 0) return [];
  const rows = await queryRows<{ user_id: string; activity: string; day_quantity: string | number; quantity: string | number }>(
    db,
    sql`SELECT user_id, activity,
               coalesce(sum(quantity) FILTER (WHERE day = ${input.day}::date), 0) AS day_quantity,
               sum(quantity) AS quantity
        FROM usage_activity
        WHERE org_id = ${input.orgId} AND user_id = ANY(${sql.param(input.userIds)}::uuid[])
          AND day >= ${input.from}::date AND day < ${input.until}::date
        GROUP BY user_id, activity
        ORDER BY user_id, activity`,
  );
  return rows.map((row) => ({
    userId: row.user_id,
    activity: row.activity,
    day: Number(row.day_quantity),
    period: Number(row.quantity),
  }));
}
