import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorReplies } from '../http/errors.ts';
import { checkQuery, checkReply, membershipParams, membershipReply } from './schema.ts';
import { checkAuthz, membershipOf } from './service.ts';

/** The host app's questions about its users (service token with `authz:read`). */
export const authzRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/authz/check',
    {
      // The token and the user asked about are read in one statement (src/http/security.ts).
      config: { serviceAction: 'authz.read', subjectQueryParam: 'user_id' },
      schema: {
        tags: ['host-app'],
        security: [{ service_token: ['authz:read'] }],
        summary: 'May this user do this now? Answered by the policy the API applies (service token with authz:read)',
        description:
          "Reads the user's account and current role fresh on every call (nothing cached): a demotion, removal or " +
          'disabling counts on the next call. A disabled user is never allowed. Refused (`allowed: false`) is a ' +
          '200 with a stable `reason`; an unknown `action` is 400 `invalid_action`, a malformed id 400 `invalid_request`.',
        querystring: checkQuery,
        response: { 200: checkReply, ...errorReplies(400, 401, 403) },
      },
    },
    async (request) => {
      const { user_id: userId, action, project_id: projectId } = request.query;
      const answer = await checkAuthz(request.ctx, { userId, action, projectId });
      return { allowed: answer.allowed, role: answer.role, org_id: answer.orgId, reason: answer.reason };
    },
  );

  app.get(
    '/users/:user_id/membership',
    {
      config: { serviceAction: 'authz.read' },
      schema: {
        tags: ['host-app'],
        security: [{ service_token: ['authz:read'] }],
        summary: "The user's org, role, status and usage limits now (service token with authz:read)",
        description:
          'A user in no org and an id that no user has both answer `{"org": null}`, so the token cannot probe ' +
          'which ids exist. A malformed id is 400 `invalid_request`.',
        params: membershipParams,
        response: { 200: membershipReply, ...errorReplies(400, 401, 403) },
      },
    },
    async (request) => {
      const answer = await membershipOf(request.ctx, { userId: request.params.user_id });
      if (answer.org === null) return { org: null };
      return { org: answer.org, role: answer.role, status: answer.status, usage_limit: answer.usageLimit };
    },
  );
};
