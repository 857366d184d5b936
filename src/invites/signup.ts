import type { Ctx } from '../core/context.ts';
import { AppError } from '../core/errors.ts';
import type { Tx } from '../db/client.ts';

/**
 * Accepts the invitation behind `token` for a user created in the same transaction (signup with
 * `invite_token`). Placeholder until the invitations module lands: every token is unknown.
 */
export async function acceptInvitationOnSignup(
  _tx: Tx,
  _ctx: Ctx,
  _input: { token: string; userId: string; emailNormalized: string },
): Promise<void> {
  throw new AppError('invite_not_found', 'This invitation link is not valid.');
}
