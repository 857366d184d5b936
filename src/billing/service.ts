import { recordAudit } from '../audit/record.ts';
import { authorize } from '../auth/permissions.ts';
import type { Ctx } from '../core/context.ts';
import { requireActor, requireCaller } from '../core/context.ts';
import { AppError } from '../core/errors.ts';
import type { Tx } from '../db/client.ts';
import type { Plan, SubscriptionStatus } from '../db/schema.ts';
import { lockActorInOrg } from '../members/access.ts';
import { lockOrg } from '../orgs/queries.ts';
import { MAX_SEATS, PLANS } from './plans.ts';
import type { BillingScope } from './provider.ts';
import {
  currentSubscription,
  findCustomer,
  insertSubscription,
  lockActiveSubscription,
  lockBillingScope,
  setSubscriptionSeats,
  storeCustomer,
  updateSubscription,
  type SubscriptionRecord,
} from './queries.ts';
import { seatUsage } from './seats.ts';
import { allocationView, monthOf, type AllocationView } from './allocation.ts';
import { lockOrgUsage, resyncOrgUsage } from '../usage/queries.ts';
import { noticeAllocationChange } from './allocation.ts';

export function listPlans() {
  return Object.values(PLANS);
}

const enterpriseManaged = () =>
  new AppError('enterprise_managed', 'Enterprise billing is managed by Roster support. Contact your account manager.');
/** A Team plan that support set with `roster admin set-plan`: no provider bills it, so its seats are support's to change. */
const supportManaged = () =>
  new AppError(
    'enterprise_managed',
    "This organization's plan was set by Roster support and is not billed through the payment provider: contact support to change it or its seats.",
  );
const noSubscription = () =>
  new AppError('no_subscription', 'There is no subscription to manage here. Check out the Team plan first.');

export async function startCheckout(
  ctx: Ctx,
  input: { plan: Plan; seats: number; scope: 'personal' | 'org' },
): Promise<{ url: string }> {
  const actor = requireActor(ctx);
  if (!PLANS[input.plan].selfServe) {
    throw new AppError('plan_not_self_serve', 'The Enterprise plan is not sold online. Contact sales to set it up.');
  }
  assertSeatCount(input.seats);
  let scope: BillingScope;
  let customerName = actor.name;
  if (input.scope === 'personal') {
    if (actor.membership) {
      throw new AppError('member_of_org', "You belong to an organization: manage billing in the organization's settings.");
    }
    scope = { kind: 'personal', userId: actor.userId };
  } else {
    const member = authorize(actor, 'billing.manage_org');
    await assertSelfServe(ctx, member.membership.orgId);
    await assertSeatsCoverUsage(ctx, member.membership.orgId, input.seats);
    scope = { kind: 'org', orgId: member.membership.orgId };
    customerName = member.membership.orgName;
  }
  let customerId: string | null = null;
  if (ctx.billing.usesCustomers) {
    // One provider subscription per scope: more seats go through PUT /org/billing/seats or the portal.
    const live = await currentSubscription(ctx.db, scope);
    if (live && live.status !== 'canceled' && live.provider === ctx.billing.name) {
      throw new AppError(
        'subscription_exists',
        'There is a subscription already. Change its seats in the billing settings, or manage it in the billing portal.',
      );
    }
    customerId = await customerOf(ctx, scope, { email: actor.email, name: customerName });
  }
  const request = { scope, plan: input.plan, seats: input.seats, customerEmail: actor.email, customerId };
  // A provider with customers (Stripe) is asked under the scope's lock: two checkouts at once would
  // each find no open page and make two.
  const session = ctx.billing.usesCustomers
    ? await ctx.db.transaction(async (tx) => {
        await lockBillingScope(tx, scope);
        return ctx.billing.createCheckout(request);
      })
    : await ctx.billing.createCheckout(request);
  if (session.completed) {
    await applySubscription(ctx, { scope, plan: input.plan, seats: input.seats, providerRef: session.completed.providerRef });
  }
  return { url: session.url };
}

/**
 * The org's billing is the customer's to change: not Enterprise, and not a plan support set
 * (a checkout would add a second, provider-billed subscription beside it; a portal has nothing of it).
 */
async function assertSelfServe(ctx: Ctx, orgId: string): Promise<void> {
  // The org's plan is its live subscription's (findOrg reads the same row): one read for both checks.
  const live = await currentSubscription(ctx.db, { kind: 'org', orgId });
  if (!live || live.status === 'canceled') return;
  if (live.plan === 'enterprise') throw enterpriseManaged();
  if (live.provider === 'operator') throw supportManaged();
}

