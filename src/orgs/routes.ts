import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { userActorOf } from '../core/context.ts';
import { orgPermissions } from '../auth/permissions.ts';
import { errorReplies } from '../http/errors.ts';
import { presentMember, presentOrg } from './present.ts';
import { createOrgBody, orgReply, ownOrgReply, renameOrgBody } from './schema.ts';
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
      const viewer = userActorOf(request.ctx);
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
};
