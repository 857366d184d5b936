import { recordAudit, recordGlobalAudit } from '../audit/record.ts';
import { auditEntries } from '../audit/service.ts';
import { globalAuditPage, type AuditRow } from '../audit/queries.ts';
import { applySubscription, billingOfOrg, endProviderSubscription, type OrgBilling } from '../billing/service.ts';
import { MAX_SEATS, PLANS } from '../billing/plans.ts';
import type { Actor, Ctx } from '../core/context.ts';
import { normalizeEmail } from '../core/email.ts';
import { AppError, assertThat } from '../core/errors.ts';
import {
  insertServiceToken,
  listServiceTokens as storedServiceTokens,
  lockUserByEmail,
  revokeServiceToken as markServiceTokenRevoked,
  setDisabled,
  type ServiceTokenRecord,
} from '../auth/queries.ts';
import { SERVICE_SCOPES, type ServiceScope } from '../core/domain.ts';
import { isEntryId } from '../core/cursor.ts';
import { isUuid } from '../core/ids.ts';
import { onCitusDb } from '../db/citus.ts';
import { cleanName } from '../core/text.ts';
import { newToken } from '../core/tokens.ts';
import type { Queryable } from '../db/client.ts';
import type { Plan } from '../db/schema.ts';
import { findPendingInvitationId, listLiveInvitations, type LiveInvitation } from '../invites/queries.ts';
import { findMembershipOfUser, memberPage, lockOrg, type MemberRow, type OrgRow } from '../orgs/queries.ts';
import { findOrgBySlug, orgView, type OrgView } from '../orgs/service.ts';
import {
  releaseMember,
  removeMember as removeMemberAsOwner,
  transferOwnership as transferOwnershipAsOwner,
  type ReleasedMember,
} from '../members/service.ts';
import { revokeInvite as revokeInviteAsOwner } from '../invites/service.ts';
import { findUserByEmail } from '../auth/queries.ts';
import { signInState, type SignInState } from '../auth/service.ts';
import { setAllocation as storeAllocation } from '../usage/allocation.ts';
import { allocationView, monthlyAllocation, type AllocationView } from '../billing/allocation.ts';

/** Support operations for the operator CLI: the actor must be the operator, never an API caller. */
function requireOperator(ctx: Ctx): Actor {
  if (ctx.actor?.via !== 'operator') throw new AppError('forbidden', 'Only the operator CLI can do this.');
  return ctx.actor;
}

export interface UserStatusChange {
  userId: string;
  email: string;
  changed: boolean;
  /** The org whose audit log holds the entry; null when the user belongs to no org (the global audit log holds it). */
  orgSlug: string | null;
  /** What a disable also ended or gave up (all 0 for an enable or when nothing changed). */
  sideEffects: { sessionsEnded: number; apiTokensRevoked: number } & ReleasedMember;
}

export function enableUser(ctx: Ctx, input: { email: string }): Promise<UserStatusChange> {
  return changeUserStatus(ctx, input.email, 'enable');
}

export function disableUser(ctx: Ctx, input: { email: string }): Promise<UserStatusChange> {
  return changeUserStatus(ctx, input.email, 'disable');
}

