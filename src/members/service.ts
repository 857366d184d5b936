import { recordAudit, recordAudits } from '../audit/record.ts';
import { setDisabled } from '../auth/queries.ts';
import { assertAllowed, authorize } from '../auth/permissions.ts';
import type { Ctx } from '../core/context.ts';
import { requireCaller } from '../core/context.ts';
import { AppError } from '../core/errors.ts';
import { isUuid } from '../core/ids.ts';
import type { Tx } from '../db/client.ts';
import type { Role } from '../db/schema.ts';
import {
  countOtherAdmins,
  deleteMembership as deleteMembershipRow,
  lockOrg,
  memberPage,
  setMemberRole,
  type MemberRow,
} from '../orgs/queries.ts';
import { drainShares, findLimits, upsertLimits } from '../usage/queries.ts';
import { revokePendingAdminInvitationsBy } from '../invites/queries.ts';
import { leaveAllProjects } from '../projects/queries.ts';
import { lockActorAndTarget, requireMember } from './access.ts';

// Every operation on an org's members: list, change role, remove, leave, transfer ownership,
// disable, set usage limits. Each locks the org row first (members/access.ts).

/** Large enough for any real allowance, small enough to stay exact in a JavaScript number. */
export const MAX_LIMIT = 1_000_000_000_000_000;

export async function listMembers(
  ctx: Ctx,
  input: { limit: number; cursor: string | null; q: string | null; role: Role | null; status: 'active' | 'disabled' | null },
): Promise<{ members: MemberRow[]; nextCursor: string | null }> {
  const actor = authorize(requireCaller(ctx), 'members.list');
  const members = await memberPage(ctx.db, {
    orgId: actor.membership.orgId,
    limit: input.limit + 1,
    after: input.cursor ? decodeCursor(input.cursor) : null,
    prefix: input.q?.trim() || null,
    role: input.role,
    status: input.status,
  });
  const page = members.slice(0, input.limit);
  const last = page[page.length - 1];
  return { members: page, nextCursor: members.length > input.limit && last ? encodeCursor(last) : null };
}

/** The keyset cursor of member pages (GET /org/members, GET /org/usage): the last member's joined_at and id. */
export function encodeCursor(member: MemberRow): string {
  return Buffer.from(`${member.joinedAtKey ?? member.joinedAt.toISOString()}|${member.userId}`).toString('base64url');
}

const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3,6}Z$/;

export function decodeCursor(cursor: string): { joinedAtKey: string; userId: string } {
  const [joinedAtKey, userId] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!userId || !joinedAtKey || !CURSOR_TIME.test(joinedAtKey) || Number.isNaN(Date.parse(joinedAtKey)) || !isUuid(userId)) {
    throw new AppError('invalid_cursor', 'The cursor is not valid. Start again from the first page.');
  }
  return { joinedAtKey, userId };
}

export async function changeRole(ctx: Ctx, input: { userId: string; role: 'admin' | 'member' }): Promise<MemberRow> {
  const actor = authorize(requireCaller(ctx), 'members.change_role');
  const orgId = actor.membership.orgId;
  return ctx.db.transaction(async (tx) => {
    const { target } = await lockActorAndTarget(tx, orgId, actor.userId, 'members.change_role', input.userId);
    if (target.role === input.role) return target;
    if (target.role === 'admin' && (await countOtherAdmins(tx, orgId, target.userId)) === 0) {
      throw new AppError('last_admin', 'This is the last admin of the organization. Make someone else an admin first.');
    }
    await setMemberRole(tx, { orgId, userId: target.userId, role: input.role });
    await recordAudit(tx, ctx, {
      orgId,
      action: 'member.role_changed',
      targetType: 'user',
      targetId: target.userId,
      before: { role: target.role },
      after: { role: input.role },
    });
    if (input.role === 'member') await revokeInvitesOfFormerAdmin(tx, ctx, orgId, target);
    return { ...target, role: input.role };
  });
}

