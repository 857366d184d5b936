import type { Tx } from '../db/client.ts';
import { addActivity, ensureSlices, findLimits, lockSlices, writeSlices, type MemberLimits } from './queries.ts';

export interface SlowPathInput {
  orgId: string;
  userId: string;
  day: string;
  month: string;
  activity: string;
  quantity: number;
  /** USAGE_COUNTER_SLICES: the slices to create when missing. */
  slices: number;
  /**
   * What is left of the org's finite allocation, read under the org_usage row lock the caller
   * holds (src/usage/allocation.ts); null when the allocation is unlimited.
   */
  orgRemaining: number | null;
}

export interface Exceeds {
  day: boolean;
  month: boolean;
  /** The org's allocation would be exceeded. */
  org: boolean;
}

export type SlowPathResult =
  | { recorded: true; dayUsed: number; monthUsed: number; limits: MemberLimits }
  | { recorded: false; dayUsed: number; monthUsed: number; limits: MemberLimits; exceeds: Exceeds };

/**
 * The per-request locking path, taken by keyed requests (src/usage/service.ts; the others go
 * through group commit, src/usage/batch.ts, which takes the same locks in the same order). Locks
 * all of the member's slices (in slice order, so two paths never deadlock), decides on the exact
 * total, records, and writes each slice's used total and share.
 */
export async function recordUnderLock(tx: Tx, input: SlowPathInput): Promise<SlowPathResult> {
  const member = { orgId: input.orgId, userId: input.userId };
  await ensureSlices(tx, { ...member, day: input.day, month: input.month, slices: input.slices });
  const slices = await lockSlices(tx, input.orgId, input.userId, input.slices);
  // Read after the slices are locked: a limit change drains the slices in its own transaction.
  const limits = await findLimits(tx, input.orgId, input.userId);
  const dayUsed = slices.map((row) => (row.day === input.day ? row.dayUsed : 0));
  const monthUsed = slices.map((row) => (row.month === input.month ? row.monthUsed : 0));
  const dayTotal = sum(dayUsed) + input.quantity;
  const monthTotal = sum(monthUsed) + input.quantity;
  const exceeds: Exceeds = {
    day: limits.daily !== null && dayTotal > limits.daily,
    month: limits.monthly !== null && monthTotal > limits.monthly,
    org: input.orgRemaining !== null && input.quantity > input.orgRemaining,
  };
  if (exceeds.day || exceeds.month || exceeds.org) {
    return { recorded: false, dayUsed: dayTotal - input.quantity, monthUsed: monthTotal - input.quantity, limits, exceeds };
  }
  const own = slices.findIndex((row) => row.isOwn);
  const target = own >= 0 ? own : 0;
  dayUsed[target] = (dayUsed[target] ?? 0) + input.quantity;
  monthUsed[target] = (monthUsed[target] ?? 0) + input.quantity;
  // A finite org allocation keeps the fast path closed (no share: quota = used), so every request
  // of the org comes back here and draws from org_usage under its lock.
  const finite = input.orgRemaining !== null;
  const dayQuota = shares(dayUsed, finite ? 0 : limits.daily === null ? null : limits.daily - dayTotal);
  const monthQuota = shares(monthUsed, finite ? 0 : limits.monthly === null ? null : limits.monthly - monthTotal);
  await writeSlices(tx, {
    ...member,
    day: input.day,
    month: input.month,
    slices: slices.map((row, index) => ({
      slice: row.slice,
      dayUsed: dayUsed[index] ?? 0,
      dayQuota: dayQuota[index] ?? null,
      monthUsed: monthUsed[index] ?? 0,
      monthQuota: monthQuota[index] ?? null,
    })),
  });
  await addActivity(tx, {
    ...member,
    day: input.day,
    activity: input.activity,
    slice: slices[target]?.slice ?? 0,
    quantity: input.quantity,
  });
  return { recorded: true, dayUsed: dayTotal, monthUsed: monthTotal, limits };
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
