import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorReplies } from '../http/errors.ts';
import { presentMember } from '../orgs/present.ts';
import { memberReply, userIdParams } from '../orgs/schema.ts';
import { disableMember } from './service.ts';

export const memberRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/org/members/:user_id/disable',
    {
      schema: {
        tags: ['organization'],
        summary: "Disable a member: every session and API token stops working at once; the seat stays taken",
        description: 'There is no API to re-enable a user: the operator CLI does (`roster admin enable-user`).',
        params: userIdParams,
        response: { 200: memberReply, ...errorReplies(400, 401, 403, 404) },
      },
    },
    async (request) => ({
      member: presentMember(await disableMember(request.ctx, { userId: request.params.user_id }), request.ctx.actor),
    }),
  );
};
