import { cleanName } from '../core/text.ts';
import { recordAudit } from '../audit/record.ts';
import { lockUser } from '../auth/queries.ts';
import { authorize } from '../auth/permissions.ts';
import { storageLimitBytes } from '../billing/plans.ts';
import { lockActiveSubscription, lockPersonalCustomer, moveCustomerToOrg, moveSubscriptionToOrg } from '../billing/queries.ts';
import { seatUsage } from '../billing/seats.ts';
import type { Ctx } from '../core/context.ts';
import { requireActor, requireCaller } from '../core/context.ts';
import { AppError, assertThat, isUniqueViolation } from '../core/errors.ts';
import { onCitusDb } from '../db/citus.ts';
import type { Queryable } from '../db/client.ts';
import type { Role } from '../db/schema.ts';
import { lockActorInOrg } from '../members/access.ts';
import { listMembers } from '../members/service.ts';
import {
  findMembershipOfUser,
  findOrg,
  findOrgIdBySlug,
  insertMembership,
  insertOrg,
  membersWithoutLimitCount,
  orgColumn,
  orgOfColumn,
  renameOrg as renameOrgRow,
  type MemberRow,
  type OrgRow,
} from './queries.ts';

// The org itself: create, read, rename. Operations on its members are in src/members.

export interface SeatCounts {
  activeMembers: number;
  pendingInvites: number;
}

export const SLUG_PATTERN = /^[a-z0-9-]{3,63}$/;

export interface OrgView {
  org: OrgRow;
  seats: SeatCounts;
  storageLimitBytes: number | null;
  membersWithoutLimit: number;
}

export async function createOrg(ctx: Ctx, input: { name: string; slug: string }): Promise<OrgView> {
  const actor = requireActor(ctx);
  const name = cleanName(input.name);
  if (!name) throw new AppError('invalid_name', 'Enter a name for the organization, on one line.');
  if (!SLUG_PATTERN.test(input.slug)) {
    throw new AppError('invalid_slug', 'Use 3 to 63 lowercase letters, digits and hyphens for the slug.');
  }
  const now = ctx.clock.now();
  try {
    const citus = await onCitusDb(ctx.db);
    const orgId = await ctx.db.transaction(async (tx) => {
      // Serializes one user's concurrent creates: the losers then see the membership.
      await lockUser(tx, actor.userId);
      const existing = await findMembershipOfUser(tx, actor.userId, { citus });
      if (existing) throw alreadyInOrg();
      // The customer before the subscription: the billing webhook locks them in that order.
      await lockPersonalCustomer(tx, actor.userId);
      const { lock, subscription } = await lockActiveSubscription(tx, { kind: 'personal', userId: actor.userId });
      assertThat(
        subscription,
        'subscription_required',
        'Creating an organization needs a Team or Enterprise subscription. Check out the Team plan first.',
      );
      const org = await insertOrg(tx, { name, slug: input.slug, now });
      await insertMembership(tx, { orgId: org.id, userId: actor.userId, role: 'owner', now });
      // The personal subscription becomes the org's: its quantity is the seat limit.
      await moveSubscriptionToOrg(tx, lock, { subscriptionId: subscription.id, orgId: org.id, now });
      // ... and so does the payment provider's customer: its webhooks now reach the org.
      await moveCustomerToOrg(tx, { userId: actor.userId, orgId: org.id });
      await recordAudit(tx, ctx, {
        orgId: org.id,
        action: 'org.created',
        targetType: 'org',
        targetId: org.id,
        after: { name, slug: input.slug, plan: subscription.plan, seats: subscription.seats, owner_user_id: actor.userId },
      });
      return org.id;
    });
    return await orgView(ctx.db, orgId, now);
  } catch (error) {
    if (isUniqueViolation(error, 'orgs_slug_key')) {
      throw new AppError('slug_taken', 'That slug is already taken. Choose another.');
    }
    if (isUniqueViolation(error, 'memberships_user_id_key')) {
      throw alreadyInOrg();
    }
    throw error;
  }
}

export async function orgView(db: Queryable, orgId: string, now: Date): Promise<OrgView> {
  // One statement, one snapshot: the org, its seats and its members without a limit.
  const { activeMembers, pendingInvites, alongside } = await seatUsage(db, orgId, now, {
    alongside: { name: 'org_view', values: { org: orgColumn(orgId), members_without_limit: membersWithoutLimitCount(orgId) } },
  });
  const org = orgOfColumn(alongside.org);
  assertThat(org, 'not_found', 'The organization no longer exists.');
  const seats = { activeMembers, pendingInvites };
  const membersWithoutLimit = Number(alongside.members_without_limit ?? 0);
  return { org, seats, storageLimitBytes: org.plan ? storageLimitBytes(org.plan, org.seatLimit) : 0, membersWithoutLimit };
}

/** Members shown inline by `GET /org`; the rest page through `GET /org/members`. */
export const INLINE_MEMBERS = 100;

/**
 * `GET /api/v1/org`: the caller's org, its first members by join date and the caller's role; null
 * outside any org. A 100,000-member org costs the same as a small one: never loaded whole.
 */
export async function getOwnOrg(
  ctx: Ctx,
): Promise<(OrgView & { members: MemberRow[]; membersNextCursor: string | null; role: Role }) | null> {
  const actor = requireActor(ctx);
  if (!actor.membership) return null;
  const view = await orgView(ctx.db, actor.membership.orgId, ctx.clock.now());
  const page = await listMembers(ctx, { limit: INLINE_MEMBERS, cursor: null, q: null, role: null, status: null });
  return { ...view, members: page.members, membersNextCursor: page.nextCursor, role: actor.membership.role };
}

export async function renameOrg(ctx: Ctx, input: { name: string }): Promise<OrgView> {
  const actor = authorize(requireCaller(ctx), 'org.rename');
  const name = cleanName(input.name);
  if (!name) throw new AppError('invalid_name', 'Enter a name for the organization, on one line.');
  const orgId = actor.membership.orgId;
  const now = ctx.clock.now();
  await ctx.db.transaction(async (tx) => {
    await lockActorInOrg(tx, orgId, actor.userId, 'org.rename');
    const before = await renameOrgRow(tx, orgId, name);
    // The same name again changes nothing: no entry, no event (as for a role or a limit).
    if (before?.previousName === name) return;
    await recordAudit(tx, ctx, {
      orgId,
      action: 'org.renamed',
      targetType: 'org',
      targetId: orgId,
      before: { name: before?.previousName },
      after: { name },
    });
  });
  return orgView(ctx.db, orgId, now);
}

export async function findOrgBySlug(db: Queryable, slug: string): Promise<OrgRow | undefined> {
  const orgId = await findOrgIdBySlug(db, slug);
  return orgId ? findOrg(db, orgId) : undefined;
}

/** An owner cannot leave (owner_must_transfer): the message says what each role does first. */
function alreadyInOrg(): AppError {
  return new AppError(
    'already_in_org',
    'You already belong to an organization: leave it first (its owner transfers ownership to another member, then leaves).',
  );
}