export async function removeMember(ctx: Ctx, input: { userId: string }): Promise<ReleasedMember> {
  const actor = authorize(requireCaller(ctx), 'members.remove');
  const orgId = actor.membership.orgId;
  return ctx.db.transaction(async (tx) => {
    const { target } = await lockActorAndTarget(tx, orgId, actor.userId, 'members.remove', input.userId);
    return deleteMembership(tx, ctx, orgId, target, 'member.removed');
  });
}

export async function leaveOrg(ctx: Ctx): Promise<void> {
  const actor = authorize(requireCaller(ctx), 'org.leave');
  const orgId = actor.membership.orgId;
  await ctx.db.transaction(async (tx) => {
    await lockOrg(tx, orgId);
    const self = await requireMember(tx, orgId, actor.userId);
    assertAllowed({ userId: self.userId, role: self.role }, 'org.leave');
    await deleteMembership(tx, ctx, orgId, self, 'member.left');
  });
}

async function deleteMembership(
  tx: Tx,
  ctx: Ctx,
  orgId: string,
  target: MemberRow,
  action: 'member.removed' | 'member.left',
): Promise<ReleasedMember> {
  if (target.role === 'admin' && (await countOtherAdmins(tx, orgId, target.userId)) === 0) {
    throw new AppError('last_admin', 'This is the last admin of the organization. Make someone else an admin first.');
  }
  await recordAudit(tx, ctx, {
    orgId,
    action,
    targetType: 'user',
    targetId: target.userId,
    before: { email: target.email, role: target.role },
    after: null,
  });
  // The foreign key would cascade too; leaving explicitly first audits each project.
  const released = await releaseMember(tx, ctx, orgId, target, action === 'member.left' ? 'member_left' : 'member_removed');
  await deleteMembershipRow(tx, orgId, target.userId);
  return released;
}

/**
 * What a member gives up when removed, leaving or disabled, in that same transaction: every
 * project they were on, and (a former admin) the pending admin invitations they sent.
 */
export async function releaseMember(
  tx: Tx,
  ctx: Ctx,
  orgId: string,
  member: { userId: string; role: Role },
  reason: 'member_removed' | 'member_left' | 'member_disabled',
): Promise<ReleasedMember> {
  const projectsLeft = await removeFromAllProjects(tx, ctx, orgId, member.userId, reason);
  const adminInvitesRevoked = await revokeInvitesOfFormerAdmin(tx, ctx, orgId, member);
  return { projectsLeft, adminInvitesRevoked };
}

/** What `releaseMember` did, for an operator's report. */
export interface ReleasedMember {
  projectsLeft: number;
  adminInvitesRevoked: number;
}

/**
 * Contract: a member removed from the org, or disabled, leaves every project at once, in the
 * transaction that removes or disables them (audited per project, with the reason). The
 * last-editor rule does not hold them back: a project may be left with no editor, and owners and
 * admins still manage it.
 */
async function removeFromAllProjects(
  tx: Tx,
  ctx: Ctx,
  orgId: string,
  userId: string,
  reason: 'member_removed' | 'member_left' | 'member_disabled',
): Promise<number> {
  const left = await leaveAllProjects(tx, orgId, userId);
  await recordAudits(
    tx,
    ctx,
    left.map((project) => ({
      orgId,
      action: 'project.member_removed',
      targetType: 'project',
      targetId: project.projectId,
      before: { user_id: userId, editor: project.editor },
      after: { reason },
    })),
  );
  return left.length;
}

/**
 * Security rule: when an admin is removed, disabled, demoted or leaves, the pending `admin`
 * invitations they sent are revoked in the same transaction (audited); their `member`
 * invitations stay. Without it, a removed admin's invitation could still make someone an admin.
 */
export async function revokeInvitesOfFormerAdmin(
  tx: Tx,
  ctx: Ctx,
  orgId: string,
  former: { userId: string; role: Role },
): Promise<number> {
  if (former.role !== 'admin' && former.role !== 'owner') return 0;
  const revoked = await revokePendingAdminInvitationsBy(tx, orgId, former.userId, ctx.clock.now());
  await recordAudits(
    tx,
    ctx,
    revoked.map((invitation) => ({
      orgId,
      action: 'invite.revoked',
      targetType: 'invitation',
      targetId: invitation.id,
      before: { email: invitation.email, role: 'admin', status: 'pending' },
      after: { status: 'revoked', reason: 'inviter_lost_admin_rights' },
    })),
  );
  return revoked.length;
}

