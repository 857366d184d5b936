import type { Plan } from './domain.ts';

// The billing seam (principle 7). Declared in core because every operation's context carries the
// provider chosen at start-up; the implementations live in src/billing (local-provider.ts,
// stripe-provider.ts). Roster's database (customers, subscriptions, applied events) is handled by
// the billing service; a provider only talks to the payment provider.

/** What the owner of a subscription is: a person before they create an org, or the org. */
export type BillingScope = { kind: 'personal'; userId: string } | { kind: 'org'; orgId: string };

export interface CheckoutRequest {
  scope: BillingScope;
  plan: Plan;
  seats: number;
  customerEmail: string;
  /** The scope's customer at the provider (null for a provider without customers). */
  customerId: string | null;
}

export interface CheckoutSession {
  /** Where the browser goes next (the provider's hosted page, or back to the dashboard). */
  url: string;
  /**
   * Set when the provider completed the purchase synchronously (the local provider). A provider
   * that completes later (Stripe) leaves it unset and reports completion through its webhook.
   */
  completed?: { providerRef: string };
}

/** A subscription as the provider holds it now. */
export interface ProviderSubscription {
  ref: string;
  customerId: string;
  status: 'active' | 'past_due' | 'canceled' | 'incomplete';
  seats: number;
  currentPeriodEnd: Date | null;
  cancelAtPeriodEnd: boolean;
}

/** Whether a subscription bills: paid or its payment being retried; not ended nor awaiting its first payment. */
export function isLive(status: ProviderSubscription['status']): boolean {
  return status === 'active' || status === 'past_due';
}

/** A verified provider event: its id, type and the subscription it concerns (if any). */
export interface ProviderEvent {
  id: string;
  type: string;
  /** The subscription the event concerns, whose current state Roster fetches. */
  subscriptionRef: string | null;
}

/** The seam between Roster and a payment provider; chosen once at start-up from configuration. */
export interface BillingProvider {
  readonly name: string;
  /** True when the provider keeps customers that Roster creates on first use and stores. */
  readonly usesCustomers: boolean;
  createCustomer(input: { scope: BillingScope; email: string; name: string }): Promise<string>;
  createCheckout(request: CheckoutRequest): Promise<CheckoutSession>;
  createPortal(input: { scope: BillingScope; customerId: string | null }): Promise<{ url: string }>;
  /** Changes the subscription's quantity at the provider, prorated. */
  changeSeats(input: { subscriptionRef: string; seats: number }): Promise<void>;
  fetchSubscription(subscriptionRef: string): Promise<ProviderSubscription>;
  /**
   * The customer's subscriptions that still bill (neither ended nor awaiting their first payment),
   * newest first: what a scope follows when the subscription it followed ends beside another one.
   */
  liveSubscriptions(customerId: string): Promise<ProviderSubscription[]>;
  /**
   * Ends the subscription at the provider now, prorated (the operator moved the org off it). A
   * subscription the provider has already ended is left as it is, so a retry succeeds.
   */
  cancelSubscription(input: { subscriptionRef: string }): Promise<void>;
  /** Verifies a webhook over its raw body; throws AppError('invalid_signature') when it fails. */
  verifyWebhook(rawBody: Buffer, signatureHeader: string | undefined): ProviderEvent;
}
