import type { Config } from '../core/config.ts';
import { createLocalBillingProvider } from './local-provider.ts';
import type { BillingProvider } from './provider.ts';
import { createStripeBillingProvider } from './stripe-provider.ts';

/** The one place the billing seam is chosen: Stripe when configured, else the local provider. */
export function createBillingProvider(config: Config): BillingProvider {
  if (config.stripe) return createStripeBillingProvider(config.stripe, config.publicUrl);
  // src/config.ts already refuses production without Stripe unless BILLING=local.
  return createLocalBillingProvider(config.publicUrl);
}
