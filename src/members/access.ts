import { assertAllowed, assertRoleCan, type Action } from '../auth/permissions.ts';
import { AppError, assertThat } from '../core/errors.ts';
import { isUuid } from '../core/ids.ts';
import type { Queryable, Tx } from '../db/client.ts';
import { findMember, lockOrg, type MemberRow } from '../orgs/queries.ts';

// How every write to an org starts: lock the org row, then re-read who is acting.

/**
 * Locks the org row, then re-reads the actor's role under the lock: a role checked before the
 * lock could have changed by a concurrent request (a demotion, a transfer).
 */
export async function lockActorInOrg(
  tx: Tx,
  orgId: string,
  userId: string,
  action: Parameters<typeof assertRoleCan>[1],
): Promise<MemberRow & { orgName: string }> {
  const org = await lockOrg(tx, orgId);
  // A second statement, so the role is read after the lock is held (a fresh snapshot).
  return actorAllowed(org, await findMember(tx, orgId, userId), action);
}

/**
 * lockActorInOrg in halves, for a write whose first read after the lock can carry the actor's row
 * (no round trip of its own): lockOrg, then `actorColumn` in that read, then actorAllowed on what
 * it read back (memberOfColumn).
 */
export { lockOrg, memberColumn as actorColumn, memberOfColumn } from '../orgs/queries.ts';

export function actorAllowed(
  org: { name: string } | undefined,
  self: MemberRow | undefined,
  action: Parameters<typeof assertRoleCan>[1],
): MemberRow & { orgName: string } {
  assertRoleCan(self?.role, action);
  if (!self || !org) throw new AppError('forbidden', 'You are not a member of this organization.');
  return { ...self, orgName: org.name };
}

export async function requireMember(tx: Queryable, orgId: string, userId: string): Promise<MemberRow> {
  const member = isUuid(userId) ? await findMember(tx, orgId, userId) : undefined;
  // Ids of other orgs' members answer the same as ids that do not exist.
  assertThat(member, 'not_a_member', 'No member with this id belongs to your organization.');
  return member;
}

/**
 * The start of every write aimed at one member: lock the org, re-read the actor's role under the
 * lock, find the target, and ask the one policy whether the actor may do `action` to them.
 */
export async function lockActorAndTarget(
  tx: Tx,
  orgId: string,
  actorId: string,
  action: Action,
  targetId: string,
): Promise<{ self: MemberRow; target: MemberRow }> {
  const self = await lockActorInOrg(tx, orgId, actorId, action);
  const target = await requireMember(tx, orgId, targetId);
  assertAllowed({ userId: self.userId, role: self.role }, action, { member: target });
  return { self, target };
}
