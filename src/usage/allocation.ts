import { recordAudit } from '../audit/record.ts';
import type { Ctx } from '../core/context.ts';
import { AppError } from '../core/errors.ts';
import type { Tx } from '../db/client.ts';
import { enqueueMail } from '../mail/outbox.ts';
import { allocationEmail } from '../mail/templates.ts';
import { activeOwnersAndAdmins, findOrg } from '../orgs/queries.ts';
import { periodsAt, secondsUntil, type UsagePeriods } from './periods.ts';
import { LOW_BALANCE_SHARE, monthlyAllocation } from '../billing/allocation.ts';
import {
  addOrgUsage,
  allocationInputs,
  claimAllocationNotice,
  lockOrgUsage,
  resyncOrgUsage,
  upsertOrgAllocation,
} from './queries.ts';
import { recordUnderLock, type SlowPathInput, type SlowPathResult } from './rebalance.ts';

class AllocationBecameFinite extends Error {}

export type AllocationResult = SlowPathResult & { allocation: { monthly: number | null; used: number } };

/**
 * The slow path with the org's allocation. When the allocation is finite, the org's `org_usage`
 * row is locked FOR UPDATE before the member's counter slices (always in this order, so no two
 * transactions deadlock), and the request is refused whole when either the member's limit or the
 * org's remainder would be exceeded; otherwise both counters take it in one transaction. NOTE:
 * this serializes one org's usage on its counter row (every request of a finite-allocation org
 * comes here, the fast path stays closed for it) until group commit (issue 13) lifts it.
 * Unlimited orgs keep the one-statement fast path; their slow path takes only a KEY SHARE lock on
 * the row, so it waits for nothing but an allocation change, which makes a change from unlimited
 * to finite see every recording either before it (counted) or after it (drawn from the row).
 */
export async function recordWithAllocation(ctx: Ctx, input: Omit<SlowPathInput, 'orgRemaining'>): Promise<AllocationResult> {
  return inAllocationTransaction(ctx, input.orgId, (_tx, record) => record(input));
}

/**
 * Runs `body` in one transaction in which `record` is the slow path above: for a recording that
 * writes more in the same transaction (a retried request's key, src/usage/service.ts). `body`
 * may run more than once (when the allocation became finite under the lock), never half-applied.
 */
export async function inAllocationTransaction<T>(
  ctx: Ctx,
  orgId: string,
  body: (tx: Tx, record: (input: Omit<SlowPathInput, 'orgRemaining'>) => Promise<AllocationResult>) => Promise<T>,
): Promise<T> {
  // A guess without a lock picks the lock; the decision is re-read under it.
  let finite = monthlyAllocation(await allocationInputs(ctx.db, orgId), ctx.config.teamCreditsPerSeat) !== null;
  for (;;) {
    try {
      const lockForUpdate = finite;
      return await ctx.db.transaction((tx) => body(tx, (input) => recordInTransaction(tx, ctx, input, lockForUpdate)));
    } catch (error) {
      if (!(error instanceof AllocationBecameFinite) || finite) throw error;
      finite = true;
    }
  }
}

async function recordInTransaction(
  tx: Tx,
  ctx: Ctx,
  input: Omit<SlowPathInput, 'orgRemaining'>,
  lockForUpdate: boolean,
): Promise<AllocationResult> {
  const used = await lockOrgUsage(tx, { orgId: input.orgId, month: input.month, mode: lockForUpdate ? 'update' : 'key share' });
  const monthly = monthlyAllocation(await allocationInputs(tx, input.orgId), ctx.config.teamCreditsPerSeat);
  if (monthly === null) {
    const result = await recordUnderLock(tx, { ...input, orgRemaining: null });
    return { ...result, allocation: { monthly, used } };
  }
  if (!lockForUpdate) throw new AllocationBecameFinite();
  const result = await recordUnderLock(tx, { ...input, orgRemaining: Math.max(0, monthly - used) });
  if (!result.recorded) return { ...result, allocation: { monthly, used } };
  await addOrgUsage(tx, { orgId: input.orgId, month: input.month, quantity: input.quantity });
  const after = used + input.quantity;
  await sendNotices(tx, ctx, { orgId: input.orgId, month: input.month, monthly, used: after });
  return { ...result, allocation: { monthly, used: after } };
}

/**
 * The 80% and 100% warnings: each claimed once per org and month (allocation_notices), and when
 * claimed, mailed to every active owner and admin and recorded (audit entry and event) in the
 * recording's transaction.
 */
export async function sendNotices(tx: Tx, ctx: Ctx, state: { orgId: string; month: string; monthly: number; used: number }) {
  const levels: ('low' | 'exhausted')[] = [];
  if (state.used >= state.monthly * LOW_BALANCE_SHARE) levels.push('low');
  if (state.used >= state.monthly) levels.push('exhausted');
  const now = ctx.clock.now();
  for (const level of levels) {
    if (!(await claimAllocationNotice(tx, { orgId: state.orgId, month: state.month, level, now }))) continue;
    const org = await findOrg(tx, state.orgId);
    const recipients = await activeOwnersAndAdmins(tx, state.orgId);
    const mail = allocationEmail({
      orgName: org?.name ?? 'Your organization',
      level,
      used: state.used,
      monthly: state.monthly,
      resetsAt: periodsAt(now).monthEnd,
      link: `${ctx.config.publicUrl}/billing`,
    });
    await enqueueMail(
      tx,
      recipients.map((member) => ({ kind: `allocation_${level}`, orgId: state.orgId, to: member.email, ...mail })),
      now,
    );
    await recordAudit(
      tx,
      { ...ctx, actor: null },
      {
        orgId: state.orgId,
        action: level === 'low' ? 'usage.allocation_low' : 'usage.allocation_exhausted',
        targetType: 'org',
        targetId: state.orgId,
        after: { month: state.month, monthly: state.monthly, used: state.used },
      },
    );
  }
}

export function allocationExhausted(allocation: { monthly: number | null; used: number }, now: Date, periods: UsagePeriods) {
  const remaining = allocation.monthly === null ? 0 : Math.max(0, allocation.monthly - allocation.used);
  return new AppError(
    'org_allocation_exhausted',
    `Your organization has ${remaining} of its monthly usage allocation of ${allocation.monthly ?? 0} left, not enough for this. ` +
      'Contact your organization administrator, or try again after the allocation resets.',
    {
      monthly: allocation.monthly,
      remaining,
      resets_at: periods.monthEnd.toISOString(),
      retry_after_seconds: secondsUntil(periods.monthEnd, now),
    },
  );
}

/**
 * Support's setting for an Enterprise org (`roster admin set-allocation`), in the caller's
 * transaction (which holds the org lock): locks the org's month row FOR UPDATE (every recording
 * of the org waits, and it waits for them), stores the setting, closes the fast path and counts
 * the month from the members' counters, and records the change.
 */
export async function setAllocation(tx: Tx, ctx: Ctx, input: { orgId: string; monthly: number | null }): Promise<boolean> {
  const now = ctx.clock.now();
  const month = periodsAt(now).month;
  await lockOrgUsage(tx, { orgId: input.orgId, month, mode: 'update' });
  const previous = await upsertOrgAllocation(tx, { orgId: input.orgId, monthly: input.monthly, now });
  await resyncOrgUsage(tx, { orgId: input.orgId, month });
  if (previous === input.monthly) return false;
  await recordAudit(tx, ctx, {
    orgId: input.orgId,
    action: 'usage.allocation_changed',
    targetType: 'org',
    targetId: input.orgId,
    before: { monthly: previous },
    after: { monthly: input.monthly },
  });
  return true;
}
