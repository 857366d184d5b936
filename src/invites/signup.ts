import type { Ctx } from '../core/context.ts';
import type { Tx } from '../db/client.ts';
import { acceptInTransaction, findByToken } from './accept.ts';

/**
 * Accepts the invitation behind `token` for a user created in the same transaction (signup with
 * `invite_token`), through the same core as the accept routes. It does not verify the email:
 * admins can see invitation links, so holding one proves nothing about the mailbox.
 */
export async function acceptInvitationOnSignup(
  tx: Tx,
  ctx: Ctx,
  input: { token: string; userId: string; emailNormalized: string },
): Promise<void> {
  await acceptInTransaction(
    tx,
    ctx,
    (lookup) => findByToken(lookup, input.token),
    { userId: input.userId, emailNormalized: input.emailNormalized },
    ctx.clock.now(),
  );
}
