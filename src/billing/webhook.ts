import { recordAudit } from '../audit/record.ts';
import type { Ctx } from '../core/context.ts';
import type { Tx } from '../db/client.ts';
import type { SubscriptionStatus } from '../db/schema.ts';
import { lockOrg } from '../orgs/queries.ts';
import { noticeAllocationChange } from './allocation.ts';
import { isLive } from '../core/billing-provider.ts';
import type { BillingScope, ProviderSubscription } from './provider.ts';
import {
  claimEvent,
  insertSubscription,
  activeSubscriptionUnder,
  lockBillingScope,
  lockCustomer,
  lockProviderSubscription,
  lockSubscriptionByRef,
  writeProviderState,
  type BillingLock,
  type SubscriptionRecord,
} from './queries.ts';

/** The provider events Roster acts on; any other verified event is acknowledged and ignored. */
export const HANDLED_EVENTS = new Set([
  'checkout.session.completed',
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'invoice.paid',
  'invoice.payment_failed',
]);

/**
 * `POST /billing/webhook`: verifies the signature over the raw body, then applies the event once.
 * The event id is recorded in the transaction that applies it, so a failure (answered 5xx, retried
 * by the provider) leaves neither the effect nor the record. Events arrive in any order: the state
 * written is the subscription as the provider holds it now, fetched while this subscription's lock
 * is held, never the state carried by the event.
 */
export async function receiveWebhook(
  ctx: Ctx,
  input: { rawBody: Buffer; signature: string | undefined },
): Promise<WebhookOutcome> {
  const event = ctx.billing.verifyWebhook(input.rawBody, input.signature);
  const now = ctx.clock.now();
  return ctx.db.transaction(async (tx) => {
    // A concurrent delivery of the same id waits here until the first commits, then sees it applied.
    if (!(await claimEvent(tx, { eventId: event.id, type: event.type, now }))) return {};
    if (!HANDLED_EVENTS.has(event.type) || !event.subscriptionRef) return {};
    await lockProviderSubscription(tx, event.subscriptionRef);
    const subscription = await ctx.billing.fetchSubscription(event.subscriptionRef);
    // Bound through the customer Roster stored, never through metadata the event carries.
    const scope = await lockCustomer(tx, subscription.customerId);
    if (!scope) return {};
    if (scope.kind === 'org') await lockOrg(tx, scope.orgId);
    return applyProviderState(tx, ctx, scope, subscription, now);
  });
}

/** What the route tells the operator in its log: nothing, or a customer billed twice. */
export interface WebhookOutcome {
  /** The customer holds a second live subscription; the scope keeps following `followed`. */
  secondSubscription?: { scope: BillingScope; customer: string; followed: string; other: string };
}

async function applyProviderState(
  tx: Tx,
  ctx: Ctx,
  scope: BillingScope,
  event: ProviderSubscription,
  now: Date,
): Promise<WebhookOutcome> {
  const { lock, stored } = await storedSubscriptionFor(tx, scope, event);
  if (event.status === 'incomplete') return {}; // the first payment is not done: no seats yet
  // Enterprise, and any plan support set (`set-plan`: billed by no provider), is support's: a
  // provider event never changes it. Regression: an event whose subscription was fetched just
  // before set-plan --cancel-subscription replaced it wrote the old Stripe state over support's
  // Team plan, and Stripe's `deleted` that followed left the org canceled.
  if (stored && (stored.plan === 'enterprise' || stored.provider === 'operator')) return {};
  const follow = await subscriptionToFollow(ctx, stored, event);
  if ('followed' in follow) return { secondSubscription: { scope, customer: event.customerId, ...follow } };
  const remote = follow.subscription;
  if (!remote || remote.status === 'incomplete') return {};
  const state = {
    seats: remote.seats,
    status: remote.status,
    providerRef: remote.ref,
    currentPeriodEnd: remote.currentPeriodEnd,
    cancelAtPeriodEnd: remote.cancelAtPeriodEnd,
  };
  if (!stored) {
    if (remote.status === 'canceled') return {};
    await insertSubscription(tx, lock, { plan: 'team', provider: ctx.billing.name, now, ...state });
    await auditChange(tx, ctx, scope, null, state);
    if (scope.kind === 'org') await noticeAllocationChange(tx, ctx, scope.orgId);
    return {};
  }
  await writeProviderState(tx, lock, { id: stored.id, provider: ctx.billing.name, now, ...state });
  await auditChange(tx, ctx, scope, stored, state);
  // A lower quantity at Stripe shrinks the allocation as PUT /org/billing/seats does.
  if (scope.kind === 'org') await noticeAllocationChange(tx, ctx, scope.orgId);
  return {};
}