async function changeUserStatus(ctx: Ctx, email: string, change: 'enable' | 'disable'): Promise<UserStatusChange> {
  requireOperator(ctx);
  const { normalized } = normalizeEmail(email);
  return ctx.db.transaction(async (tx) => {
    const user = await lockUserByEmail(tx, normalized);
    if (!user) throw new AppError('user_not_found', `No account uses the address ${email.trim()}.`);
    const membership = await lockedMembershipOf(tx, user.id);
    // Contract: operator commands that disable a user refuse an org's current owner.
    if (change === 'disable' && membership?.role === 'owner') {
      throw new AppError('cannot_disable_owner', `${user.email} owns ${membership.slug}: transfer ownership first.`);
    }
    const { changed, sessionsEnded, apiTokensRevoked } = await setDisabled(
      tx,
      user.id,
      change === 'disable' ? ctx.clock.now() : null,
    );
    let released: ReleasedMember = { projectsLeft: 0, adminInvitesRevoked: 0 };
    const [before, after] = change === 'disable' ? ['active', 'disabled'] : ['disabled', 'active'];
    if (changed && !membership) {
      // No org's audit log can hold it: the global one does.
      await recordGlobalAudit(tx, ctx, {
        action: change === 'disable' ? 'user.disabled' : 'user.enabled',
        targetType: 'user',
        targetId: user.id,
        before: { email: user.email, status: before },
        after: { email: user.email, status: after },
      });
    }
    if (changed && membership) {
      await recordAudit(tx, ctx, {
        orgId: membership.orgId,
        action: change === 'disable' ? 'member.disabled' : 'member.enabled',
        targetType: 'user',
        targetId: user.id,
        before: { email: user.email, status: before },
        after: { email: user.email, status: after },
      });
      if (change === 'disable') {
        released = await releaseMember(tx, ctx, membership.orgId, { userId: user.id, role: membership.role }, 'member_disabled');
      }
    }
    return {
      userId: user.id,
      email: user.email,
      changed,
      orgSlug: membership?.slug ?? null,
      sideEffects: { sessionsEnded, apiTokensRevoked, ...released },
    };
  });
}

/**
 * The user's membership, read again under its org's lock (the lock every role change takes: an
 * ownership transfer in flight finishes first, so a new owner is seen as the owner). Locks the user
 * first (the caller), then the org: the order org creation follows, and no writer locks an org and
 * then a user.
 */
async function lockedMembershipOf(tx: Queryable, userId: string) {
  let membership = await findMembershipOfUser(tx, userId);
  const locked = new Set<string>();
  while (membership && !locked.has(membership.orgId)) {
    await lockOrg(tx, membership.orgId);
    locked.add(membership.orgId);
    membership = await findMembershipOfUser(tx, userId);
  }
  return membership;
}

/**
 * `roster admin transfer-ownership <slug> --to <email>`: support makes another member the owner
 * (the only way when the owner is gone). It runs the org's own transfer (members/service.ts) with
 * the owner's authority, so the rules are the API's: the new owner is an active member of the org,
 * the old owner becomes an admin, one owner at any time, one transaction; the audit entry names the
 * operator (an operator actor never records a user id).
 */
export async function transferOwnership(
  ctx: Ctx,
  input: { slug: string; toEmail: string },
): Promise<{ org: OrgRow; owner: MemberRow; previousOwner: MemberRow }> {
  const { org, asOwner } = await actingAsOwner(ctx, input.slug);
  const newOwner = await requireUser(ctx.db, input.toEmail);
  try {
    const result = await transferOwnershipAsOwner(asOwner, { userId: newOwner.id });
    return { org, ...result };
  } catch (error) {
    // The API's messages speak to the owner ("your organization"); the operator gets theirs.
    if (error instanceof AppError && error.code === 'not_a_member') {
      throw new AppError('not_a_member', `${newOwner.email} is not a member of ${org.slug}.`);
    }
    if (error instanceof AppError && error.code === 'already_owner') {
      throw new AppError('already_owner', `${newOwner.email} already owns ${org.slug}.`);
    }
    if (error instanceof AppError && error.code === 'forbidden') {
      throw new AppError('forbidden', `The owner of ${org.slug} changed meanwhile; run the command again.`);
    }
    throw error;
  }
}

/**
 * The operator acting with the owner's rights in one org, for the member operations that the API
 * gives the owner (transfer, removal, revoking an invitation): the same service function, rules and
 * audit entry, with the operator as the audited actor. The owner is re-read under the org lock by
 * that function, so a transfer that won meanwhile refuses the operation (`forbidden`).
 */
