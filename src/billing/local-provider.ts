import { randomUUID } from 'node:crypto';
import { AppError } from '../core/errors.ts';
import type { BillingProvider } from './provider.ts';

/**
 * Used whenever Stripe is not configured (self-hosting, development, tests): every checkout
 * completes at once, the "portal" is the dashboard's billing page, and seat changes need nobody
 * else's agreement. It keeps no customers and receives no webhooks.
 */
export function createLocalBillingProvider(publicUrl: string): BillingProvider {
  return {
    name: 'local',
    usesCustomers: false,
    createCustomer() {
      return Promise.reject(new AppError('internal', 'The local billing provider keeps no customers.'));
    },
    async createCheckout(request) {
      const scope = request.scope.kind;
      return {
        url: `${publicUrl}/billing/success?scope=${scope}&plan=${request.plan}&seats=${request.seats}`,
        completed: { providerRef: `local_${randomUUID()}` },
      };
    },
    async createPortal({ scope }) {
      return { url: `${publicUrl}/settings/billing?scope=${scope.kind}` };
    },
    async changeSeats() {
      // Nothing to tell: the local subscription row is the whole truth.
    },
    async cancelSubscription() {
      // Nothing to tell: the local subscription row is the whole truth.
    },
    fetchSubscription() {
      return Promise.reject(new AppError('internal', 'The local billing provider has no remote subscriptions.'));
    },
    async liveSubscriptions() {
      return []; // no customers, so none of theirs
    },
    verifyWebhook() {
      throw new AppError('invalid_signature', 'This server uses the local billing provider and accepts no billing webhooks.');
    },
  };
}
