import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { userActorOf } from '../core/context.ts';
import { z } from 'zod';
import { errorReplies } from '../http/errors.ts';
import { presentMember } from '../orgs/present.ts';
import {
  changeRoleBody,
  memberReply,
  membersQuery,
  membersReply,
  transferBody,
  transferReply,
  userIdParams,
} from '../orgs/schema.ts';
import { usageLimitBody, usageLimitReply } from '../usage/schema.ts';
import * as members from './service.ts';

// Every route that acts on an org's members (the org itself is in src/orgs/routes.ts).
export const memberRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/org/members',
    {
      schema: {
        tags: ['organization'],
        summary: 'One page of members, searchable by email or name prefix',
        querystring: membersQuery,
        response: { 200: membersReply, ...errorReplies(400, 401, 403) },
      },
    },
    async (request) => {
      const query = request.query;
      const page = await members.listMembers(request.ctx, {
        limit: query.limit,
        cursor: query.cursor ?? null,
        q: query.q ?? null,
        role: query.role ?? null,
        status: query.status ?? null,
      });
      return {
        members: page.members.map((member) => presentMember(member, userActorOf(request.ctx))),
        next_cursor: page.nextCursor,
      };
    },
  );

  app.put(
    '/org/members/:user_id/role',
    {
      schema: {
        tags: ['organization'],
        summary: "Change a member's role (admin or member)",
        params: userIdParams,
        body: changeRoleBody,
        response: { 200: memberReply, ...errorReplies(400, 401, 403, 404, 409) },
      },
    },
    async (request) => ({
      member: presentMember(
        await members.changeRole(request.ctx, { userId: request.params.user_id, role: request.body.role }),
        userActorOf(request.ctx),
      ),
    }),
  );

  app.delete(
    '/org/members/:user_id',
    {
      schema: {
        tags: ['organization'],
        summary: 'Remove a member from the organization',
        params: userIdParams,
        response: { 204: z.null(), ...errorReplies(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await members.removeMember(request.ctx, { userId: request.params.user_id });
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/org/leave',
    {
      schema: {
        tags: ['organization'],
        summary: 'Leave your organization (the owner must transfer ownership first)',
        response: { 204: z.null(), ...errorReplies(401, 403, 409) },
      },
    },
    async (request, reply) => {
      await members.leaveOrg(request.ctx);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/org/transfer-ownership',
    {
      schema: {
        tags: ['organization'],
        summary: 'Make another member the owner; you become an admin',
        body: transferBody,
        response: { 200: transferReply, ...errorReplies(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const result = await members.transferOwnership(request.ctx, { userId: request.body.user_id });
      // The caller is an admin now: the member permissions follow their new role.
      const actor = userActorOf(request.ctx);
      const viewer = actor?.membership ? { ...actor, membership: { ...actor.membership, role: 'admin' as const } } : actor;
      return { owner: presentMember(result.owner, viewer), previous_owner: presentMember(result.previousOwner, viewer) };
    },
  );

  app.post(
    '/org/members/:user_id/disable',
    {
      schema: {
        tags: ['organization'],
        summary: 'Disable a member: every session and API token stops working at once; the seat stays taken',
        description:
          'Sessions end and API tokens are deleted, so re-enabling brings none back. There is no API to re-enable a user: ' +
          'the operator CLI does (`roster admin enable-user`). Disabling a disabled member again is a 200 that changes ' +
          "nothing, and a disabled member's `permissions` no longer list `disable`.",
        params: userIdParams,
        response: { 200: memberReply, ...errorReplies(400, 401, 403, 404) },
      },
    },
    async (request) => ({
      member: presentMember(
        await members.disableMember(request.ctx, { userId: request.params.user_id }),
        userActorOf(request.ctx),
      ),
    }),
  );

  app.put(
    '/org/members/:user_id/usage-limit',
    {
      schema: {
        tags: ['usage'],
        summary: "Set or clear a member's daily and monthly usage limits (null: no limit)",
        params: userIdParams,
        body: usageLimitBody,
        response: { 200: usageLimitReply, ...errorReplies(400, 401, 403, 404) },
      },
    },
    async (request) => ({
      member: presentMember(
        await members.setUsageLimit(request.ctx, { userId: request.params.user_id, ...request.body }),
        userActorOf(request.ctx),
      ),
    }),
  );
};
