import { seatLimitWith } from './queries.ts';
import { memberCount } from '../orgs/queries.ts';
import { pendingInviteCount } from '../invites/queries.ts';
import type { SQL } from 'drizzle-orm';
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
 * transaction changes them before commit. `alongside` are more values of the caller's (scalar
 * subqueries by name) read in the same statement: an invitation reads its seats, its inviter and
 * its address's state in one round trip.
 */
export async function seatUsage(
  db: Queryable,
  orgId: string,
  now: Date,
  options: { exceptInvitationId?: string; alongside?: { name: string; values: Record<string, SQL> } } = {},
): Promise<SeatUsage & { alongside: Record<string, unknown> }> {
  // One statement: the three numbers come from one snapshot in one round-trip.
  const counts = { activeMembers: memberCount(orgId), pendingInvites: pendingInviteCount(orgId, now, options) };
  return seatLimitWith(db, orgId, counts, options.alongside);
}