/**
 * The subscription at the provider whose state the scope's row takes from this event (undefined:
 * the row stays as it is). A scope follows one subscription; a customer can hold a second live one
 * that Roster's checkout did not make (opened in Stripe's dashboard, say). Then the row keeps
 * following the first while it bills, whichever subscription's events come last, and takes the
 * other when the first ends, so a paying scope is never left canceled.
 */
async function subscriptionToFollow(
  ctx: Ctx,
  stored: SubscriptionRecord | undefined,
  event: ProviderSubscription,
): Promise<{ subscription: ProviderSubscription | undefined } | { followed: string; other: string }> {
  if (!stored) return { subscription: event.status === 'canceled' ? undefined : event };
  if (stored.providerRef === event.ref) {
    // A row canceled before is not the scope's current one: a live row, if any, follows another.
    if (event.status !== 'canceled' || stored.status === 'canceled') return { subscription: event };
    const [other] = (await ctx.billing.liveSubscriptions(event.customerId)).filter((live) => live.ref !== event.ref);
    return { subscription: other ?? event };
  }
  // The cancellation of an older subscription never cancels the one that replaced it.
  if (event.status === 'canceled') return { subscription: undefined };
  // Another live subscription: it replaces the one the row follows only once that one has ended.
  // A row of another provider (the local one, before Stripe was configured) is not asked about.
  if (stored.provider === ctx.billing.name && stored.providerRef) {
    const followed = await ctx.billing.fetchSubscription(stored.providerRef);
    if (isLive(followed.status)) return { followed: followed.ref, other: event.ref };
  }
  return { subscription: event };
}

/** Under the scope's lock: Roster's row for this provider subscription, else the scope's live one (which it replaces). */
async function storedSubscriptionFor(
  tx: Tx,
  scope: BillingScope,
  remote: ProviderSubscription,
): Promise<{ lock: BillingLock; stored: SubscriptionRecord | undefined }> {
  const lock = await lockBillingScope(tx, scope);
  const byRef = await lockSubscriptionByRef(tx, lock, remote.ref);
  if (byRef && ownerMatches(byRef, scope)) return { lock, stored: byRef };
  return { lock, stored: await activeSubscriptionUnder(tx, lock) };
}

function ownerMatches(subscription: SubscriptionRecord, scope: BillingScope): boolean {
  return scope.kind === 'org' ? subscription.orgId === scope.orgId : subscription.userId === scope.userId;
}

async function auditChange(
  tx: Tx,
  ctx: Ctx,
  scope: BillingScope,
  before: SubscriptionRecord | null,
  after: { seats: number; status: SubscriptionStatus },
): Promise<void> {
  if (scope.kind !== 'org') return; // audit entries and events belong to orgs; a personal subscription has none
  const target = { orgId: scope.orgId, targetType: 'org' as const, targetId: scope.orgId };
  if (!before || before.status !== after.status) {
    await recordAudit(tx, ctx, {
      ...target,
      action: 'billing.status_changed',
      before: before ? { status: before.status } : null,
      after: { status: after.status, plan: 'team', seats: after.seats },
    });
  }
  if (after.status !== 'canceled' && (!before || before.seats !== after.seats)) {
    await recordAudit(tx, ctx, {
      ...target,
      action: 'billing.subscription_changed',
      before: before ? { plan: before.plan, seats: before.seats } : null,
      after: { plan: 'team', seats: after.seats },
    });
  }
}
