import { seatLimitOf } from './queries.ts';
import { countMembers } from '../orgs/queries.ts';
import { countPendingInvites } from '../invites/queries.ts';
import type { Queryable } from '../db/client.ts';

export interface SeatUsage {
  /** The active subscription's quantity; 0 without one. */
  seatLimit: number;
  /** Members, disabled ones included: they keep their seat until removed. */
  activeMembers: number;
  /** Unexpired pending invitations: each holds a seat. */
  pendingInvites: number;
}

/**
 * What the seat rule counts, the one place it is counted (invitations, acceptance, checkout and
 * the org view all ask here). Callers that act on the numbers hold the org lock, so no other
 * transaction changes them before commit.
 */
export async function seatUsage(
  db: Queryable,
  orgId: string,
  now: Date,
  options: { exceptInvitationId?: string } = {},
): Promise<SeatUsage> {
  return {
    seatLimit: await seatLimitOf(db, orgId),
    activeMembers: await countMembers(db, orgId),
    pendingInvites: await countPendingInvites(db, orgId, now, options),
  };
}