/** The scope's customer at the provider, created on first use and stored. */
async function customerOf(ctx: Ctx, scope: BillingScope, person: { email: string; name: string }): Promise<string> {
  const stored = await findCustomer(ctx.db, scope);
  if (stored) return stored;
  const created = await ctx.billing.createCustomer({ scope, ...person });
  // Two first checkouts at once both create one; the first stored wins, the other stays unused.
  return ctx.db.transaction((tx) => storeCustomer(tx, { providerCustomerId: created, scope, now: ctx.clock.now() }));
}

/**
 * The provider's portal. Personal scope: any user for their own personal subscription, also while
 * in an org (a subscription bought before joining must stay cancelable). Org scope: owner/admin.
 */
export async function openPortal(ctx: Ctx, input: { scope: 'personal' | 'org' }): Promise<{ url: string }> {
  const actor = requireActor(ctx);
  let scope: BillingScope;
  if (input.scope === 'personal') {
    scope = { kind: 'personal', userId: actor.userId };
  } else {
    const member = authorize(actor, 'billing.manage_org');
    await assertSelfServe(ctx, member.membership.orgId);
    scope = { kind: 'org', orgId: member.membership.orgId };
  }
  const subscription = await currentSubscription(ctx.db, scope);
  if (!subscription) throw noSubscription();
  const customerId = ctx.billing.usesCustomers ? await findCustomer(ctx.db, scope) : null;
  if (ctx.billing.usesCustomers && !customerId) throw noSubscription();
  return ctx.billing.createPortal({ scope, customerId: customerId ?? null });
}

/** A user's own subscription, bought before creating an org (scope `personal`). */
export interface PersonalSubscription {
  plan: Plan;
  seats: number;
  status: SubscriptionStatus;
  currentPeriodEnd: Date | null;
  cancelAtPeriodEnd: boolean;
  /** The portal (`POST /billing/portal {scope: personal}`) has something to show. */
  portalAvailable: boolean;
}

/**
 * `GET /me/subscription`: the signed-in user's personal subscription (live, else, while in no org,
 * the newest canceled one), or null. It is what `POST /org` moves to the new org, so a client can tell before
 * asking whether the user has paid (a return from Stripe's checkout, a second visit) instead of
 * offering a second checkout. Once it has moved to an org, `GET /org/billing` shows it.
 */
export async function personalSubscription(ctx: Ctx): Promise<PersonalSubscription | null> {
  const actor = requireActor(ctx);
  const scope: BillingScope = { kind: 'personal', userId: actor.userId };
  const subscription = await currentSubscription(ctx.db, scope);
  // A canceled one tells a user in no org why they cannot create one; once in an org it is only
  // history (regression: after POST /org took the live one, an older canceled one showed).
  if (!subscription || (subscription.status === 'canceled' && actor.membership)) return null;
  return {
    plan: subscription.plan,
    seats: subscription.seats,
    status: subscription.status,
    currentPeriodEnd: subscription.currentPeriodEnd,
    cancelAtPeriodEnd: subscription.cancelAtPeriodEnd,
    portalAvailable: !ctx.billing.usesCustomers || (await findCustomer(ctx.db, scope)) !== undefined,
  };
}

export interface OrgBilling {
  plan: Plan | null;
  status: SubscriptionStatus;
  seats: number;
  activeMembers: number;
  pendingInvites: number;
  overCapacity: boolean;
  currentPeriodEnd: Date | null;
  cancelAtPeriodEnd: boolean;
  portalAvailable: boolean;
  /** Enterprise, or any plan support set (`roster admin set-plan`): seats change only through support. */
  managedBySupport: boolean;
  /** Who bills the live subscription (local, stripe, operator); null without one. Not in the API reply. */
  provider: string | null;
  enterprise: { seats: number; activeMembers: number } | null;
  /** The org's usage allocation (credits) this UTC month. */
  allocation: AllocationView;
}

export async function orgBilling(ctx: Ctx): Promise<OrgBilling> {
  const member = authorize(requireCaller(ctx), 'billing.read_org');
  return billingOf(ctx, member.membership.orgId);
}

/** The org's billing for support (`roster admin show-org`): no caller check, the operator's command checked. */
export function billingOfOrg(ctx: Ctx, orgId: string): Promise<OrgBilling> {
  return billingOf(ctx, orgId);
}