async function actingAsOwner(ctx: Ctx, slug: string): Promise<{ org: OrgRow; owner: MemberRow; asOwner: Ctx }> {
  const operator = requireOperator(ctx);
  const org = await requireOrg(ctx.db, slug);
  const [owner] = await memberPage(ctx.db, { orgId: org.id, limit: 1, after: null, prefix: null, role: 'owner', status: null });
  assertThat(owner, 'forbidden', `${org.slug} has no owner.`);
  const membership = { orgId: org.id, slug: org.slug, orgName: org.name, role: 'owner' as const };
  return { org, owner, asOwner: { ...ctx, actor: { ...operator, userId: owner.userId, membership } } };
}

async function requireUser(db: Queryable, email: string) {
  const user = await findUserByEmail(db, normalizeEmail(email).normalized);
  if (!user) throw new AppError('user_not_found', `No account uses the address ${email.trim()}.`);
  return user;
}

/**
 * Removes a member from an org, as an owner would through the API (audited `member.removed` with
 * the operator as actor; the member leaves every project, a former admin's pending admin
 * invitations are revoked). Contract: the org's current owner is refused until ownership moves.
 */
export async function removeMember(
  ctx: Ctx,
  input: { slug: string; email: string },
): Promise<{ org: OrgRow; email: string; released: ReleasedMember }> {
  const { org, owner, asOwner } = await actingAsOwner(ctx, input.slug);
  const user = await requireUser(ctx.db, input.email);
  const ownerRefusal = new AppError('cannot_remove_owner', `${user.email} owns ${org.slug}: transfer ownership first.`);
  if (user.id === owner.userId) throw ownerRefusal;
  try {
    return { org, email: user.email, released: await removeMemberAsOwner(asOwner, { userId: user.id }) };
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    if (error.code === 'not_a_member') throw new AppError('not_a_member', `${user.email} is not a member of ${org.slug}.`);
    // Ownership moved to this user meanwhile: the policy sees them as the acting owner.
    if (error.code === 'cannot_remove_self' || error.code === 'cannot_remove_owner') throw ownerRefusal;
    if (error.code === 'forbidden')
      throw new AppError('forbidden', `The owner of ${org.slug} changed meanwhile; run the command again.`);
    throw error;
  }
}

/** Revokes the org's pending invitation to an address, as an owner would (audited `invite.revoked`, seat freed). */
export async function revokeInvite(ctx: Ctx, input: { slug: string; email: string }): Promise<{ org: OrgRow; email: string }> {
  const { org, asOwner } = await actingAsOwner(ctx, input.slug);
  const { normalized } = normalizeEmail(input.email);
  const notFound = new AppError('invite_not_found', `${org.slug} has no pending invitation to ${input.email.trim()}.`);
  const inviteId = await findPendingInvitationId(ctx.db, org.id, normalized);
  if (!inviteId) throw notFound;
  try {
    await revokeInviteAsOwner(asOwner, { inviteId });
  } catch (error) {
    // Accepted, revoked or expired meanwhile.
    if (error instanceof AppError && error.code === 'invite_not_found') throw notFound;
    if (error instanceof AppError && error.code === 'forbidden') {
      throw new AppError('forbidden', `The owner of ${org.slug} changed meanwhile; run the command again.`);
    }
    throw error;
  }
  return { org, email: input.email.trim() };
}

/**
 * Sets an org's plan and seats (Enterprise is sold only this way). Goes through the same
 * `applySubscription` as checkout, so seats never drop below members plus pending invitations.
 * Without seats, Enterprise gets its default (25, the contract's); Team needs them, so that a
 * forgotten --seats never shrinks a paying org to a default. The plan and seats it already has
 * change nothing (`changed: false`, no audit entry).
 */
