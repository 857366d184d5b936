import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorReplies } from '../http/errors.ts';
import { listPlans, openPortal, orgBilling, startCheckout } from './service.ts';

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
        summary: 'Start a checkout for a plan and seat count (the local provider completes it at once)',
        body: z.strictObject({
          plan: z.enum(['team', 'enterprise']),
          seats: z.number().int(),
          scope: z.enum(['personal', 'org']),
        }),
        response: { 200: z.object({ url: z.string() }), ...errorReplies(400, 401, 403, 409) },
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
        response: { 200: z.object({ url: z.string() }), ...errorReplies(400, 401, 403) },
      },
    },
    async (request) => openPortal(request.ctx, request.body),
  );

  app.get(
    '/org/billing',
    {
      schema: {
        tags: ['billing'],
        summary: "The org's plan, seats and seat usage",
        response: {
          200: z.object({
            plan: z.enum(['team', 'enterprise']).nullable(),
            seats: z.number().int(),
            active_members: z.number().int(),
            pending_invites: z.number().int(),
            portal_available: z.boolean(),
            enterprise: z.object({ seats: z.number().int(), active_members: z.number().int() }).nullable(),
          }),
          ...errorReplies(401, 403),
        },
      },
    },
    async (request) => {
      const billing = await orgBilling(request.ctx);
      return {
        plan: billing.plan,
        seats: billing.seats,
        active_members: billing.activeMembers,
        pending_invites: billing.pendingInvites,
        portal_available: billing.portalAvailable,
        enterprise: billing.enterprise
          ? { seats: billing.enterprise.seats, active_members: billing.enterprise.activeMembers }
          : null,
      };
    },
  );
};