async function billingOf(ctx: Ctx, orgId: string): Promise<OrgBilling> {
  const subscription = await currentSubscription(ctx.db, { kind: 'org', orgId });
  const usage = await seatUsage(ctx.db, orgId, ctx.clock.now());
  const status = subscription?.status ?? 'canceled';
  const isLive = status !== 'canceled';
  const plan = subscription?.plan ?? null;
  return {
    plan,
    status,
    // A canceled subscription leaves no seats to invite into.
    seats: usage.seatLimit,
    activeMembers: usage.activeMembers,
    pendingInvites: usage.pendingInvites,
    // A quantity from the provider below what is in use removes nobody; it only blocks new seats.
    overCapacity: isLive && usage.seatLimit < usage.activeMembers + usage.pendingInvites,
    currentPeriodEnd: subscription?.currentPeriodEnd ?? null,
    cancelAtPeriodEnd: subscription?.cancelAtPeriodEnd ?? false,
    portalAvailable:
      plan === 'team' &&
      subscription?.provider !== 'operator' &&
      (!ctx.billing.usesCustomers || (await findCustomer(ctx.db, { kind: 'org', orgId })) !== undefined),
    managedBySupport: isLive && (plan === 'enterprise' || subscription?.provider === 'operator'),
    provider: isLive ? (subscription?.provider ?? null) : null,
    enterprise: plan === 'enterprise' && isLive ? { seats: usage.seatLimit, activeMembers: usage.activeMembers } : null,
    allocation: await allocationView(ctx, orgId),
  };
}

/**
 * `PUT /org/billing/seats`: the seat rule passes under the org lock, then the provider changes the
 * quantity (prorated) while the lock is still held, so no invitation slips in between the check
 * and the change; a provider failure rolls the whole change back.
 */
export async function changeSeats(ctx: Ctx, input: { seats: number }): Promise<OrgBilling> {
  const actor = authorize(requireCaller(ctx), 'billing.manage_org');
  const orgId = actor.membership.orgId;
  assertSeatCount(input.seats);
  const now = ctx.clock.now();
  await ctx.db.transaction(async (tx) => {
    await lockActorInOrg(tx, orgId, actor.userId, 'billing.manage_org');
    const { lock, subscription } = await lockActiveSubscription(tx, { kind: 'org', orgId });
    if (!subscription) throw noSubscription();
    if (subscription.plan === 'enterprise') throw enterpriseManaged();
    // Seats of a subscription that no provider bills would be seats nobody pays for.
    if (subscription.provider === 'operator') throw supportManaged();
    const usage = await seatUsage(tx, orgId, now);
    if (input.seats < usage.activeMembers + usage.pendingInvites)
      throw seatsBelowUsage(usage.activeMembers, usage.pendingInvites);
    if (subscription.seats === input.seats) return;
    if (isProviderBilled(subscription)) {
      if (subscription.provider !== ctx.billing.name || !subscription.providerRef) {
        throw new AppError(
          'billing_provider_unavailable',
          `This subscription is billed by ${subscription.provider}, which this server is not configured for.`,
        );
      }
      await ctx.billing.changeSeats({ subscriptionRef: subscription.providerRef, seats: input.seats });
    }
    await setSubscriptionSeats(tx, lock, { id: subscription.id, seats: input.seats, now });
    await recordAudit(tx, ctx, {
      orgId,
      action: 'billing.subscription_changed',
      targetType: 'org',
      targetId: orgId,
      before: { plan: subscription.plan, seats: subscription.seats },
      after: { plan: subscription.plan, seats: input.seats },
    });
    await noticeAllocationChange(tx, ctx, orgId);
  });
  return billingOf(ctx, orgId);
}