export async function setPlan(
  ctx: Ctx,
  input: { slug: string; plan: string; seats?: number; cancelSubscription?: boolean },
): Promise<OrgView & { changed: boolean }> {
  const operator = requireOperator(ctx);
  if (!isPlan(input.plan)) {
    throw new AppError('invalid_plan', `Unknown plan "${input.plan}". Use one of: ${Object.keys(PLANS).join(', ')}.`);
  }
  if (input.seats === undefined && input.plan !== 'enterprise') {
    throw new AppError('invalid_seats', `Give the number of seats (--seats) for the ${PLANS[input.plan].name} plan.`);
  }
  const seats = input.seats ?? PLANS[input.plan].defaultSeats;
  if (!Number.isInteger(seats) || seats < 1 || seats > MAX_SEATS) {
    throw new AppError('invalid_seats', `Choose between 1 and ${MAX_SEATS} seats.`);
  }
  const org = await requireOrg(ctx.db, input.slug);
  const { changed } = await applySubscription(
    { ...ctx, billing: { ...ctx.billing, name: 'operator' } },
    { scope: { kind: 'org', orgId: org.id }, plan: input.plan, seats, providerRef: `operator:${operator.name}` },
    {
      beforeReplacing: endProviderSubscription(ctx, { cancel: input.cancelSubscription === true }),
      keepWhenSame: true,
      // An org that (re)enters Enterprise is unlimited until support sets a number: an allocation
      // set during an earlier Enterprise period would otherwise come back unannounced.
      afterReplacing: async (tx, replaced) => {
        const live = replaced && replaced.status !== 'canceled' ? replaced : undefined;
        if (input.plan === 'enterprise' && live?.plan !== 'enterprise') {
          // Until now: the replaced plan's allocation (Team's credits per seat; 0 without a live subscription).
          const inForce = monthlyAllocation(
            { plan: live?.plan ?? null, seats: live?.seats ?? 0, enterpriseMonthly: null },
            ctx.config.teamCreditsPerSeat,
          );
          await storeAllocation(tx, ctx, { orgId: org.id, monthly: null, inForce });
        }
      },
    },
  );
  return { ...(await orgView(ctx.db, org.id, ctx.clock.now())), changed };
}

/**
 * `roster admin set-allocation <slug> --monthly N|unlimited`: support's monthly usage allocation of
 * an Enterprise org (a Team org's follows its seats). Audited; takes effect for the next request.
 */
export async function setAllocation(
  ctx: Ctx,
  input: { slug: string; monthly: string | number | null },
): Promise<{ org: OrgRow; changed: boolean; allocation: AllocationView }> {
  requireOperator(ctx);
  const monthly = parseAllocation(input.monthly);
  const org = await requireOrg(ctx.db, input.slug);
  const changed = await ctx.db.transaction(async (tx) => {
    await lockOrg(tx, org.id);
    const current = await findOrgBySlug(tx, input.slug);
    if (current?.plan !== 'enterprise') {
      throw new AppError(
        'not_enterprise',
        `${input.slug} is not on the Enterprise plan: a Team org's allocation is TEAM_CREDITS_PER_SEAT per seat.`,
      );
    }
    return storeAllocation(tx, ctx, { orgId: org.id, monthly });
  });
  return { org, changed, allocation: await allocationView(ctx, org.id) };
}

function parseAllocation(value: string | number | null): number | null {
  if (value === null || value === 'unlimited') return null;
  const monthly = typeof value === 'number' ? value : /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(monthly) || monthly < 0) {
    throw new AppError('invalid_allocation', 'Give the monthly allocation as a whole number >= 0, or "unlimited".');
  }
  return monthly;
}

function isPlan(plan: string): plan is Plan {
  return Object.hasOwn(PLANS, plan);
}

export type PendingInvitation = LiveInvitation;

export interface OrgReport extends OrgView {
  /** Every member of the org (seats.activeMembers); `members` is the first page of them. */
  memberCount: number;
  members: MemberRow[];
  /** The oldest live invitations, at most `limit` of seats.pendingInvites. */
  pendingInvitations: PendingInvitation[];
  /** Status, who bills it, capacity and the usage allocation, as the org's admins see them. */
  billing: OrgBilling;
}

