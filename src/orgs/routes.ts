import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorReplies } from '../http/errors.ts';
import { orgPermissions } from '../auth/permissions.ts';
import { presentMember, presentOrg } from './present.ts';
import {
  changeRoleBody,
  createOrgBody,
  memberReply,
  membersQuery,
  membersReply,
  orgReply,
  ownOrgReply,
  renameOrgBody,
  transferBody,
  transferReply,
  userIdParams,
} from './schema.ts';
import * as members from '../members/service.ts';
import * as orgs from './service.ts';

export const orgRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/org',
    {
      schema: {
        tags: ['organization'],
        summary: 'Create an organization (needs a Team or Enterprise subscription); the creator becomes owner',
        body: createOrgBody,
        response: { 201: orgReply, ...errorReplies(400, 401, 402, 403, 409) },
      },
    },
    async (request, reply) => reply.status(201).send({ org: presentOrg(await orgs.createOrg(request.ctx, request.body)) }),
  );

  app.get(
    '/org',
    {
      schema: {
        tags: ['organization'],
        summary: 'Your organization, its members and your role ({} when you belong to none)',
        response: { 200: ownOrgReply, ...errorReplies(401) },
      },
    },
    async (request, reply) => {
      const own = await orgs.getOwnOrg(request.ctx);
      if (!own) return reply.send({});
      const viewer = request.ctx.actor;
      return reply.send({
        org: presentOrg(own),
        members: own.members.map((member) => presentMember(member, viewer)),
        members_total: own.seats.activeMembers,
        members_next_cursor: own.membersNextCursor,
        role: own.role,
        permissions: viewer ? orgPermissions(viewer) : [],
      });
    },
  );

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
      return { members: page.members.map((member) => presentMember(member, request.ctx.actor)), next_cursor: page.nextCursor };
    },
  );

  app.patch(
    '/org',
    {
      schema: {
        tags: ['organization'],
        summary: 'Rename the organization',
        body: renameOrgBody,
        response: { 200: orgReply, ...errorReplies(400, 401, 403) },
      },
    },
    async (request) => ({ org: presentOrg(await orgs.renameOrg(request.ctx, request.body)) }),
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
        request.ctx.actor,
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
      const viewer = request.ctx.actor?.membership
        ? { ...request.ctx.actor, membership: { ...request.ctx.actor.membership, role: 'admin' as const } }
        : request.ctx.actor;
      return { owner: presentMember(result.owner, viewer), previous_owner: presentMember(result.previousOwner, viewer) };
    },
  );
};
