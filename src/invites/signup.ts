import type { Ctx } from '../core/context.ts';
import { signup, type SessionGrant } from '../auth/service.ts';
import { acceptInTransaction, findByToken } from './accept.ts';

/**
 * Signup with `invite_token`: the account is created and the invitation behind the token accepted
 * in one transaction, through the same core as the accept routes. It does not verify the email:
 * admins can see invitation links, so holding one proves nothing about the mailbox.
 */
export function signupWithInvitation(
  ctx: Ctx,
  input: { email: string; password: string; name: string; inviteToken: string },
): Promise<SessionGrant> {
  return signup(ctx, { email: input.email, password: input.password, name: input.name }, (tx, user) =>
    acceptInTransaction(tx, ctx, (lookup) => findByToken(lookup, input.inviteToken), user, ctx.clock.now()).then(() => undefined),
  );
}