/** Members and invitations shown by `show-org` unless `--limit` says otherwise. */
export const SHOW_ORG_LIMIT = 100;

/**
 * `roster admin show-org`: the org with a count of its members and the first page of them (and of
 * its live invitations), so a 100,000-member org is never read whole.
 */
export async function showOrg(ctx: Ctx, input: { slug: string; limit?: number }): Promise<OrgReport> {
  requireOperator(ctx);
  const limit = input.limit ?? SHOW_ORG_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new AppError('invalid_page_size', 'Choose a limit between 1 and 1000 entries.');
  }
  const org = await requireOrg(ctx.db, input.slug);
  const now = ctx.clock.now();
  const view = await orgView(ctx.db, org.id, now);
  const members = await memberPage(ctx.db, { orgId: org.id, limit, after: null, prefix: null, role: null, status: null });
  const pendingInvitations = await listLiveInvitations(ctx.db, org.id, now, { limit });
  const billing = await billingOfOrg(ctx, org.id);
  return { ...view, memberCount: view.seats.activeMembers, members, pendingInvitations, billing };
}

export interface UserReport extends SignInState {
  id: string;
  email: string;
  name: string;
  emailVerified: boolean;
  disabledAt: Date | null;
  createdAt: Date;
  /** The user's org and role, or null outside any org. */
  membership: { orgId: string; slug: string; role: string } | null;
}

/**
 * `roster admin show-user <email>`: an account as support needs to see it to answer "why can't I
 * sign in?": disabled or not, verified or not, its org and role, live sessions and API tokens, and
 * failed sign-ins in the current window. Reads only.
 */
export async function showUser(ctx: Ctx, input: { email: string }): Promise<UserReport> {
  requireOperator(ctx);
  const { normalized } = normalizeEmail(input.email);
  const user = await findUserByEmail(ctx.db, normalized);
  if (!user) throw new AppError('user_not_found', `No account uses the address ${input.email.trim()}.`);
  const membership = await findMembershipOfUser(ctx.db, user.id, { citus: await onCitusDb(ctx.db) });
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    emailVerified: user.emailVerifiedAt !== null,
    disabledAt: user.disabledAt,
    createdAt: user.createdAt,
    membership: membership ?? null,
    ...(await signInState(ctx, user)),
  };
}

export async function orgAudit(
  ctx: Ctx,
  input: { slug: string; limit: number; before?: string; action?: string; actor?: string },
): Promise<{ org: OrgRow; entries: AuditRow[] }> {
  requireOperator(ctx);
  checkAuditPage(input);
  const org = await requireOrg(ctx.db, input.slug);
  const page = await auditEntries(ctx.db, org.id, {
    limit: input.limit,
    cursor: null,
    beforeId: input.before ?? null,
    action: input.action ?? null,
    actor: input.actor ?? null,
  });
  return { org, entries: page.entries };
}

export interface GlobalAuditEntryView {
  id: string;
  createdAt: Date;
  actorLabel: string;
  action: string;
  targetType: string;
  targetId: string;
  before: unknown;
  after: unknown;
  requestId: string | null;
}

/**
 * `roster admin global-audit`: the changes that belong to no organization (service tokens, webhook
 * endpoints, accounts outside any org), newest first; `before` (an entry id) pages further back.
 */
export async function globalAudit(ctx: Ctx, input: { limit: number; before?: string }): Promise<GlobalAuditEntryView[]> {
  requireOperator(ctx);
  checkAuditPage(input);
  const rows = await globalAuditPage(ctx.db, { limit: input.limit, before: input.before ?? null });
  return rows.map((row) => ({
    id: row.id,
    createdAt: new Date(row.created_at),
    actorLabel: row.actor_label,
    action: row.action,
    targetType: row.target_type,
    targetId: row.target_id,
    before: row.before,
    after: row.after,
    requestId: row.request_id,
  }));
}

