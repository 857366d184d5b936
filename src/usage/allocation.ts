import { recordAudit } from '../audit/record.ts';
import type { Ctx } from '../core/context.ts';
import { AppError } from '../core/errors.ts';
import type { Tx } from '../db/client.ts';
import { enqueueMail } from '../mail/outbox.ts';
import { allocationEmail } from '../mail/templates.ts';
import { activeOwnersAndAdmins, findOrg } from '../orgs/queries.ts';
import { periodsAt, secondsUntil, type UsagePeriods } from './periods.ts';
import { LOW_BALANCE_SHARE } from '../billing/allocation.ts';
import { claimAllocationNotice, lockOrgUsage, resyncOrgUsage, upsertOrgAllocation } from './queries.ts';

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
 * of the org waits, and it waits for them), stores the setting, counts the month from the
 * members' counters, and records the change.
 */
export async function setAllocation(tx: Tx, ctx: Ctx, input: { orgId: string; monthly: number | null }): Promise<boolean> {
  const now = ctx.clock.now();
  const month = periodsAt(now).month;
  await lockOrgUsage(tx, { orgId: input.orgId, month });
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
