import Stripe from 'stripe';
import type { StripeConfig } from '../core/config.ts';
import { AppError } from '../core/errors.ts';
import { isLive, type ProviderSubscription } from '../core/billing-provider.ts';
import type { BillingProvider } from './provider.ts';

/** Stripe's own limit for a signed event's age, which the contract adopts. */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

/**
 * Billing on Stripe with the official SDK. Return URLs are built only from PUBLIC_URL; the price is
 * the configured Team price and the customer the one Roster stored for the scope: nothing comes
 * from the client.
 */
export function createStripeBillingProvider(config: StripeConfig, publicUrl: string): BillingProvider {
  const stripe = new Stripe(config.secretKey, {
    // Seat changes and webhooks call Stripe inside a transaction: stay well inside the database's
    // idle-in-transaction timeout (30 s by default).
    maxNetworkRetries: 1,
    timeout: 10_000,
    ...apiBaseOptions(config.apiBase),
  });
  const billingPage = `${publicUrl}/settings/billing`;

  return {
    name: 'stripe',
    usesCustomers: true,
    async createCustomer({ scope, email, name }) {
      const customer = await atStripe(() =>
        stripe.customers.create({
          email,
          name,
          // Informational only: webhooks are bound through the stored customer id, never this.
          metadata: scope.kind === 'org' ? { roster_org_id: scope.orgId } : { roster_user_id: scope.userId },
        }),
      );
      return customer.id;
    },
    async createCheckout(request) {
      if (!request.customerId) throw new AppError('internal', 'A Stripe checkout needs the stored customer.');
      const customer = request.customerId;
      // One open checkout per customer (the caller holds the scope's lock): two pages paid before the
      // first webhook were two subscriptions billed, of which Roster kept one (found in review).
      // An earlier page is expired first (an expired page can no longer be paid); one paid while
      // this ran is caught next, as a subscription Roster has not heard of yet.
      const open = await atStripe(() => stripe.checkout.sessions.list({ customer, status: 'open', limit: 100 }));
      for (const earlier of open.data) {
        await atStripe(() =>
          stripe.checkout.sessions.expire(earlier.id).catch((error: unknown) => {
            // Paid (or expired) since the list: its subscription is caught below.
            if (!(error instanceof Stripe.errors.StripeInvalidRequestError)) throw error;
          }),
        );
      }
      const existing = await atStripe(() => stripe.subscriptions.list({ customer, status: 'all', limit: 100 }));
      if (existing.data.some((subscription) => !ENDED.has(subscription.status))) {
        throw new AppError(
          'subscription_exists',
          'This account has a subscription at Stripe already (a payment that went through moments ago shows here shortly). Change its seats in the billing settings, or manage it in the billing portal.',
        );
      }
      const session = await atStripe(() =>
        stripe.checkout.sessions.create({
          mode: 'subscription',
          customer: request.customerId ?? undefined,
          line_items: [{ price: config.priceTeam, quantity: request.seats }],
          success_url: `${billingPage}?checkout=success`,
          cancel_url: `${billingPage}?checkout=canceled`,
          client_reference_id: request.scope.kind === 'org' ? request.scope.orgId : request.scope.userId,
        }),
      );
      if (!session.url) throw new AppError('billing_provider_unavailable', 'Stripe returned no checkout page. Try again.');
      return { url: session.url };
    },
    async createPortal({ scope, customerId }) {
      if (!customerId) throw new AppError('internal', 'A Stripe portal needs the stored customer.');
      // Back to where it was opened: a personal subscription is managed from the Account page (a
      // user in no org has no billing page; the dashboard would send them on to create one).
      const returnUrl = scope.kind === 'personal' ? `${publicUrl}/account` : billingPage;
      const session = await atStripe(() => stripe.billingPortal.sessions.create({ customer: customerId, return_url: returnUrl }));
      return { url: session.url };
    },
    async changeSeats({ subscriptionRef, seats }) {
      const subscription = await atStripe(() => stripe.subscriptions.retrieve(subscriptionRef));
      const item = seatItem(subscription, config.priceTeam);
      if (!item) throw new AppError('billing_provider_unavailable', 'The Stripe subscription has no Team seat item.');
      await atStripe(() =>
        stripe.subscriptionItems.update(item.id, { quantity: seats, proration_behavior: 'create_prorations' }),
      );
    },
    async cancelSubscription({ subscriptionRef }) {
      const subscription = await atStripe(() => stripe.subscriptions.retrieve(subscriptionRef));
      if (subscription.status === 'canceled' || subscription.status === 'incomplete_expired') return;
      await atStripe(() => stripe.subscriptions.cancel(subscriptionRef, { prorate: true, invoice_now: true }));
    },
    async fetchSubscription(subscriptionRef) {
      const subscription = await atStripe(() => stripe.subscriptions.retrieve(subscriptionRef));
      return toProviderSubscription(subscription, config.priceTeam);
    },
    async liveSubscriptions(customerId) {
      const listed = await atStripe(() => stripe.subscriptions.list({ customer: customerId, status: 'all', limit: 100 }));
      return listed.data
        .map((subscription) => toProviderSubscription(subscription, config.priceTeam))
        .filter((subscription) => isLive(subscription.status));
    },
    verifyWebhook(rawBody, signatureHeader) {
      if (!signatureHeader) throw invalidSignature();
      let event: Stripe.Event;
      try {
        event = stripe.webhooks.constructEvent(rawBody, signatureHeader, config.webhookSecret, WEBHOOK_TOLERANCE_SECONDS);
      } catch {
        throw invalidSignature();
      }
      return { id: event.id, type: event.type, subscriptionRef: subscriptionOf(event) };
    },
  };
}

