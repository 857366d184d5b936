import { randomUUID } from 'node:crypto';
import type { BillingProvider } from './provider.ts';

/**
 * Used whenever Stripe is not configured (self-hosting, development, tests): every checkout
 * completes at once, and the "portal" is the dashboard's billing page.
 */
export function createLocalBillingProvider(publicUrl: string): BillingProvider {
  return {
    name: 'local',
    async createCheckout(request) {
      const scope = request.scope.kind;
      return {
        url: `${publicUrl}/billing/success?scope=${scope}&plan=${request.plan}&seats=${request.seats}`,
        completed: { providerRef: `local_${randomUUID()}` },
      };
    },
    async createPortal(scope) {
      return { url: `${publicUrl}/settings/billing?scope=${scope.kind}` };
    },
  };
}
