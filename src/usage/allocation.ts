import { recordAudit } from '../audit/record.ts';
import type { Ctx } from '../core/context.ts';
import { AppError } from '../core/errors.ts';
import type { Tx } from '../db/client.ts';
import { noticeAllocationChange } from '../billing/allocation.ts';
import { periodsAt, secondsUntil, type UsagePeriods } from '../core/periods.ts';
import { lockOrgUsage, resyncOrgUsage, upsertOrgAllocation } from './queries.ts';

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
 * of the org waits, and it waits for them), stores the setting, counts the month from the
 * members' counters, and records the change.
 */
export async function setAllocation(
  tx: Tx,
  ctx: Ctx,
  input: { orgId: string; monthly: number | null; inForce?: number | null },
): Promise<boolean> {
  const now = ctx.clock.now();
  const month = periodsAt(now).month;
  await lockOrgUsage(tx, { orgId: input.orgId, month });
  const stored = await upsertOrgAllocation(tx, { orgId: input.orgId, monthly: input.monthly, now });
  await resyncOrgUsage(tx, { orgId: input.orgId, month });
  // `inForce`: what the org had until now when that was not the stored Enterprise setting (it
  // enters Enterprise from Team), so `before` is the allocation members had (regression: an earlier
  // Enterprise period's setting, and no entry at all when that was unlimited too).
  const previous = input.inForce === undefined ? stored : input.inForce;
  if (previous === input.monthly) return false;
  await recordAudit(tx, ctx, {
    orgId: input.orgId,
    action: 'usage.allocation_changed',
    targetType: 'org',
    targetId: input.orgId,
    before: { monthly: previous },
    after: { monthly: input.monthly },
  });
  await noticeAllocationChange(tx, ctx, input.orgId);
  return true;
}
