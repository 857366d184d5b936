import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorReplies } from '../http/errors.ts';
import { presentAcceptance, presentBulk, presentInvite, presentPublicInvite } from './present.ts';
import {
  acceptByIdParams,
  acceptReply,
  bulkInviteBody,
  bulkInviteReply,
  createInviteBody,
  inviteIdParams,
  inviteListReply,
  inviteReply,
  publicInviteReply,
  tokenParams,
} from './schema.ts';
import * as acceptance from './accept.ts';
import * as invites from './service.ts';

export const inviteRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/org/invite',
    {
      schema: {
        tags: ['invitations'],
        summary: 'Invite one address (queues the invitation email); the invitation holds a seat while pending',
        body: createInviteBody,
        // 429: re-inviting one address is limited as resending is (docs/api.md).
        response: { 201: inviteReply, ...errorReplies(400, 401, 403, 409, 429) },
      },
    },
    async (request, reply) =>
      reply.status(201).send({ invite: presentInvite(await invites.inviteOne(request.ctx, request.body)) }),
  );

  app.post(
    '/org/invites/bulk',
    {
      schema: {
        tags: ['invitations'],
        summary: 'Invite many addresses from text or a list; one result per distinct address (dry_run previews)',
        body: bulkInviteBody,
        response: { 200: bulkInviteReply, ...errorReplies(400, 401, 403) },
      },
    },
    async (request) => {
      const body = request.body;
      const outcome = await invites.inviteBulk(request.ctx, {
        text: body.text,
        emails: body.emails,
        role: body.role,
        dryRun: body.dry_run,
      });
      return presentBulk(outcome);
    },
  );

  app.get(
    '/org/invites',
    {
      schema: {
        tags: ['invitations'],
        summary: 'Pending invitations, including expired ones (status "expired"), newest first',
        response: { 200: inviteListReply, ...errorReplies(401, 403) },
      },
    },
    async (request) => ({ invites: (await invites.listInvites(request.ctx)).map(presentInvite) }),
  );

  app.delete(
    '/org/invites/:id',
    {
      schema: {
        tags: ['invitations'],
        summary: 'Revoke a pending invitation: its link stops working and its seat is free at once',
        params: inviteIdParams,
        response: { 204: z.null(), ...errorReplies(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await invites.revokeInvite(request.ctx, { inviteId: request.params.id });
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/org/invites/:id/resend',
    {
      schema: {
        tags: ['invitations'],
        summary: 'Send a pending or expired invitation again with a fresh link and expiry (the old link stops working)',
        params: inviteIdParams,
        response: { 200: inviteReply, ...errorReplies(401, 403, 404, 409, 429) },
      },
    },
    async (request) => ({ invite: presentInvite(await invites.resendInvite(request.ctx, { inviteId: request.params.id })) }),
  );

  app.get(
    '/invites/:token',
    {
      schema: {
        tags: ['invitations'],
        summary: 'What an invitation link is for (org, inviter, email, role, status); never accepts it',
        security: [],
        params: tokenParams,
        response: { 200: publicInviteReply, ...errorReplies(404) },
      },
    },
    async (request) => presentPublicInvite(await acceptance.lookupInvite(request.ctx, { token: request.params.token })),
  );

  app.post(
    '/invites/:token/accept',
    {
      schema: {
        tags: ['invitations'],
        summary: 'Accept an invitation by its link token (signed-in user whose email matches)',
        params: tokenParams,
        response: { 200: acceptReply, ...errorReplies(401, 403, 404, 409, 410) },
      },
    },
    async (request) => presentAcceptance(await acceptance.acceptByToken(request.ctx, { token: request.params.token })),
  );

  app.post(
    '/org/invite/:invite_id/accept',
    {
      schema: {
        tags: ['invitations'],
        summary: 'Accept an invitation by id (signed-in user with a verified email that matches)',
        params: acceptByIdParams,
        response: { 200: acceptReply, ...errorReplies(401, 403, 404, 409, 410) },
      },
    },
    async (request) => presentAcceptance(await acceptance.acceptById(request.ctx, { inviteId: request.params.invite_id })),
  );
};
