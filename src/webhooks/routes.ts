import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorReplies } from '../http/errors.ts';
import { presentDelivery, presentEndpoint } from './present.ts';
import {
  createdEndpointSchema,
  createEndpointBody,
  deliveriesQuery,
  deliveriesReply,
  endpointParams,
  endpointSchema,
  rotateSecretBody,
} from './schema.ts';
import { createWebhook, deleteWebhook, listDeliveries, listWebhooks, rotateWebhookSecret } from './service.ts';

const SCOPE = 'Service token with `webhooks:manage` only.';

export const webhookRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/webhooks',
    {
      config: { serviceAction: 'webhooks.manage' },
      schema: {
        tags: ['webhooks'],
        summary: 'Add a webhook endpoint; the reply carries its signing secret, shown only once',
        description: `${SCOPE} Deliveries are signed per Standard Webhooks 1.0 (docs/api.md, "Webhooks").`,
        body: createEndpointBody,
        response: { 201: createdEndpointSchema, ...errorReplies(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { url, events, org_id: orgId } = request.body;
      const created = await createWebhook(request.ctx, { url, events, orgId });
      return reply
        .status(201)
        .send({ webhook: presentEndpoint(created.endpoint, request.ctx.clock.now()), secret: created.secret });
    },
  );

  app.get(
    '/webhooks',
    {
      config: { serviceAction: 'webhooks.manage' },
      schema: {
        tags: ['webhooks'],
        summary: 'Webhook endpoints (never their secrets)',
        description: SCOPE,
        response: { 200: z.object({ webhooks: z.array(endpointSchema) }), ...errorReplies(401, 403) },
      },
    },
    async (request) => ({
      webhooks: (await listWebhooks(request.ctx)).map((row) => presentEndpoint(row, request.ctx.clock.now())),
    }),
  );

  app.delete(
    '/webhooks/:id',
    {
      config: { serviceAction: 'webhooks.manage' },
      schema: {
        tags: ['webhooks'],
        summary: 'Remove a webhook endpoint; its pending deliveries are dropped',
        description: SCOPE,
        params: endpointParams,
        response: { 204: z.null().describe('Removed'), ...errorReplies(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await deleteWebhook(request.ctx, { id: request.params.id });
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/webhooks/:id/rotate-secret',
    {
      config: { serviceAction: 'webhooks.manage' },
      schema: {
        tags: ['webhooks'],
        summary: "Rotate an endpoint's signing secret; the reply carries the new one, shown only once",
        description:
          `${SCOPE} From now on every delivery is signed with the new secret and, until ` +
          '`previous_secret_expires_at` (default: a day), also with the previous one: `webhook-signature` holds ' +
          'both, space-separated, so a receiver verifies with either while it switches over.',
        params: endpointParams,
        body: rotateSecretBody,
        response: { 200: createdEndpointSchema, ...errorReplies(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const rotated = await rotateWebhookSecret(request.ctx, {
        id: request.params.id,
        previousSecretSeconds: request.body?.previous_secret_seconds,
      });
      return { webhook: presentEndpoint(rotated.endpoint, request.ctx.clock.now()), secret: rotated.secret };
    },
  );

  app.get(
    '/webhooks/:id/deliveries',
    {
      config: { serviceAction: 'webhooks.manage' },
      schema: {
        tags: ['webhooks'],
        summary: "An endpoint's delivery log, newest event first",
        description: SCOPE,
        params: endpointParams,
        querystring: deliveriesQuery,
        response: { 200: deliveriesReply, ...errorReplies(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const page = await listDeliveries(request.ctx, {
        id: request.params.id,
        cursor: request.query.cursor ?? null,
        limit: request.query.limit,
      });
      return { deliveries: page.deliveries.map(presentDelivery), next_cursor: page.nextCursor };
    },
  );
};