/** A page of an audit log as the operator asks for it: a sane size, and `before` an entry's id. */
function checkAuditPage(input: { limit: number; before?: string }): void {
  if (!Number.isInteger(input.limit) || input.limit < 1 || input.limit > 1000) {
    throw new AppError('invalid_page_size', 'Choose a limit between 1 and 1000 entries.');
  }
  if (input.before !== undefined && !isEntryId(input.before)) {
    throw new AppError('invalid_cursor', 'Give --before as the id of an entry (#id in the list).');
  }
}

async function requireOrg(db: Queryable, slug: string): Promise<OrgRow> {
  const org = await findOrgBySlug(db, slug);
  if (!org) throw new AppError('org_not_found', `No organization with slug "${slug}".`);
  return org;
}

// ---- service tokens (global: they belong to no org; the global audit log records them) --------

export type { ServiceTokenRecord };

/**
 * `roster admin create-service-token --name N --scopes a,b`: the token is returned once (only its
 * SHA-256 is stored). Scopes: usage:write, authz:read, storage:write, webhooks:manage.
 */
export async function createServiceToken(
  ctx: Ctx,
  input: { name: string; scopes: string | string[] },
): Promise<{ token: string; record: ServiceTokenRecord }> {
  requireOperator(ctx);
  const name = cleanName(input.name);
  if (!name || name.length > 100)
    throw new AppError('invalid_name', 'Name the service token with 1 to 100 characters, on one line.');
  const scopes = parseScopes(input.scopes);
  const { token, hash } = newToken('service');
  const record = await ctx.db.transaction(async (tx) => {
    const created = await insertServiceToken(tx, { name, scopes, tokenHash: hash, now: ctx.clock.now() });
    await recordGlobalAudit(tx, ctx, {
      action: 'service_token.created',
      targetType: 'service_token',
      targetId: created.id,
      after: { name: created.name, scopes: created.scopes },
    });
    return created;
  });
  return { token, record };
}

export async function listServiceTokens(ctx: Ctx): Promise<ServiceTokenRecord[]> {
  requireOperator(ctx);
  return storedServiceTokens(ctx.db);
}

/** Revokes at once: the next request with the token answers 401. Revoking twice changes nothing. */
export async function revokeServiceToken(
  ctx: Ctx,
  input: { id: string },
): Promise<{ record: ServiceTokenRecord; changed: boolean }> {
  requireOperator(ctx);
  if (!isUuid(input.id)) throw tokenNotFound(input.id);
  return ctx.db.transaction(async (tx) => {
    const result = await markServiceTokenRevoked(tx, { id: input.id, now: ctx.clock.now() });
    if (!result) throw tokenNotFound(input.id);
    if (result.changed) {
      await recordGlobalAudit(tx, ctx, {
        action: 'service_token.revoked',
        targetType: 'service_token',
        targetId: result.record.id,
        before: { name: result.record.name },
      });
    }
    return result;
  });
}

function tokenNotFound(id: string): AppError {
  return new AppError('token_not_found', `No service token with id "${id}".`);
}

function parseScopes(value: string | string[]): ServiceScope[] {
  const names = (Array.isArray(value) ? value : value.split(',')).map((scope) => scope.trim()).filter(Boolean);
  const unknown = names.filter((scope) => !(SERVICE_SCOPES as readonly string[]).includes(scope));
  if (names.length === 0 || unknown.length > 0) {
    throw new AppError(
      'invalid_scopes',
      `${unknown.length > 0 ? `Unknown scope "${unknown[0]}". ` : ''}Give one or more of: ${SERVICE_SCOPES.join(', ')}.`,
    );
  }
  return [...new Set(names)] as ServiceScope[];
}
