import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { orgPermissions } from './permissions.ts';
import { errorReplies } from '../http/errors.ts';
import { requireActor } from '../core/context.ts';
import { clearSessionCookies, setSessionCookies } from '../http/security.ts';
import {
  createdTokenReply,
  createTokenBody,
  loginBody,
  meReply,
  sessionReply,
  signupBody,
  tokenIdParams,
  tokenListReply,
  updateProfileBody,
  userSchema,
  verifyEmailBody,
  passwordResetBody,
  passwordResetConfirmBody,
  changePasswordBody,
} from './schema.ts';
import { signupWithInvitation } from '../invites/signup.ts';
import * as auth from './service.ts';

export const authRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/auth/signup',
    {
      schema: {
        tags: ['auth'],
        summary: 'Create an account (and accept an invitation when invite_token is given)',
        security: [],
        body: signupBody,
        response: { 201: sessionReply, ...errorReplies(400, 403, 404, 409, 410) },
      },
    },
    async (request, reply) => {
      const { email, password, name, invite_token: inviteToken } = request.body;
      // Joining by invitation is the invites module's step inside the same signup transaction.
      const grant =
        inviteToken === undefined
          ? await auth.signup(request.ctx, { email, password, name })
          : await signupWithInvitation(request.ctx, { email, password, name, inviteToken });
      setSessionCookies(reply, request.ctx.config, grant.token, grant.expiresAt);
      return reply.status(201).send({ user: presentUser(grant.user), token: grant.token });
    },
  );

  app.post(
    '/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Sign in with email and password',
        security: [],
        body: loginBody,
        response: { 200: sessionReply, ...errorReplies(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      const grant = await auth.login(request.ctx, { ...request.body, clientAddress: request.ip });
      setSessionCookies(reply, request.ctx.config, grant.token, grant.expiresAt);
      return { user: presentUser(grant.user), token: grant.token };
    },
  );

  app.post(
    '/auth/logout',
    {
      schema: {
        tags: ['auth'],
        summary: 'Revoke the current session',
        response: { 204: z.null().describe('Signed out'), ...errorReplies(401, 403) },
      },
    },
    async (request, reply) => {
      await auth.logout(request.ctx);
      clearSessionCookies(reply, request.ctx.config);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/auth/verify-email',
    {
      schema: {
        tags: ['auth'],
        summary: 'Confirm an email address with the token from the verification email',
        security: [],
        body: verifyEmailBody,
        response: { 200: z.object({ user: userSchema }), ...errorReplies(400) },
      },
    },
    async (request) => ({ user: presentUser(await auth.verifyEmail(request.ctx, request.body)) }),
  );

  app.post(
    '/auth/verify-email/resend',
    {
      schema: {
        tags: ['auth'],
        summary: 'Send the signed-in user a new verification email (when the first link expired or went missing)',
        description:
          'At most 3 in an hour per account (then 429 rate_limited with Retry-After). The new link works beside the ' +
          'older ones until each expires (7 days). 409 email_already_verified once the address is confirmed.',
        response: {
          202: z.object({ email: z.string().describe('Where the email was sent: your own address') }),
          ...errorReplies(401, 403, 409, 429),
        },
      },
    },
    async (request, reply) => reply.status(202).send(await auth.resendVerification(request.ctx)),
  );

  app.post(
    '/auth/password-reset',
    {
      schema: {
        tags: ['auth'],
        summary: 'Email a link that sets a new password (for a forgotten one)',
        description:
          'Always 202 {}, for an unknown address too: the reply never tells whether an account exists. The link ' +
          '(PUBLIC_URL/reset-password?token=rs_rst_…) works once, for one hour. At most 3 emails an hour per account; ' +
          'beyond that, and for a disabled account, nothing is sent.',
        security: [],
        body: passwordResetBody,
        response: { 202: z.object({}), ...errorReplies(400) },
      },
    },
    async (request, reply) => {
      await auth.requestPasswordReset(request.ctx, request.body);
      return reply.status(202).send({});
    },
  );

  app.post(
    '/auth/password-reset/confirm',
    {
      schema: {
        tags: ['auth'],
        summary: 'Set a new password with the token of a reset email, and sign in',
        description:
          'Signs in like POST /auth/login. Every other session and API token of the account is revoked, every ' +
          'other reset link stops working, and the address counts as verified (the link reached it).',
        security: [],
        body: passwordResetConfirmBody,
        response: { 200: sessionReply, ...errorReplies(400, 403) },
      },
    },
    async (request, reply) => {
      const grant = await auth.resetPassword(request.ctx, request.body);
      setSessionCookies(reply, request.ctx.config, grant.token, grant.expiresAt);
      return { user: presentUser(grant.user), token: grant.token };
    },
  );

  app.post(
    '/auth/password',
    {
      schema: {
        tags: ['auth'],
        summary: 'Change your password (give the current one)',
        description:
          'The session that asks stays signed in; every other session of the account is signed out and every ' +
          'password reset link stops working. API tokens stay. A notice is emailed to the account. A wrong ' +
          'current password is 403 wrong_password and changes nothing; after 10 wrong ones in 15 minutes, 429 ' +
          'rate_limited with Retry-After. The new password follows the signup rules (400 weak_password).',
        body: changePasswordBody,
        response: { 200: z.object({ user: userSchema }), ...errorReplies(400, 401, 403, 429) },
      },
    },
    async (request) => ({
      user: presentUser(
        await auth.changePassword(request.ctx, {
          currentPassword: request.body.current_password,
          newPassword: request.body.new_password,
        }),
      ),
    }),
  );

  app.get(
    '/me',
    {
      schema: {
        tags: ['auth'],
        summary: 'The signed-in user and their organization',
        response: { 200: meReply, ...errorReplies(401) },
      },
    },
    async (request) => {
      const actor = requireActor(request.ctx);
      return {
        user: { id: actor.userId, email: actor.email, name: actor.name, email_verified: actor.emailVerified },
        org: actor.membership
          ? {
              id: actor.membership.orgId,
              slug: actor.membership.slug,
              name: actor.membership.orgName,
              role: actor.membership.role,
              permissions: orgPermissions(actor),
            }
          : null,
      };
    },
  );

  app.patch(
    '/me',
    {
      schema: {
        tags: ['auth'],
        summary: 'Change your display name (onboarding and profile)',
        body: updateProfileBody,
        response: { 200: z.object({ user: userSchema }), ...errorReplies(400, 401, 403) },
      },
    },
    async (request) => ({ user: presentUser(await auth.updateProfile(request.ctx, request.body)) }),
  );

  app.post(
    '/tokens',
    {
      schema: {
        tags: ['auth'],
        summary: 'Create an API token (the token is shown once)',
        body: createTokenBody,
        response: { 201: createdTokenReply, ...errorReplies(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const created = await auth.createApiToken(request.ctx, request.body);
      return reply
        .status(201)
        .send({ id: created.id, name: created.name, token: created.token, created_at: created.createdAt.toISOString() });
    },
  );

  app.get(
    '/tokens',
    { schema: { tags: ['auth'], summary: 'Your API tokens', response: { 200: tokenListReply, ...errorReplies(401) } } },
    async (request) => {
      const tokens = await auth.listApiTokens(request.ctx);
      return { tokens: tokens.map((token) => ({ id: token.id, name: token.name, created_at: token.createdAt.toISOString() })) };
    },
  );

  app.delete(
    '/tokens/:id',
    {
      schema: {
        tags: ['auth'],
        summary: 'Revoke an API token',
        params: tokenIdParams,
        response: { 204: z.null(), ...errorReplies(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await auth.deleteApiToken(request.ctx, { tokenId: request.params.id });
      return reply.status(204).send(null);
    },
  );
};

function presentUser(user: auth.UserView) {
  return { id: user.id, email: user.email, name: user.name, email_verified: user.emailVerified };
}
