import { sql } from 'drizzle-orm';
import { queryRows, type Queryable, type Tx } from '../db/client.ts';
import { findLimits, type MemberLimits } from './queries.ts';

export interface SlowPathInput {
  orgId: string;
  userId: string;
  day: string;
  month: string;
  activity: string;
  quantity: number;
  /** USAGE_COUNTER_SLICES: the slices to create when missing. */
  slices: number;
}

export type SlowPathResult =
  | { recorded: true; dayUsed: number; monthUsed: number; limits: MemberLimits }
  | { recorded: false; dayUsed: number; monthUsed: number; limits: MemberLimits; exceeds: { day: boolean; month: boolean } };

type SliceRow = {
  slice: number;
  day: string;
  day_used: string | number;
  month: string;
  month_used: string | number;
  own_slice: number;
};

/**
 * The slow path, taken when the member's own slice cannot take the quantity: its share of the
 * limit is used up, the day or month rolled over, the slices do not exist yet, or a limit
 * changed (setting a limit drains every share). Locks all of the member's slices (in slice
 * order, so two slow paths never deadlock), decides on the exact total, records, and gives each
 * slice an even share of what is left so the fast path can take the next requests.
 */
export async function recordUnderLock(tx: Tx, input: SlowPathInput): Promise<SlowPathResult> {
  await tx.execute(
    sql`INSERT INTO usage_counters (org_id, user_id, slice, day, day_used, day_quota, month, month_used, month_quota)
        SELECT ${input.orgId}, ${input.userId}, g, ${input.day}::date, 0, 0, ${input.month}::date, 0, 0
        FROM generate_series(0, ${input.slices - 1}) g
        ON CONFLICT (org_id, user_id, slice) DO NOTHING`,
  );
  const slices = await lockSlices(tx, input.orgId, input.userId, input.slices);
  // Read after the slices are locked: a limit change drains the slices in its own transaction.
  const limits = await findLimits(tx, input.orgId, input.userId);
  const dayUsed = slices.map((row) => (row.day === input.day ? Number(row.day_used) : 0));
  const monthUsed = slices.map((row) => (row.month === input.month ? Number(row.month_used) : 0));
  const dayTotal = sum(dayUsed) + input.quantity;
  const monthTotal = sum(monthUsed) + input.quantity;
  const exceeds = {
    day: limits.daily !== null && dayTotal > limits.daily,
    month: limits.monthly !== null && monthTotal > limits.monthly,
  };
  if (exceeds.day || exceeds.month) {
    return { recorded: false, dayUsed: dayTotal - input.quantity, monthUsed: monthTotal - input.quantity, limits, exceeds };
  }
  const own = slices.findIndex((row) => row.slice === row.own_slice);
  const target = own >= 0 ? own : 0;
  dayUsed[target] = (dayUsed[target] ?? 0) + input.quantity;
  monthUsed[target] = (monthUsed[target] ?? 0) + input.quantity;
  const dayQuota = shares(dayUsed, limits.daily === null ? null : limits.daily - dayTotal);
  const monthQuota = shares(monthUsed, limits.monthly === null ? null : limits.monthly - monthTotal);
  const updates = slices.map((row, index) => ({
    slice: row.slice,
    day_used: dayUsed[index],
    day_quota: dayQuota[index],
    month_used: monthUsed[index],
    month_quota: monthQuota[index],
  }));
  await tx.execute(
    sql`UPDATE usage_counters c
        SET day = ${input.day}::date, day_used = v.day_used, day_quota = v.day_quota,
            month = ${input.month}::date, month_used = v.month_used, month_quota = v.month_quota
        FROM jsonb_to_recordset(${JSON.stringify(updates)}::jsonb)
             AS v(slice smallint, day_used bigint, day_quota bigint, month_used bigint, month_quota bigint)
        WHERE c.org_id = ${input.orgId} AND c.user_id = ${input.userId} AND c.slice = v.slice`,
  );
  await tx.execute(
    sql`INSERT INTO usage_activity AS t (org_id, user_id, day, activity, slice, quantity)
        VALUES (${input.orgId}, ${input.userId}, ${input.day}::date, ${input.activity}, ${slices[target]?.slice ?? 0}, ${input.quantity})
        ON CONFLICT (org_id, user_id, day, activity, slice) DO UPDATE SET quantity = t.quantity + excluded.quantity`,
  );
  return { recorded: true, dayUsed: dayTotal, monthUsed: monthTotal, limits };
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

async function lockSlices(tx: Tx, orgId: string, userId: string, sliceCount: number): Promise<SliceRow[]> {
  const rows = await queryRows<SliceRow>(
    tx,
    sql`SELECT slice, day::text AS day, day_used, month::text AS month, month_used,
               (pg_backend_pid() % ${sliceCount})::int AS own_slice
        FROM usage_counters WHERE org_id = ${orgId} AND user_id = ${userId}
        ORDER BY slice
        FOR UPDATE`,
  );
  return rows.map((row) => ({ ...row, slice: Number(row.slice), own_slice: Number(row.own_slice) }));
}

/** Each slice keeps what it used plus an even share of `left` (null: no limit). */
function shares(used: number[], left: number | null): (number | null)[] {
  if (left === null) return used.map(() => null);
  const base = Math.floor(left / used.length);
  const extra = left % used.length;
  return used.map((value, index) => value + base + (index < extra ? 1 : 0));
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
