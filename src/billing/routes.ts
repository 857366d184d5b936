import { allocationSchema } from './schema-allocation.ts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorReplies } from '../http/errors.ts';
import {
  changeSeats,
  listPlans,
  openPortal,
  orgBilling,
  personalSubscription,
  startCheckout,
  type OrgBilling,
  type PersonalSubscription,
} from './service.ts';
import { orgStorage, reserveOrgStorage, setOrgStorage, type OrgStorage } from './storage.ts';
import { receiveWebhook } from './webhook.ts';

const planSchema = z.object({
  id: z.enum(['team', 'enterprise']),
  name: z.string(),
  price_cents_per_seat: z.number().int().nullable().describe('null: contact sales'),
  currency: z.string(),
  default_seats: z.number().int(),
  storage_bytes_per_seat: z.number().int().nullable().describe('null: unlimited'),
  self_serve: z.boolean(),
});

export const billingRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/billing/plans',
    {
      schema: {
        tags: ['billing'],
        summary: 'Plans and prices',
        security: [],
        response: { 200: z.object({ plans: z.array(planSchema) }) },
      },
    },
    async () => ({
      plans: listPlans().map((plan) => ({
        id: plan.id,
        name: plan.name,
        price_cents_per_seat: plan.priceCentsPerSeat,
        currency: plan.currency,
        default_seats: plan.defaultSeats,
        storage_bytes_per_seat: plan.storageBytesPerSeat,
        self_serve: plan.selfServe,
      })),
    }),
  );

  app.post(
    '/billing/checkout',
    {
      schema: {
        tags: ['billing'],
        summary: 'Start a checkout for a plan and seat count: Stripe Checkout, or the local provider completes it at once',
        description: 'The price, the customer and the return URLs are chosen by the server, never by the client.',
        body: z.strictObject({
          plan: z.enum(['team', 'enterprise']),
          seats: z.number().int(),
          scope: z.enum(['personal', 'org']),
        }),
        response: { 200: z.object({ url: z.string() }), ...errorReplies(400, 401, 403, 409, 502) },
      },
    },
    async (request) => startCheckout(request.ctx, request.body),
  );

  app.post(
    '/billing/portal',
    {
      schema: {
        tags: ['billing'],
        summary: "Open the payment provider's billing portal (Team orgs and personal subscriptions)",
        body: z.strictObject({ scope: z.enum(['personal', 'org']) }),
        response: { 200: z.object({ url: z.string() }), ...errorReplies(400, 401, 403, 404, 502) },
      },
    },
    async (request) => openPortal(request.ctx, request.body),
  );

  app.get(
    '/me/subscription',
    {
      schema: {
        tags: ['billing'],
        summary: 'Your personal subscription (bought before creating an organization), or null',
        description:
          'The live subscription, else the newest canceled one. `POST /org` moves a live one to the new ' +
          'organization (then `GET /org/billing` shows it and this answers null). Any signed-in user, also while in an organization.',
        response: {
          200: z.object({ subscription: personalSubscriptionSchema.nullable() }),
          ...errorReplies(401, 403),
        },
      },
    },
    async (request) => ({ subscription: presentPersonalSubscription(await personalSubscription(request.ctx)) }),
  );

  app.get(
    '/org/billing',
    {
      schema: {
        tags: ['billing'],
        summary: "The org's plan, subscription status, seats and seat usage (owner, admin)",
        response: { 200: orgBillingSchema, ...errorReplies(401, 403) },
      },
    },
    async (request) => presentBilling(await orgBilling(request.ctx)),
  );

  app.put(
    '/org/billing/seats',
    {
      schema: {
        tags: ['billing'],
        summary: 'Change the Team subscription quantity (prorated at the provider before the reply)',
        body: z.strictObject({ seats: z.number().int() }),
        response: { 200: z.object({ billing: orgBillingSchema }), ...errorReplies(400, 401, 403, 404, 409, 502) },
      },
    },
    async (request) => ({ billing: presentBilling(await changeSeats(request.ctx, request.body)) }),
  );

  app.get(
    '/org/storage',
    {
      schema: {
        tags: ['billing'],
        summary: "The org's pooled storage (any member)",
        response: { 200: storageSchema, ...errorReplies(401, 403) },
      },
    },
    async (request) => presentStorage(await orgStorage(request.ctx)),
  );

  app.post(
    '/org/storage/reserve',
    {
      config: { serviceAction: 'storage.reserve' },
      schema: {
        tags: ['billing'],
        summary: 'Reserve (or, with negative bytes, release) storage from the org pool; a retried key counts once',
        description:
          "A member reserves for their own org (`org_id` may be omitted; another org's id answers 404). " +
          'A service token with `storage:write` names the org with `org_id`. A retry sends the same `key` and `bytes` ' +
          'and is answered with the current totals; the same key with other bytes answers 409 `idempotency_key_reused`.',
        body: z.strictObject({
          bytes: z.number().int().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER),
          key: z.string().min(1).max(200),
          org_id: z.string().max(100).optional().describe("required with a service token; a member's own org otherwise"),
        }),
        response: { 200: storageSchema, ...errorReplies(400, 401, 403, 404, 409, 413) },
      },
    },
    async (request) => {
      const { bytes, key, org_id: orgId } = request.body;
      return presentStorage(await reserveOrgStorage(request.ctx, { bytes, key, orgId }));
    },
  );

  app.put(
    '/org/storage',
    {
      config: { serviceAction: 'storage.write' },
      schema: {
        tags: ['billing'],
        summary: "Set an org's storage total after a recount by the host app (service token with storage:write)",
        description:
          'A service token belongs to no org, so `org_id` names the org. Members are refused (403): they reserve and release.',
        body: z.strictObject({
          org_id: z.string().max(100),
          used_bytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
        }),
        response: { 200: storageSchema, ...errorReplies(400, 401, 403, 404) },
      },
    },
    async (request) =>
      presentStorage(await setOrgStorage(request.ctx, { orgId: request.body.org_id, usedBytes: request.body.used_bytes })),
  );

  // The provider signs the exact bytes it sent: this route alone reads its body raw (a Buffer),
  // in its own plugin scope so every other route keeps the JSON parser.
  await app.register(async (webhook) => {
    webhook.removeAllContentTypeParsers();
    webhook.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    webhook.post(
      '/billing/webhook',
      {
        config: { authenticatesItself: true },
        schema: {
          tags: ['billing'],
          summary: 'Payment provider events (Stripe), verified by their signature over the raw body',
          description:
            'Signed with the `Stripe-Signature` header (300-second tolerance). Each event id is applied once; ' +
            'an event already applied answers 200 again.',
          security: [],
          response: { 200: z.object({ received: z.literal(true) }), ...errorReplies(400) },
        },
      },
      async (request) => {
        const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const signature = request.headers['stripe-signature'];
        const outcome = await receiveWebhook(request.ctx, {
          rawBody,
          signature: typeof signature === 'string' ? signature : undefined,
        });
        if (outcome.secondSubscription) {
          request.log.warn(
            outcome.secondSubscription,
            'billing: a customer holds a second live subscription; Roster keeps following the first until it ends (cancel one at the provider)',
          );
        }
        return { received: true as const };
      },
    );
  });
};

