import { recordAudit } from '../audit/record.ts';
import { authorize } from '../auth/permissions.ts';
import type { Ctx } from '../core/context.ts';
import { requireActor } from '../core/context.ts';
import { AppError } from '../core/errors.ts';
import type { Tx } from '../db/client.ts';
import type { Plan } from '../db/schema.ts';
import { lockActorInOrg } from '../members/access.ts';
import { findOrg, lockOrg } from '../orgs/queries.ts';
import { MAX_SEATS, PLANS } from './plans.ts';
import type { BillingScope } from './provider.ts';
import { insertSubscription, lockActiveSubscription, updateSubscription } from './queries.ts';
import { seatUsage } from './seats.ts';

export function listPlans() {
  return Object.values(PLANS);
}

export async function startCheckout(
  ctx: Ctx,
  input: { plan: Plan; seats: number; scope: 'personal' | 'org' },
): Promise<{ url: string }> {
  const actor = requireActor(ctx);
  if (!PLANS[input.plan].selfServe) {
    throw new AppError('plan_not_self_serve', 'The Enterprise plan is not sold online. Contact sales to set it up.');
  }
  if (!Number.isInteger(input.seats) || input.seats < 1 || input.seats > MAX_SEATS) {
    throw new AppError('invalid_seats', `Choose between 1 and ${MAX_SEATS} seats.`);
  }
  let scope: BillingScope;
  if (input.scope === 'personal') {
    if (actor.membership) {
      throw new AppError('member_of_org', "You belong to an organization: manage billing in the organization's settings.");
    }
    scope = { kind: 'personal', userId: actor.userId };
  } else {
    const member = authorize(actor, 'billing.manage_org');
    const org = await findOrg(ctx.db, member.membership.orgId);
    if (org?.plan === 'enterprise') {
      throw new AppError('enterprise_managed', 'Enterprise billing is managed by Roster support. Contact your account manager.');
    }
    await assertSeatsCoverUsage(ctx, member.membership.orgId, input.seats);
    scope = { kind: 'org', orgId: member.membership.orgId };
  }
  const session = await ctx.billing.createCheckout({
    scope,
    plan: input.plan,
    seats: input.seats,
    customerEmail: actor.email,
  });
  if (session.completed) {
    await applySubscription(ctx, { scope, plan: input.plan, seats: input.seats, providerRef: session.completed.providerRef });
  }
  return { url: session.url };
}

export async function openPortal(ctx: Ctx, input: { scope: 'personal' | 'org' }): Promise<{ url: string }> {
  const actor = requireActor(ctx);
  if (input.scope === 'personal') {
    if (actor.membership) {
      throw new AppError('member_of_org', "You belong to an organization: manage billing in the organization's settings.");
    }
    return ctx.billing.createPortal({ kind: 'personal', userId: actor.userId });
  }
  const member = authorize(actor, 'billing.manage_org');
  const org = await findOrg(ctx.db, member.membership.orgId);
  if (org?.plan === 'enterprise') {
    throw new AppError('enterprise_managed', 'Enterprise billing is managed by Roster support. Contact your account manager.');
  }
  return ctx.billing.createPortal({ kind: 'org', orgId: member.membership.orgId });
}

export async function orgBilling(ctx: Ctx) {
  const member = authorize(requireActor(ctx), 'billing.read_org');
  const orgId = member.membership.orgId;
  const org = await findOrg(ctx.db, orgId);
  const usage = await seatUsage(ctx.db, orgId, ctx.clock.now());
  const isEnterprise = org?.plan === 'enterprise';
  return {
    plan: org?.plan ?? null,
    seats: org?.seatLimit ?? 0,
    activeMembers: usage.activeMembers,
    pendingInvites: usage.pendingInvites,
    portalAvailable: org?.plan === 'team',
    enterprise: isEnterprise ? { seats: org.seatLimit, activeMembers: usage.activeMembers } : null,
  };
}

async function assertSeatsCoverUsage(ctx: Ctx, orgId: string, seats: number): Promise<void> {
  const usage = await seatUsage(ctx.db, orgId, ctx.clock.now());
  if (seats < usage.activeMembers + usage.pendingInvites) throw seatsBelowUsage(usage.activeMembers, usage.pendingInvites);
}

function seatsBelowUsage(active: number, pending: number): AppError {
  return new AppError(
    'seats_below_usage',
    `You have ${active} members and ${pending} pending invitations; choose at least ${active + pending} seats or free some first.`,
    { active_members: active, pending_invites: pending },
  );
}

/**
 * Makes the purchased plan and quantity the scope's active subscription. The one entry point
 * for every provider: the local provider calls it at checkout, Stripe's webhook on completion.
 */
export async function applySubscription(
  ctx: Ctx,
  input: { scope: BillingScope; plan: Plan; seats: number; providerRef: string },
): Promise<void> {
  const now = ctx.clock.now();
  await ctx.db.transaction(async (tx) => {
    if (input.scope.kind === 'org') {
      const orgId = input.scope.orgId;
      if (ctx.actor && ctx.actor.via !== 'operator') await lockActorInOrg(tx, orgId, ctx.actor.userId, 'billing.manage_org');
      else await lockOrg(tx, orgId);
      // Re-checked under the org lock: seats never drop below members plus pending invitations.
      const usage = await seatUsage(tx, orgId, now);
      if (input.seats < usage.activeMembers + usage.pendingInvites) {
        throw seatsBelowUsage(usage.activeMembers, usage.pendingInvites);
      }
    }
    await replaceSubscription(tx, ctx, input, now);
  });
}

async function replaceSubscription(
  tx: Tx,
  ctx: Ctx,
  input: { scope: BillingScope; plan: Plan; seats: number; providerRef: string },
  now: Date,
): Promise<void> {
  const change = { plan: input.plan, seats: input.seats, provider: ctx.billing.name, providerRef: input.providerRef, now };
  const current = await lockActiveSubscription(tx, input.scope);
  if (current) await updateSubscription(tx, { id: current.id, ...change });
  else await insertSubscription(tx, { scope: input.scope, ...change });
  if (input.scope.kind === 'org') {
    await recordAudit(tx, ctx, {
      orgId: input.scope.orgId,
      action: 'billing.subscription_changed',
      targetType: 'org',
      targetId: input.scope.orgId,
      before: current ? { plan: current.plan, seats: current.seats } : null,
      after: { plan: input.plan, seats: input.seats },
    });
  }
}