/** STRIPE_API_BASE (a local stub in tests) as the SDK's host, port and protocol options. */
/** Stripe subscription statuses that bill nothing any more (anything else counts as a subscription). */
const ENDED = new Set<Stripe.Subscription.Status>(['canceled', 'incomplete_expired']);

function apiBaseOptions(apiBase: string | undefined): Pick<Stripe.StripeConfig, 'host' | 'port' | 'protocol'> {
  if (!apiBase) return {};
  const url = new URL(apiBase);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  return { host: url.hostname, port: url.port || (protocol === 'http' ? 80 : 443), protocol };
}

function invalidSignature(): AppError {
  return new AppError('invalid_signature', 'The Stripe-Signature header does not match this body, or the event is too old.');
}

/** The subscription an event concerns; its current state is fetched, never read from the event. */
function subscriptionOf(event: Stripe.Event): string | null {
  const idOf = (value: string | { id: string } | null | undefined) => (typeof value === 'string' ? value : (value?.id ?? null));
  switch (event.type) {
    case 'checkout.session.completed':
      return event.data.object.mode === 'subscription' ? idOf(event.data.object.subscription) : null;
    case 'customer.subscription.created':
    case 'customer.subscription.updated':
    case 'customer.subscription.deleted':
      return event.data.object.id;
    case 'invoice.paid':
    case 'invoice.payment_failed':
      return idOf(event.data.object.parent?.subscription_details?.subscription);
    default:
      return null;
  }
}

function seatItem(subscription: Stripe.Subscription, priceTeam: string): Stripe.SubscriptionItem | undefined {
  const items = subscription.items.data;
  return items.find((item) => item.price.id === priceTeam) ?? (items.length === 1 ? items[0] : undefined);
}

function toProviderSubscription(subscription: Stripe.Subscription, priceTeam: string): ProviderSubscription {
  const item = seatItem(subscription, priceTeam);
  const customer = subscription.customer;
  return {
    ref: subscription.id,
    customerId: typeof customer === 'string' ? customer : customer.id,
    status: statusOf(subscription.status),
    seats: item?.quantity ?? 0,
    currentPeriodEnd: item?.current_period_end ? new Date(item.current_period_end * 1000) : null,
    cancelAtPeriodEnd: subscription.cancel_at_period_end,
  };
}

/** Stripe's statuses in Roster's words: past_due keeps seats while Stripe retries the payment. */
function statusOf(status: Stripe.Subscription.Status): ProviderSubscription['status'] {
  switch (status) {
    case 'active':
    case 'trialing':
      return 'active';
    case 'past_due':
    case 'unpaid':
      return 'past_due';
    case 'canceled':
    case 'incomplete_expired':
      return 'canceled';
    default:
      return 'incomplete';
  }
}

/** A failed call to Stripe answers 502 (the request can be retried), never a stack or Stripe's text. */
async function atStripe<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof AppError) throw error;
    const failure = new AppError(
      'billing_provider_unavailable',
      'The payment provider could not be reached. Try again in a moment.',
    );
    failure.cause = error;
    throw failure;
  }
}
