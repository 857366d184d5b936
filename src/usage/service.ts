import { assertRoleCan, authorize } from '../auth/permissions.ts';
import type { Ctx } from '../core/context.ts';
import { requireActor, requireCaller } from '../core/context.ts';
import { AppError } from '../core/errors.ts';
import { hashToken, tokenKindOf } from '../core/tokens.ts';
import { memberPage, type MemberRow } from '../orgs/queries.ts';
import { decodeCursor, encodeCursor } from '../members/service.ts';
import { periodsAt, secondsUntil, type UsagePeriods } from './periods.ts';
import { activityTotalsOfMembers } from './queries.ts';
import { activityTotals, findLimits, runRecordStatement, type CredentialKind, type MemberLimits } from './queries.ts';
import { allocationExhausted, recordWithAllocation } from './allocation.ts';
import { allocationView, type AllocationView } from '../billing/allocation.ts';

export const ACTIVITY_PATTERN = /^[a-z0-9_.-]{1,64}$/;
export const MAX_QUANTITY = 1_000_000_000;

export interface UsageReceipt {
  day: { used: number; limit: number | null };
  month: { used: number; limit: number | null };
}

/**
 * Records `quantity` of `activity` for the member, refusing the whole request when it would take
 * the member over the daily or monthly limit. With `credential` (the route's bearer or cookie
 * token), authentication is folded into the same statement as the counter update; without it,
 * `ctx.actor` is the member.
 */
export async function recordUsage(
  ctx: Ctx,
  input: { activity: string; quantity: number; credential?: string | null },
): Promise<UsageReceipt> {
  assertUsageInput(input);
  const now = ctx.clock.now();
  const periods = periodsAt(now);
  const { kind, hash, userId } = credentialOf(ctx, input.credential);
  const row = await runRecordStatement(ctx.db, kind, ctx.config.usageCounterSlices, {
    hash,
    userId,
    now,
    day: periods.day,
    month: periods.month,
    activity: input.activity,
    quantity: input.quantity,
  });
  if (!row) throw new AppError('unauthenticated', 'Sign in to continue.');
  if (!row.orgId) throw new AppError('forbidden', 'You are not a member of an organization.');
  assertRoleCan(row.role, 'usage.record');
  const limits = row.limits;
  if (row.recorded) return receipt(row.dayUsed, row.monthUsed, limits);
  // Usage only grows within a period, so totals that already leave no room refuse without a lock.
  const snapshot = exceeds(row.dayUsed + input.quantity, row.monthUsed + input.quantity, limits);
  if (snapshot.day || snapshot.month) throw limitExceeded(snapshot, limits, now, periods);
  // The slow path: the member's slices are rebalanced under lock, and an org with a finite
  // allocation draws from it in the same transaction (src/usage/allocation.ts).
  const result = await recordWithAllocation(ctx, {
    orgId: row.orgId,
    userId: row.userId,
    day: periods.day,
    month: periods.month,
    activity: input.activity,
    quantity: input.quantity,
    slices: ctx.config.usageCounterSlices,
  });
  if (!result.recorded) {
    if (result.exceeds.day || result.exceeds.month) throw limitExceeded(result.exceeds, result.limits, now, periods);
    throw allocationExhausted(result.allocation, now, periods);
  }
  return receipt(result.dayUsed, result.monthUsed, result.limits);
}

function assertUsageInput(input: { activity: string; quantity: number }): void {
  if (!ACTIVITY_PATTERN.test(input.activity)) {
    throw new AppError('invalid_activity', 'Name the activity with 1 to 64 characters of a-z, 0-9, "_", "." and "-".');
  }
  if (!Number.isInteger(input.quantity) || input.quantity < 1 || input.quantity > MAX_QUANTITY) {
    throw new AppError('invalid_quantity', `Send a whole quantity between 1 and ${MAX_QUANTITY}.`);
  }
}

function credentialOf(ctx: Ctx, credential: string | null | undefined): { kind: CredentialKind; hash?: Buffer; userId?: string } {
  if (credential === undefined) return { kind: 'user', userId: requireActor(ctx).userId };
  const kind = credential ? tokenKindOf(credential) : undefined;
  // A service token was resolved by the request hook (none when revoked: 401); the policy refuses it.
  if (kind === 'service') authorize(requireCaller(ctx), 'usage.record');
  if (!credential || (kind !== 'session' && kind !== 'api')) throw new AppError('unauthenticated', 'Sign in to continue.');
  return { kind, hash: hashToken(credential) };
}

function exceeds(dayTotal: number, monthTotal: number, limits: MemberLimits): { day: boolean; month: boolean } {
  return {
    day: limits.daily !== null && dayTotal > limits.daily,
    month: limits.monthly !== null && monthTotal > limits.monthly,
  };
}

