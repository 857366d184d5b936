import { AppError } from '../core/errors.ts';
import type { InvitationRow, InviteStatus } from './queries.ts';

// Rules shared by creating and accepting invitations.

/** "Expired" is derived: a pending invitation whose expires_at has passed. It no longer holds a seat. */
export function effectiveStatus(invitation: Pick<InvitationRow, 'status' | 'expiresAt'>, now: Date): InviteStatus {
  if (invitation.status === 'pending' && invitation.expiresAt.getTime() <= now.getTime()) return 'expired';
  return invitation.status;
}

export function seatLimitMessage(limit: number): string {
  return `All ${limit} seats are in use. Revoke a pending invitation or add seats.`;
}

export function seatLimit(limit: number): AppError {
  return new AppError('seat_limit', seatLimitMessage(limit));
}

export function inviteNotFound(): AppError {
  return new AppError('invite_not_found', 'This invitation is not valid. It may have been revoked or already used.');
}

export function alreadyInOrg(): AppError {
  // An owner cannot leave (owner_must_transfer): the message says what each role does first.
  return new AppError(
    'already_in_org',
    'You already belong to an organization: leave it before joining another (its owner transfers ownership to another member, then leaves).',
  );
}