export async function transferOwnership(
  ctx: Ctx,
  input: { userId: string },
): Promise<{ owner: MemberRow; previousOwner: MemberRow }> {
  const actor = authorize(requireCaller(ctx), 'org.transfer_ownership');
  const orgId = actor.membership.orgId;
  return ctx.db.transaction(async (tx) => {
    // Under the org lock, a concurrent transfer that won first has already made us an admin.
    const { self, target } = await lockActorAndTarget(tx, orgId, actor.userId, 'org.transfer_ownership', input.userId);
    // Demote first: the partial unique index allows at most one owner at any statement.
    await setMemberRole(tx, { orgId, userId: actor.userId, role: 'admin' });
    await setMemberRole(tx, { orgId, userId: target.userId, role: 'owner' });
    await recordAudit(tx, ctx, {
      orgId,
      action: 'org.ownership_transferred',
      targetType: 'user',
      targetId: target.userId,
      before: { owner: actor.userId, new_owner_role: target.role },
      after: { owner: target.userId, previous_owner_role: 'admin' },
    });
    return { owner: { ...target, role: 'owner' }, previousOwner: { ...self, role: 'admin' } };
  });
}

/**
 * Disables a member's account. Authentication re-reads `users.disabled_at` on every request, so
 * every session and API token of the user fails from the next request on, in every process; both
 * are also deleted, so re-enabling brings none back. The member keeps their seat until removed;
 * only the operator CLI re-enables.
 */
export async function disableMember(ctx: Ctx, input: { userId: string }): Promise<MemberRow> {
  const actor = authorize(requireCaller(ctx), 'members.disable');
  const orgId = actor.membership.orgId;
  return ctx.db.transaction(async (tx) => {
    const { target } = await lockActorAndTarget(tx, orgId, actor.userId, 'members.disable', input.userId);
    if (target.status === 'disabled') return target;
    await recordAudit(tx, ctx, {
      orgId,
      action: 'member.disabled',
      targetType: 'user',
      targetId: target.userId,
      before: { email: target.email, status: 'active' },
      after: { email: target.email, status: 'disabled' },
    });
    await setDisabled(tx, target.userId, ctx.clock.now());
    await releaseMember(tx, ctx, orgId, target, 'member_disabled');
    return { ...target, status: 'disabled' };
  });
}

/**
 * Sets or clears a member's daily and monthly limits (null clears). Takes back every slice's
 * share in the same transaction, so no request can use a share of the old limit afterwards.
 */
export async function setUsageLimit(ctx: Ctx, input: { userId: string; daily: unknown; monthly: unknown }): Promise<MemberRow> {
  const actor = authorize(requireCaller(ctx), 'usage.set_limit');
  const daily = parseLimit(input.daily, 'daily');
  const monthly = parseLimit(input.monthly, 'monthly');
  const orgId = actor.membership.orgId;
  return ctx.db.transaction(async (tx) => {
    const { target } = await lockActorAndTarget(tx, orgId, actor.userId, 'usage.set_limit', input.userId);
    const before = await findLimits(tx, orgId, target.userId);
    const after = { daily, monthly };
    if (before.daily === daily && before.monthly === monthly) return { ...target, usageLimit: after };
    await upsertLimits(tx, { orgId, userId: target.userId, daily, monthly, now: ctx.clock.now() });
    await recordAudit(tx, ctx, {
      orgId,
      action: 'member.usage_limit_changed',
      targetType: 'user',
      targetId: target.userId,
      before: { daily: before.daily, monthly: before.monthly },
      after,
    });
    await drainShares(tx, orgId, target.userId);
    return { ...target, usageLimit: after };
  });
}

function parseLimit(value: unknown, name: 'daily' | 'monthly'): number | null {
  if (value === null) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_LIMIT) {
    throw new AppError('invalid_limit', `Set the ${name} limit to a whole number from 0 to ${MAX_LIMIT}, or null for no limit.`, {
      field: name,
    });
  }
  return value;
}
