import { and, eq, sql } from 'drizzle-orm';
import { recordAudit } from '../audit/record.ts';
import { assertRoleCan, authorize } from '../auth/permissions.ts';
import { storageLimitBytes } from '../billing/plans.ts';
import type { Ctx } from '../core/context.ts';
import { requireActor } from '../core/context.ts';
import { AppError, assertThat, isUniqueViolation } from '../core/errors.ts';
import { isUuid } from '../core/ids.ts';
import { queryRows, type Queryable, type Tx } from '../db/client.ts';
import { memberships, orgs, subscriptions, type Role } from '../db/schema.ts';
import {
  allMembers,
  countMembersWithoutLimit,
  countOtherAdmins,
  countSeats,
  findMember,
  findOrg,
  lockOrg,
  memberPage,
  type MemberRow,
  type OrgRow,
  type SeatCounts,
} from './queries.ts';

export const SLUG_PATTERN = /^[a-z0-9-]{3,63}$/;

export interface OrgView {
  org: OrgRow;
  seats: SeatCounts;
  storageLimitBytes: number | null;
  membersWithoutLimit: number;
}

export async function createOrg(ctx: Ctx, input: { name: string; slug: string }): Promise<OrgView> {
  const actor = requireActor(ctx);
  const name = input.name.trim();
  if (!name) throw new AppError('invalid_request', 'Enter a name for the organization.');
  if (!SLUG_PATTERN.test(input.slug)) {
    throw new AppError('invalid_slug', 'Use 3 to 63 lowercase letters, digits and hyphens for the slug.');
  }
  const now = ctx.clock.now();
  try {
    const orgId = await ctx.db.transaction(async (tx) => {
      // Serializes one user's concurrent creates: the losers then see the membership.
      await tx.execute(sql`SELECT id FROM users WHERE id = ${actor.userId} FOR UPDATE`);
      const [existing] = await tx.select().from(memberships).where(eq(memberships.userId, actor.userId));
      if (existing) throw new AppError('already_in_org', 'You already belong to an organization. Leave it first.');
      const subscription = await activePersonalSubscription(tx, actor.userId);
      assertThat(
        subscription,
        'subscription_required',
        'Creating an organization needs a Team or Enterprise subscription. Check out the Team plan first.',
      );
      const [org] = await tx.insert(orgs).values({ name, slug: input.slug, createdAt: now }).returning();
      assertThat(org, 'internal', 'The organization could not be created.');
      await tx.insert(memberships).values({ orgId: org.id, userId: actor.userId, role: 'owner', joinedAt: now });
      // The personal subscription becomes the org's: its quantity is the seat limit.
      await tx
        .update(subscriptions)
        .set({ userId: null, orgId: org.id, updatedAt: now })
        .where(eq(subscriptions.id, subscription.id));
      await recordAudit(tx, ctx, {
        orgId: org.id,
        action: 'org.created',
        targetType: 'org',
        targetId: org.id,
        after: { name, slug: input.slug, plan: subscription.plan, seats: subscription.seats },
      });
      return org.id;
    });
    return await orgView(ctx.db, orgId, now);
  } catch (error) {
    if (isUniqueViolation(error, 'orgs_slug_key')) {
      throw new AppError('slug_taken', 'That slug is already taken. Choose another.');
    }
    if (isUniqueViolation(error, 'memberships_user_id_key')) {
      throw new AppError('already_in_org', 'You already belong to an organization. Leave it first.');
    }
    throw error;
  }
}

async function activePersonalSubscription(tx: Queryable, userId: string) {
  const [subscription] = await tx
    .select()
    .from(subscriptions)
    .where(and(eq(subscriptions.userId, userId), eq(subscriptions.status, 'active')))
    .for('update');
  return subscription;
}

export async function orgView(db: Queryable, orgId: string, now: Date): Promise<OrgView> {
  const org = await findOrg(db, orgId);
  assertThat(org, 'not_found', 'The organization no longer exists.');
  const seats = await countSeats(db, orgId, now);
  const membersWithoutLimit = await countMembersWithoutLimit(db, orgId);
  return { org, seats, storageLimitBytes: org.plan ? storageLimitBytes(org.plan, org.seatLimit) : 0, membersWithoutLimit };
}

/** `GET /api/v1/org`: the caller's org with its members and the caller's role; null outside any org. */
export async function getOwnOrg(ctx: Ctx): Promise<(OrgView & { members: MemberRow[]; role: Role }) | null> {
  const actor = requireActor(ctx);
  if (!actor.membership) return null;
  const view = await orgView(ctx.db, actor.membership.orgId, ctx.clock.now());
  const members = await allMembers(ctx.db, actor.membership.orgId);
  return { ...view, members, role: actor.membership.role };
}

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

export async function renameOrg(ctx: Ctx, input: { name: string }): Promise<OrgView> {
  const actor = authorize(requireActor(ctx), 'org.rename');
  const name = input.name.trim();
  if (!name) throw new AppError('invalid_request', 'Enter a name for the organization.');
  const orgId = actor.membership.orgId;
  const now = ctx.clock.now();
  await ctx.db.transaction(async (tx) => {
    await lockActorInOrg(tx, orgId, actor.userId, 'org.rename');
    const [before] = await tx.select({ name: orgs.name }).from(orgs).where(eq(orgs.id, orgId));
    await tx.update(orgs).set({ name }).where(eq(orgs.id, orgId));
    await recordAudit(tx, ctx, {
      orgId,
      action: 'org.renamed',
      targetType: 'org',
      targetId: orgId,
      before: { name: before?.name },
      after: { name },
    });
  });
  return orgView(ctx.db, orgId, now);
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
    await tx
      .update(memberships)
      .set({ role: input.role })
      .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, target.userId)));
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

async function deleteMembership(
  tx: Tx,
  ctx: Ctx,
  orgId: string,
  target: MemberRow,
  action: 'member.removed' | 'member.left',
): Promise<void> {
  if (target.role === 'admin' && (await countOtherAdmins(tx, orgId, target.userId)) === 0) {
    throw new AppError('last_admin', 'This is the last admin of the organization. Make someone else an admin first.');
  }
  await tx.delete(memberships).where(and(eq(memberships.orgId, orgId), eq(memberships.userId, target.userId)));
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
    await tx
      .update(memberships)
      .set({ role: 'admin' })
      .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, actor.userId)));
    await tx
      .update(memberships)
      .set({ role: 'owner' })
      .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, target.userId)));
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
 * Locks the org row, then re-reads the actor's role under the lock: a role checked before the
 * lock could have changed by a concurrent request (a demotion, a transfer).
 */
export async function lockActorInOrg(
  tx: Tx,
  orgId: string,
  userId: string,
  action: Parameters<typeof assertRoleCan>[1],
): Promise<MemberRow> {
  await lockOrg(tx, orgId);
  const self = await findMember(tx, orgId, userId);
  assertRoleCan(self?.role, action);
  if (!self) throw new AppError('forbidden', 'You are not a member of this organization.');
  return self;
}

export async function requireMember(tx: Queryable, orgId: string, userId: string): Promise<MemberRow> {
  const member = isUuid(userId) ? await findMember(tx, orgId, userId) : undefined;
  // Ids of other orgs' members answer the same as ids that do not exist.
  assertThat(member, 'not_a_member', 'No member with this id belongs to your organization.');
  return member;
}

export async function findOrgBySlug(db: Queryable, slug: string): Promise<OrgRow | undefined> {
  const rows = await queryRows<{ id: string }>(db, sql`SELECT id FROM orgs WHERE slug = ${slug}`);
  return rows[0] ? findOrg(db, rows[0].id) : undefined;
}
