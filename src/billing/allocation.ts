import type { Ctx } from '../core/context.ts';
import { allocationInputs, orgMonthUsage, type AllocationInputs } from '../usage/queries.ts';

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
