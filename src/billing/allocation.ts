import { recordAudit } from '../audit/record.ts';
import type { Ctx } from '../core/context.ts';
import type { Tx } from '../db/client.ts';
import { enqueueMail } from '../mail/outbox.ts';
import { messageWithoutSecrets } from '../mail/sealing.ts';
import { allocationEmail } from '../mail/templates.ts';
import { activeOwnersAndAdmins, findOrg } from '../orgs/queries.ts';
import { periodsAt } from '../core/periods.ts';
import { allocationInputs, claimAllocationNotice, orgMonthUsage, type AllocationInputs } from '../usage/queries.ts';

// Organization allocation (credits): how much usage an org's plan allows per UTC month. The usage
// module draws from it (src/usage/allocation.ts); billing and usage replies show it.

/** The share of the allocation at which owners and admins get the low-balance warning. */
export const LOW_BALANCE_SHARE = 0.8;

/**
 * The org's monthly allocation (null: unlimited). Team: TEAM_CREDITS_PER_SEAT × seats;
 * Enterprise: support's setting (unlimited until set); no live subscription: 0, like storage.
 * The usage batch function roster_usage_batch (migration 0029) repeats this rule in SQL: a change
 * here needs a migration that replaces it.
 */
export function monthlyAllocation(inputs: AllocationInputs, creditsPerSeat: number): number | null {
  if (inputs.plan === 'team') return creditsPerSeat * inputs.seats;
  if (inputs.plan === 'enterprise') return inputs.enterpriseMonthly;
  return 0;
}

export interface AllocationView {
  monthly: number | null;
  used: number;
  remaining: number | null;
}

/** `allocation` of GET /org/billing and GET /org/usage: the current UTC month. */
export async function allocationView(ctx: Ctx, orgId: string): Promise<AllocationView> {
  const month = monthOf(ctx.clock.now());
  const [inputs, usage] = await Promise.all([allocationInputs(ctx.db, orgId), orgMonthUsage(ctx.db, orgId, month)]);
  const monthly = monthlyAllocation(inputs, ctx.config.teamCreditsPerSeat);
  // A finite allocation is drawn from org_usage; an unlimited one is not tracked there, so the
  // members' counters say what was used.
  const used = monthly === null ? usage.counted : usage.tracked;
  return { monthly, used, remaining: monthly === null ? null : Math.max(0, monthly - used) };
}

/** First day of the UTC month of `now`, YYYY-MM-DD (the month org_usage counts). */
export function monthOf(now: Date): string {
  return `${now.toISOString().slice(0, 7)}-01`;
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
    const mail = messageWithoutSecrets(
      allocationEmail({
        orgName: org?.name ?? 'Your organization',
        level,
        used: state.used,
        monthly: state.monthly,
        resetsAt: periodsAt(now).monthEnd,
        link: `${ctx.config.publicUrl}/settings/billing`, // the dashboard's billing page (regression: /billing, a 404)
      }),
    );
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

/**
 * After the org's allocation changed (seats, plan, support's setting), in the change's
 * transaction: the 80% and 100% notices its use now calls for. Usage batches send them as they
 * record; a smaller allocation (fewer seats) can pass a threshold with nothing recorded, and members
 * would get 429s their owners were never warned of. Each is still sent at most once a month.
 */
export async function noticeAllocationChange(tx: Tx, ctx: Ctx, orgId: string): Promise<void> {
  const view = await allocationView({ ...ctx, db: tx }, orgId);
  // Unlimited, or no live subscription (nothing to warn about: the org has no allocation at all).
  if (view.monthly === null || view.monthly === 0 || view.used === 0) return;
  await sendNotices(tx, ctx, { orgId, month: periodsAt(ctx.clock.now()).month, monthly: view.monthly, used: view.used });
}
