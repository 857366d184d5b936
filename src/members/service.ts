import { recordAudit } from '../audit/record.ts';
import { setDisabled } from '../auth/queries.ts';
import { authorize } from '../auth/permissions.ts';
import type { Ctx } from '../core/context.ts';
import { requireActor } from '../core/context.ts';
import { AppError } from '../core/errors.ts';
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
import { lockActorInOrg, requireMember } from './access.ts';

// Every operation on an org's members: list, change role, remove, leave, transfer ownership,
// disable, set usage limits. Each locks the org row first (members/access.ts).

/** Large enough for any real allowance, small enough to stay exact in a JavaScript number. */
export const MAX_LIMIT = 1_000_000_000_000_000;

export async function listMembers(
  ctx: Ctx,
  input: { limit: number; cursor: string | null; q: string | null; role: Role | null; status: 'active' | 'disabled' | null },
): Promise<{ members: MemberRow[]; nextCursor: string | null }> {
  const actor = authorize(requireActor(ctx), 'members.list');
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

function encodeCursor(member: MemberRow): string {
  return Buffer.from(`${member.joinedAt.toISOString()}|${member.userId}`).toString('base64url');
}

function decodeCursor(cursor: string): { joinedAt: Date; userId: string } {
  const [joinedAt, userId] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const date = new Date(joinedAt ?? '');
  if (!userId || Number.isNaN(date.getTime()) || !/^[0-9a-f-]{36}$/.test(userId)) {
    throw new AppError('invalid_cursor', 'The cursor is not valid. Start again from the first page.');
  }
  return { joinedAt: date, userId };
}

export async function changeRole(ctx: Ctx, input: { userId: string; role: 'admin' | 'member' }): Promise<MemberRow> {
  const actor = authorize(requireActor(ctx), 'members.change_role');
  if (input.userId === actor.userId) {
    throw new AppError('cannot_change_own_role', 'You cannot change your own role. Ask another admin.');
  }
  const orgId = actor.membership.orgId;
  return ctx.db.transaction(async (tx) => {
    await lockActorInOrg(tx, orgId, actor.userId, 'members.change_role');
    const target = await requireMember(tx, orgId, input.userId);
    if (target.role === 'owner') {
      throw new AppError('cannot_change_owner', "The owner's role changes only by transferring ownership.");
    }
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
    return { ...target, role: input.role };
  });
}

export async function removeMember(ctx: Ctx, input: { userId: string }): Promise<void> {
  const actor = authorize(requireActor(ctx), 'members.remove');
  if (input.userId === actor.userId) {
    throw new AppError('cannot_remove_self', 'You cannot remove yourself. Use "Leave organization" instead.');
  }
  const orgId = actor.membership.orgId;
  await ctx.db.transaction(async (tx) => {
    await lockActorInOrg(tx, orgId, actor.userId, 'members.remove');
    const target = await requireMember(tx, orgId, input.userId);
    if (target.role === 'owner') {
      throw new AppError('cannot_remove_owner', 'The owner cannot be removed. Transfer ownership first.');
    }
    await deleteMembership(tx, ctx, orgId, target, 'member.removed');
  });
}

export async function leaveOrg(ctx: Ctx): Promise<void> {
  const actor = authorize(requireActor(ctx), 'org.leave');
  const orgId = actor.membership.orgId;
  await ctx.db.transaction(async (tx) => {
    await lockOrg(tx, orgId);
    const self = await requireMember(tx, orgId, actor.userId);
    if (self.role === 'owner') {
      throw new AppError('owner_must_transfer', 'Transfer ownership to another member before you leave.');
    }
    await deleteMembership(tx, ctx, orgId, self, 'member.left');
  });
}

async function deleteMembership(tx: Tx, ctx: Ctx, orgId: string, target: MemberRow, action: string): Promise<void> {
  if (target.role === 'admin' && (await countOtherAdmins(tx, orgId, target.userId)) === 0) {
    throw new AppError('last_admin', 'This is the last admin of the organization. Make someone else an admin first.');
  }
  await deleteMembershipRow(tx, orgId, target.userId);
  await recordAudit(tx, ctx, {
    orgId,
    action,
    targetType: 'user',
    targetId: target.userId,
    before: { email: target.email, role: target.role },
    after: null,
  });
}

export async function transferOwnership(
  ctx: Ctx,
  input: { userId: string },
): Promise<{ owner: MemberRow; previousOwner: MemberRow }> {
  const actor = authorize(requireActor(ctx), 'org.transfer_ownership');
  const orgId = actor.membership.orgId;
  if (input.userId === actor.userId) {
    throw new AppError('already_owner', 'You already own this organization. Choose another member.');
  }
  return ctx.db.transaction(async (tx) => {
    // Under the org lock, a concurrent transfer that won first has already made us an admin.
    const self = await lockActorInOrg(tx, orgId, actor.userId, 'org.transfer_ownership');
    const target = await requireMember(tx, orgId, input.userId);
    if (target.status === 'disabled') {
      throw new AppError('member_disabled', 'Ownership cannot go to a disabled member.');
    }
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
 * every session and API token of the user fails from the next request on, in every process;
 * sessions are also deleted. The member keeps their seat until removed; only the operator CLI
 * re-enables.
 */
export async function disableMember(ctx: Ctx, input: { userId: string }): Promise<MemberRow> {
  const actor = authorize(requireActor(ctx), 'members.disable');
  if (input.userId === actor.userId) {
    throw new AppError('cannot_disable_self', 'You cannot disable your own account. Ask another admin.');
  }
  const orgId = actor.membership.orgId;
  return ctx.db.transaction(async (tx) => {
    await lockActorInOrg(tx, orgId, actor.userId, 'members.disable');
    const target = await requireMember(tx, orgId, input.userId);
    if (target.role === 'owner') {
      throw new AppError('cannot_disable_owner', 'The owner cannot be disabled. Transfer ownership first.');
    }
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
    return { ...target, status: 'disabled' };
  });
}

/**
 * Sets or clears a member's daily and monthly limits (null clears). Takes back every slice's
 * share in the same transaction, so no request can use a share of the old limit afterwards.
 */
export async function setUsageLimit(
  ctx: Ctx,
  input: { userId: string; daily: unknown; monthly: unknown },
): Promise<MemberRow> {
  const actor = authorize(requireActor(ctx), 'usage.set_limit');
  const daily = parseLimit(input.daily, 'daily');
  const monthly = parseLimit(input.monthly, 'monthly');
  const orgId = actor.membership.orgId;
  return ctx.db.transaction(async (tx) => {
    await lockActorInOrg(tx, orgId, actor.userId, 'usage.set_limit');
    const target = await requireMember(tx, orgId, input.userId);
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
    throw new AppError(
      'invalid_limit',
      `Set the ${name} limit to a whole number from 0 to ${MAX_LIMIT}, or null for no limit.`,
      { field: name },
    );
  }
  return value;
}

