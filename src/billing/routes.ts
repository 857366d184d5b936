import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorReplies } from '../http/errors.ts';
import { listPlans, startCheckout } from './service.ts';

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
};
