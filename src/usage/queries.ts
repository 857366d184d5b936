import { sql, type SQL } from 'drizzle-orm';
import { prepareStatement, queryRows, type Db, type Queryable } from '../db/client.ts';
import type { Plan, Role } from '../db/schema.ts';
import { activeSubscriptionColumns } from '../billing/queries.ts';
import { actorQuery, type CredentialKind } from '../auth/credential-query.ts';

export type { CredentialKind };

/**
 * Counter rows per member (`USAGE_COUNTER_SLICES`, default 16). A connection always adds to
 * slice `pg_backend_pid() % slices`, so up to that many connections recording for one member
 * never wait on each other's row lock, held until commit (one row serialized them: 5.2k vs 21k
 * conditional updates/s measured with pgbench, 10 clients). Changing the number is safe at any
 * time: the slow path locks and rebalances whatever rows exist.
 */
function ownSlice(slices: number): SQL {
  return sql.raw(`(pg_backend_pid() % ${slices})::smallint`);
}

type RawRecordRow = {
  user_id: string;
  org_id: string | null;
  role: Role | null;
  recorded: boolean;
  day_used: string | number;
  month_used: string | number;
  daily_limit: string | number | null;
  monthly_limit: string | number | null;
};

export interface RecordResult {
  userId: string;
  /** Null when the user belongs to no org. */
  orgId: string | null;
  role: Role | null;
  /** True when the fast path recorded the usage. */
  recorded: boolean;
  /** After recording: the member's totals; otherwise the totals as of the statement's snapshot. */
  dayUsed: number;
  monthUsed: number;
  limits: MemberLimits;
}

const placeholder = {
  day: sql`${sql.placeholder('day')}::date`,
  month: sql`${sql.placeholder('month')}::date`,
  activity: sql`${sql.placeholder('activity')}::text`,
  quantity: sql`${sql.placeholder('quantity')}::bigint`,
};

/**
 * The hot path in ONE statement: authenticate the credential (disabled users never match),
 * find the membership, add the quantity to the member's own counter slice only when the slice's
 * share of the day and month limits still covers it (an atomic conditional UPDATE: no
 * read-then-write, so no overshoot), add it to the per-activity row of the same slice, and
 * return the member's totals and limits. When the slice cannot take it, nothing is written and
 * the caller decides between 429 (the snapshot totals already prove the limit) and the slow
 * path that rebalances the slices under lock.
 */
function recordStatement(kind: CredentialKind, slices: number): SQL {
  const { day, month, activity, quantity } = placeholder;
  return sql`
    WITH actor AS (
      SELECT credential.user_id, credential.org_id, credential.role, ${ownSlice(slices)} AS slice
      FROM (${actorQuery(kind, { withOrg: false })}) credential
    ),
    counted AS (
      UPDATE usage_counters c
      SET day_used = c.day_used + ${quantity}, month_used = c.month_used + ${quantity}
      FROM actor a
      WHERE c.org_id = a.org_id AND c.user_id = a.user_id AND c.slice = a.slice
        AND c.day = ${day} AND c.month = ${month}
        AND (c.day_quota IS NULL OR c.day_used + ${quantity} <= c.day_quota)
        AND (c.month_quota IS NULL OR c.month_used + ${quantity} <= c.month_quota)
      RETURNING c.day_used, c.month_used
    ),
    recorded AS (
      INSERT INTO usage_activity AS t (org_id, user_id, day, activity, slice, quantity)
      SELECT a.org_id, a.user_id, ${day}, ${activity}, a.slice, ${quantity} FROM actor a, counted
      ON CONFLICT (org_id, user_id, day, activity, slice) DO UPDATE SET quantity = t.quantity + excluded.quantity
    )
    SELECT a.user_id, a.org_id, a.role,
           counted.day_used IS NOT NULL AS recorded,
           coalesce(counted.day_used + totals.other_day, totals.all_day) AS day_used,
           coalesce(counted.month_used + totals.other_month, totals.all_month) AS month_used,
           l.daily_limit, l.monthly_limit
    FROM actor a
    LEFT JOIN counted ON true
    LEFT JOIN usage_limits l ON l.org_id = a.org_id AND l.user_id = a.user_id
    LEFT JOIN LATERAL (
      SELECT coalesce(sum(o.day_used) FILTER (WHERE o.day = ${day}), 0) AS all_day,
             coalesce(sum(o.month_used) FILTER (WHERE o.month = ${month}), 0) AS all_month,
             coalesce(sum(o.day_used) FILTER (WHERE o.day = ${day} AND o.slice <> a.slice), 0) AS other_day,
             coalesce(sum(o.month_used) FILTER (WHERE o.month = ${month} AND o.slice <> a.slice), 0) AS other_month
      FROM usage_counters o
      WHERE o.org_id = a.org_id AND o.user_id = a.user_id
    ) totals ON true`;
}