const personalSubscriptionSchema = z.object({
  plan: z.enum(['team', 'enterprise']),
  seats: z.number().int(),
  status: z.enum(['active', 'past_due', 'canceled']),
  current_period_end: z.string().nullable(),
  cancel_at_period_end: z.boolean(),
  portal_available: z.boolean().describe('POST /billing/portal {scope: "personal"} has something to show'),
});

function presentPersonalSubscription(subscription: PersonalSubscription | null) {
  if (!subscription) return null;
  return {
    plan: subscription.plan,
    seats: subscription.seats,
    status: subscription.status,
    current_period_end: subscription.currentPeriodEnd ? subscription.currentPeriodEnd.toISOString() : null,
    cancel_at_period_end: subscription.cancelAtPeriodEnd,
    portal_available: subscription.portalAvailable,
  };
}

const orgBillingSchema = z.object({
  plan: z.enum(['team', 'enterprise']).nullable(),
  status: z.enum(['active', 'past_due', 'canceled']),
  seats: z.number().int().describe('the seat limit: the subscription quantity; 0 once canceled'),
  active_members: z.number().int(),
  pending_invites: z.number().int(),
  over_capacity: z
    .boolean()
    .describe('seats below active members plus pending invitations: nobody is removed, new seats are refused'),
  current_period_end: z.string().nullable(),
  cancel_at_period_end: z.boolean(),
  portal_available: z.boolean(),
  managed_by_support: z
    .boolean()
    .describe('Enterprise, or a plan support set with roster admin set-plan: seats change only through support'),
  enterprise: z.object({ seats: z.number().int(), active_members: z.number().int() }).nullable(),
  allocation: allocationSchema,
});

function presentBilling(billing: OrgBilling) {
  return {
    plan: billing.plan,
    status: billing.status,
    seats: billing.seats,
    active_members: billing.activeMembers,
    pending_invites: billing.pendingInvites,
    over_capacity: billing.overCapacity,
    current_period_end: billing.currentPeriodEnd ? billing.currentPeriodEnd.toISOString() : null,
    cancel_at_period_end: billing.cancelAtPeriodEnd,
    portal_available: billing.portalAvailable,
    managed_by_support: billing.managedBySupport,
    enterprise: billing.enterprise ? { seats: billing.enterprise.seats, active_members: billing.enterprise.activeMembers } : null,
    allocation: billing.allocation,
  };
}

const storageSchema = z.object({
  storage_used_bytes: z.number().int(),
  storage_limit_bytes: z.number().int().nullable().describe('null: unlimited'),
});

function presentStorage(storage: OrgStorage) {
  return { storage_used_bytes: storage.usedBytes, storage_limit_bytes: storage.limitBytes };
}
