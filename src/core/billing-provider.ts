import type { Plan } from './domain.ts';

// The billing seam (principle 7). Declared in core because every operation's context carries the
// provider chosen at start-up; the implementations live in src/billing.

/** What the owner of a subscription is: a person before they create an org, or the org. */
export type BillingScope = { kind: 'personal'; userId: string } | { kind: 'org'; orgId: string };

export interface CheckoutRequest {
  scope: BillingScope;
  plan: Plan;
  seats: number;
  customerEmail: string;
}

export interface CheckoutSession {
  /** Where the browser goes next (the provider's hosted page, or back to the dashboard). */
  url: string;
  /**
   * Set when the provider completed the purchase synchronously (the local provider). A provider
   * that completes later (Stripe) leaves it unset and reports completion through its webhook,
   * which calls the same `applySubscription`.
   */
  completed?: { providerRef: string };
}

/** The seam between Roster and a payment provider; chosen once at start-up from configuration. */
export interface BillingProvider {
  readonly name: string;
  createCheckout(request: CheckoutRequest): Promise<CheckoutSession>;
  createPortal(scope: BillingScope): Promise<{ url: string }>;
}