function assertSeatCount(seats: number): void {
  if (!Number.isInteger(seats) || seats < 1 || seats > MAX_SEATS) {
    throw new AppError('invalid_seats', `Choose between 1 and ${MAX_SEATS} seats.`);
  }
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
 * Makes the purchased plan and quantity the scope's active subscription. The entry point of the
 * local provider (at checkout) and of the operator CLI; Stripe's state arrives through webhook.ts.
 */
export async function applySubscription(
  ctx: Ctx,
  input: { scope: BillingScope; plan: Plan; seats: number; providerRef: string },
  options: ReplaceOptions = {},
): Promise<{ changed: boolean }> {
  const now = ctx.clock.now();
  return ctx.db.transaction(async (tx) => {
    if (input.scope.kind === 'org') {
      const orgId = input.scope.orgId;
      if (ctx.actor && ctx.actor.via !== 'operator' && ctx.actor.via !== 'service_token')
        await lockActorInOrg(tx, orgId, ctx.actor.userId, 'billing.manage_org');
      else await lockOrg(tx, orgId);
      // Re-checked under the org lock: seats never drop below members plus pending invitations.
      const usage = await seatUsage(tx, orgId, now);
      if (input.seats < usage.activeMembers + usage.pendingInvites) {
        throw seatsBelowUsage(usage.activeMembers, usage.pendingInvites);
      }
    }
    return replaceSubscription(tx, ctx, input, now, options);
  });
}

export interface ReplaceOptions {
  /** Runs under the scope's lock with the live subscription about to be replaced; may refuse by throwing. */
  beforeReplacing?: (current: SubscriptionRecord) => Promise<void>;
  /**
   * The operator's `set-plan`: when the live subscription already has this plan and these seats
   * from this provider, write nothing (no second, identical audit entry or event).
   */
  keepWhenSame?: boolean;
  /** Runs in the transaction after the subscription was replaced, with the one it replaced (if any). */
  afterReplacing?: (tx: Tx, replaced: SubscriptionRecord | undefined) => Promise<void>;
}

/**
 * For the operator's `set-plan`: a live subscription that a payment provider bills (Stripe) would
 * keep charging the customer after the org moved to a plan support manages. Refused
 * (`provider_subscription_active`) unless `cancel`; with it, the subscription is ended at the
 * provider (prorated) while the scope's lock is held, and a provider failure changes nothing here.
 * A subscription of the local provider or of an earlier `set-plan` has nothing to end.
 */
export function endProviderSubscription(ctx: Ctx, options: { cancel: boolean }): ReplaceOptions['beforeReplacing'] {
  return async (current) => {
    if (current.status === 'canceled' || !isProviderBilled(current)) return;
    const at = `${current.provider} subscription ${current.providerRef ?? '(no reference)'}, ${current.seats} seats`;
    if (!options.cancel) {
      throw new AppError(
        'provider_subscription_active',
        `This organization pays through ${at}. Cancel it with the plan change (--cancel-subscription: prorated, at once), or let the owner change it in the billing portal.`,
      );
    }
    if (current.provider !== ctx.billing.name || !current.providerRef) {
      throw new AppError(
        'billing_provider_unavailable',
        `This subscription is billed by ${current.provider}, which this server is not configured for.`,
      );
    }
    await ctx.billing.cancelSubscription({ subscriptionRef: current.providerRef });
  };
}

function isProviderBilled(subscription: SubscriptionRecord): boolean {
  return subscription.provider !== 'local' && subscription.provider !== 'operator';
}

async function replaceSubscription(
  tx: Tx,
  ctx: Ctx,
  input: { scope: BillingScope; plan: Plan; seats: number; providerRef: string },
  now: Date,
  options: ReplaceOptions,
): Promise<{ changed: boolean }> {
  const change = { plan: input.plan, seats: input.seats, provider: ctx.billing.name, providerRef: input.providerRef, now };
  const { lock, subscription: current } = await lockActiveSubscription(tx, input.scope);
  const isSame =
    current !== undefined &&
    current.status !== 'canceled' &&
    current.plan === input.plan &&
    current.seats === input.seats &&
    current.provider === ctx.billing.name;
  if (options.keepWhenSame && isSame) return { changed: false };
  if (current && options.beforeReplacing) await options.beforeReplacing(current);
  // With no live subscription, whether the scope had one that was canceled (then this reactivates it).
  const wasCanceled = !current && (await currentSubscription(tx, input.scope))?.status === 'canceled';
  if (current) await updateSubscription(tx, lock, { id: current.id, ...change });
  else await insertSubscription(tx, lock, change);
  if (input.scope.kind === 'org') {
    // The plan decides whether the org's usage allocation is finite (Team) or may be unlimited
    // (Enterprise): lock the org's month row and recount it, so no recording straddles the change.
    const month = monthOf(now);
    await lockOrgUsage(tx, { orgId: input.scope.orgId, month });
    await resyncOrgUsage(tx, { orgId: input.scope.orgId, month });
    await noticeAllocationChange(tx, ctx, input.scope.orgId);
    // Who bills it is part of the change when it changes (a plan that support sets over one the
    // customer bought with the same plan and seats changes nothing else).
    const providerChanged = current !== undefined && current.provider !== change.provider;
    await recordAudit(tx, ctx, {
      orgId: input.scope.orgId,
      action: 'billing.subscription_changed',
      targetType: 'org',
      targetId: input.scope.orgId,
      before: current
        ? { plan: current.plan, seats: current.seats, ...(providerChanged ? { provider: current.provider } : {}) }
        : null,
      after: { plan: input.plan, seats: input.seats, ...(providerChanged ? { provider: change.provider } : {}) },
    });
    // Reactivating a canceled org (support's set-plan, a new local checkout) is a status change too.
    if (wasCanceled) {
      await recordAudit(tx, ctx, {
        orgId: input.scope.orgId,
        action: 'billing.status_changed',
        targetType: 'org',
        targetId: input.scope.orgId,
        before: { status: 'canceled' },
        after: { status: 'active', plan: input.plan, seats: input.seats },
      });
    }
  }
  if (options.afterReplacing) await options.afterReplacing(tx, current);
  return { changed: true };
}