export interface RecordInput {
  hash?: Buffer;
  userId?: string;
  now: Date;
  day: string;
  month: string;
  activity: string;
  quantity: number;
}

type RecordStatement = (values: Record<string, unknown>) => Promise<RawRecordRow[]>;
const statements = new WeakMap<Db, Map<string, RecordStatement>>();

/** Runs the prepared hot statement for one credential kind (prepared once per database handle). */
export async function runRecordStatement(
  db: Db,
  kind: CredentialKind,
  slices: number,
  input: RecordInput,
): Promise<RecordResult | undefined> {
  const prepared = statements.get(db) ?? new Map<string, RecordStatement>();
  statements.set(db, prepared);
  const key = `${kind}_${slices}`;
  let statement = prepared.get(key);
  if (!statement) {
    statement = prepareStatement<RawRecordRow>(db, `roster_usage_record_${key}`, recordStatement(kind, slices));
    prepared.set(key, statement);
  }
  const rows = await statement({
    hash: input.hash ?? Buffer.alloc(0),
    now: input.now,
    userId: input.userId ?? '00000000-0000-0000-0000-000000000000',
    day: input.day,
    month: input.month,
    activity: input.activity,
    quantity: input.quantity,
  });
  const row = rows[0];
  if (!row) return undefined;
  return {
    userId: row.user_id,
    orgId: row.org_id,
    role: row.role,
    recorded: row.recorded,
    dayUsed: Number(row.day_used),
    monthUsed: Number(row.month_used),
    limits: { daily: toNumberOrNull(row.daily_limit), monthly: toNumberOrNull(row.monthly_limit) },
  };
}

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
export function limitsOfMember(membership: { orgId: SQL; userId: SQL }): SQL {
  return sql`(SELECT daily_limit, monthly_limit FROM usage_limits WHERE org_id = ${membership.orgId} AND user_id = ${membership.userId})`;
}

// ---- the slow path's statements (src/usage/rebalance.ts decides) ----------------------------

/** Creates the member's missing counter slices, with no share of the limit yet. */
export async function ensureSlices(
  tx: Queryable,
  input: { orgId: string; userId: string; day: string; month: string; slices: number },
): Promise<void> {
  await tx.execute(
    sql`INSERT INTO usage_counters (org_id, user_id, slice, day, day_used, day_quota, month, month_used, month_quota)
        SELECT ${input.orgId}, ${input.userId}, g, ${input.day}::date, 0, 0, ${input.month}::date, 0, 0
        FROM generate_series(0, ${input.slices - 1}) g
        ON CONFLICT (org_id, user_id, slice) DO NOTHING`,
  );
}

export interface CounterSlice {
  slice: number;
  day: string;
  dayUsed: number;
  month: string;
  monthUsed: number;
  /** The slice this connection adds to on the fast path. */
  isOwn: boolean;
}

/** Locks all of the member's slices, in slice order so two slow paths never deadlock. */
export async function lockSlices(tx: Queryable, orgId: string, userId: string, sliceCount: number): Promise<CounterSlice[]> {
  const rows = await queryRows<{
    slice: number;
    day: string;
    day_used: string | number;
    month: string;
    month_used: string | number;
    own_slice: number;
  }>(
    tx,
    sql`SELECT slice, day::text AS day, day_used, month::text AS month, month_used,
               (pg_backend_pid() % ${sliceCount})::int AS own_slice
        FROM usage_counters WHERE org_id = ${orgId} AND user_id = ${userId}
        ORDER BY slice
        FOR UPDATE`,
  );
  return rows.map((row) => ({
    slice: Number(row.slice),
    day: row.day,
    dayUsed: Number(row.day_used),
    month: row.month,
    monthUsed: Number(row.month_used),
    isOwn: Number(row.slice) === Number(row.own_slice),
  }));
}

