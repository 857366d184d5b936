import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorReplies } from '../http/errors.ts';
import { presentedToken } from '../http/security.ts';
import { orgUsageQuery, orgUsageReply, ownUsageReply, recordUsageBody, usageReceiptReply } from './schema.ts';
import * as usage from './service.ts';

export const usageRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/usage',
    {
      // Hot path: the batch authenticates the token (a service token too, with its scope) in the
      // same statement as the counter update.
      config: { authenticatesItself: true, authenticatesServiceToken: true, serviceAction: 'usage.record' },
      // A body refused before the handler (invalid, over the size limit, not JSON, broken JSON) with a
      // service token that may not record usage answers 403 first, as the scope check of every other
      // service route does (src/http/service-scopes.ts). Thrown on, an error goes to the app's handler.
      // eslint-disable-next-line @typescript-eslint/no-misused-promises -- Fastify awaits a promise from an error handler (lib/error-handler.js); its type says void
      errorHandler: async (error, request) => {
        // The request hook made the ctx (null before it); a body that was read and valid reached the handler.
        if (request.ctx !== null && (request.body === undefined || error.validation !== undefined)) {
          await usage.refuseServiceCallerFirst(request.ctx, presentedToken(request));
        }
        throw error;
      },
      // Hot path: the answer is written with JSON.stringify, not checked against its schema first
      // (the schema still documents it, and the handler's return type is checked against it when
      // compiling); the check was about 7% of the server's CPU per request (bench/README.md, "The
      // batch on its own").
      serializerCompiler: () => (data) => JSON.stringify(data),
      schema: {
        tags: ['usage'],
        summary: "Record usage of an activity; refused whole with 429 when it would exceed a limit or the org's allocation",
        description:
          'Limits count the total across activity types over the UTC day and month. A refusal records nothing ' +
          'and carries a Retry-After header with the seconds until the exceeded period resets. A service token ' +
          'with usage:write records on behalf of `user_id` (404 not_a_member, 403 user_disabled); `key` makes a ' +
          'retried request count once and answer the first receipt, also once its member is disabled.',
        body: recordUsageBody,
        response: { 201: usageReceiptReply, ...errorReplies(400, 401, 403, 404, 409, 429) },
      },
    },
    async (request, reply) => {
      const { activity, quantity, user_id: userId, key } = request.body;
      const credential = presentedToken(request) ?? null;
      const receipt = await usage.recordUsage(request.ctx, { activity, quantity, userId, key, credential });
      return reply.status(201).send(receipt);
    },
  );

  app.get(
    '/usage',
    {
      schema: {
        tags: ['usage'],
        summary: 'Your own usage today and this month, by activity, with your limits',
        response: { 200: ownUsageReply, ...errorReplies(401, 403) },
      },
    },
    async (request) => {
      const own = await usage.readOwnUsage(request.ctx);
      return {
        day: { used: own.day.used, limit: own.day.limit, by_activity: own.day.byActivity },
        month: { used: own.month.used, limit: own.month.limit, by_activity: own.month.byActivity },
        allocation: own.allocation,
      };
    },
  );

  app.get(
    '/org/usage',
    {
      schema: {
        tags: ['usage'],
        summary:
          "One page of members' usage by activity in the current UTC day or month, with their limits (keyset cursor as GET /org/members)",
        querystring: orgUsageQuery,
        response: { 200: orgUsageReply, ...errorReplies(400, 401, 403) },
      },
    },
    async (request) => {
      const report = await usage.readOrgUsage(request.ctx, {
        period: request.query.period,
        limit: request.query.limit,
        cursor: request.query.cursor ?? null,
      });
      return {
        period: report.period,
        start: report.start.toISOString(),
        end: report.end.toISOString(),
        allocation: report.allocation,
        members: report.members.map(({ member, total, byActivity }) => ({
          user_id: member.userId,
          email: member.email,
          display_name: member.displayName,
          status: member.status,
          total,
          by_activity: byActivity,
          limits: {
            daily: member.usageLimit?.daily ?? null,
            monthly: member.usageLimit?.monthly ?? null,
          },
        })),
        next_cursor: report.nextCursor,
      };
    },
  );
};