function limitExceeded(over: { day: boolean; month: boolean }, limits: MemberLimits, now: Date, periods: UsagePeriods): AppError {
  // Over the monthly limit, the next day does not help: wait for the month.
  const period = over.month ? 'month' : 'day';
  const limit = over.month ? limits.monthly : limits.daily;
  const resetsAt = over.month ? periods.monthEnd : periods.dayEnd;
  return new AppError(
    'usage_limit_exceeded',
    `This would take you over your ${period === 'month' ? 'monthly' : 'daily'} usage limit of ${limit}. ` +
      'Contact your organization administrator to raise it, or try again after the limit resets.',
    { period, limit, resets_at: resetsAt.toISOString(), retry_after_seconds: secondsUntil(resetsAt, now) },
  );
}

function receipt(dayUsed: number, monthUsed: number, limits: MemberLimits): UsageReceipt {
  return { day: { used: dayUsed, limit: limits.daily }, month: { used: monthUsed, limit: limits.monthly } };
}

export interface OwnUsage {
  day: { used: number; limit: number | null; byActivity: Record<string, number> };
  month: { used: number; limit: number | null; byActivity: Record<string, number> };
}

/** `GET /api/v1/usage`: the member's own totals today and this month, by activity. */
export async function readOwnUsage(ctx: Ctx): Promise<OwnUsage> {
  const actor = authorize(requireCaller(ctx), 'usage.record');
  const periods = periodsAt(ctx.clock.now());
  const orgId = actor.membership.orgId;
  const totals = await activityTotals(ctx.db, {
    orgId,
    userId: actor.userId,
    from: periods.month,
    until: periods.monthEnd.toISOString().slice(0, 10),
    day: periods.day,
  });
  const limits = await findLimits(ctx.db, orgId, actor.userId);
  const day: Record<string, number> = {};
  const month: Record<string, number> = {};
  for (const total of totals) {
    if (total.day > 0) day[total.activity] = total.day;
    month[total.activity] = total.period;
  }
  return {
    day: { used: sumOf(day), limit: limits.daily, byActivity: day },
    month: { used: sumOf(month), limit: limits.monthly, byActivity: month },
  };
}

export interface OrgUsage {
  period: 'day' | 'month';
  start: Date;
  end: Date;
  members: { member: MemberRow; total: number; byActivity: Record<string, number> }[];
  /** Continues with `cursor=`; null when this page holds the last member. */
  nextCursor: string | null;
  /** The org's usage allocation (credits) this UTC month, whatever the period asked. */
  allocation: AllocationView;
}

/**
 * `GET /api/v1/org/usage`: one keyset page of members (the cursor of GET /org/members) with their
 * totals by activity in the current day or month. A 100,000-member org is never read whole.
 */
export async function readOrgUsage(
  ctx: Ctx,
  input: { period: 'day' | 'month'; limit: number; cursor: string | null },
): Promise<OrgUsage> {
  const actor = authorize(requireCaller(ctx), 'usage.read_org');
  const periods = periodsAt(ctx.clock.now());
  const orgId = actor.membership.orgId;
  const start = input.period === 'day' ? periods.dayStart : periods.monthStart;
  const end = input.period === 'day' ? periods.dayEnd : periods.monthEnd;
  const after = input.cursor ? decodeCursor(input.cursor) : null;
  const [allocation, rows] = await Promise.all([
    allocationView(ctx, orgId),
    memberPage(ctx.db, { orgId, limit: input.limit + 1, after, prefix: null, role: null, status: null }),
  ]);
  const members = rows.slice(0, input.limit);
  const last = members[members.length - 1];
  const totals = await activityTotalsOfMembers(ctx.db, {
    orgId,
    userIds: members.map((member) => member.userId),
    from: start.toISOString().slice(0, 10),
    until: end.toISOString().slice(0, 10),
    day: periods.day,
  });
  const byMember = new Map<string, Record<string, number>>();
  for (const total of totals) {
    const activities = byMember.get(total.userId) ?? {};
    activities[total.activity] = total.period;
    byMember.set(total.userId, activities);
  }
  return {
    period: input.period,
    start,
    end,
    allocation,
    nextCursor: rows.length > input.limit && last ? encodeCursor(last) : null,
    members: members.map((member) => {
      const byActivity = byMember.get(member.userId) ?? {};
      return { member, total: sumOf(byActivity), byActivity };
    }),
  };
}

function sumOf(values: Record<string, number>): number {
  return Object.values(values).reduce((total, value) => total + value, 0);
}