export interface SliceUpdate {
  slice: number;
  dayUsed: number;
  dayQuota: number | null;
  monthUsed: number;
  monthQuota: number | null;
}

/** Writes every slice's totals and shares for the current day and month in one statement. */
export async function writeSlices(
  tx: Queryable,
  input: { orgId: string; userId: string; day: string; month: string; slices: SliceUpdate[] },
): Promise<void> {
  const updates = input.slices.map((row) => ({
    slice: row.slice,
    day_used: row.dayUsed,
    day_quota: row.dayQuota,
    month_used: row.monthUsed,
    month_quota: row.monthQuota,
  }));
  await tx.execute(
    sql`UPDATE usage_counters c
        SET day = ${input.day}::date, day_used = v.day_used, day_quota = v.day_quota,
            month = ${input.month}::date, month_used = v.month_used, month_quota = v.month_quota
        FROM jsonb_to_recordset(${JSON.stringify(updates)}::jsonb)
             AS v(slice smallint, day_used bigint, day_quota bigint, month_used bigint, month_quota bigint)
        WHERE c.org_id = ${input.orgId} AND c.user_id = ${input.userId} AND c.slice = v.slice`,
  );
}

/** Adds to the per-activity total of one slice (the slice whose counter took the quantity). */
export async function addActivity(
  tx: Queryable,
  input: { orgId: string; userId: string; day: string; activity: string; slice: number; quantity: number },
): Promise<void> {
  await tx.execute(
    sql`INSERT INTO usage_activity AS t (org_id, user_id, day, activity, slice, quantity)
        VALUES (${input.orgId}, ${input.userId}, ${input.day}::date, ${input.activity}, ${input.slice}, ${input.quantity})
        ON CONFLICT (org_id, user_id, day, activity, slice) DO UPDATE SET quantity = t.quantity + excluded.quantity`,
  );
}

/**
 * Takes every share back (quota = used), so the next request of the member goes through the
 * slow path and splits the new limit. Called in the transaction that changes the limit.
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
 * Creates the org's row for the month when missing and locks it until commit: `update` for a
 * recording that draws from a finite allocation and for an allocation change, `key share` for a
 * slow-path recording of an unlimited org (they do not wait on each other; an allocation change
 * waits for them and they for it). Returns the month's usage as the row holds it.
 */
export async function lockOrgUsage(
  tx: Queryable,
  input: { orgId: string; month: string; mode: 'update' | 'key share' },
): Promise<number> {
  await tx.execute(
    sql`INSERT INTO org_usage (org_id, month, used) VALUES (${input.orgId}, ${input.month}::date, 0)
        ON CONFLICT (org_id, month) DO NOTHING`,
  );
  const rows = await queryRows<{ used: string | number }>(
    tx,
    sql`SELECT used FROM org_usage WHERE org_id = ${input.orgId} AND month = ${input.month}::date
        ${input.mode === 'update' ? sql`FOR UPDATE` : sql`FOR KEY SHARE`}`,
  );
  return Number(rows[0]?.used ?? 0);
}

/** Adds to the org's month (the row is locked by `lockOrgUsage`). */
export async function addOrgUsage(tx: Queryable, input: { orgId: string; month: string; quantity: number }): Promise<void> {
  await tx.execute(
    sql`UPDATE org_usage SET used = used + ${input.quantity} WHERE org_id = ${input.orgId} AND month = ${input.month}::date`,
  );
}

/**
 * Called (in its transaction, after `lockOrgUsage` with `update`) when the org's allocation may
 * change between unlimited and finite: takes every member's counter shares back (quota = used),
 * so no request of the org uses the one-statement fast path again until the slow path decides,
 * and sets the month's usage from the counters, which hold everything recorded this month.
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
