import { recordAudits } from '../audit/record.ts';
import type { Actor, Ctx } from '../core/context.ts';
import { requireActor } from '../core/context.ts';
import { AppError, isUniqueViolation } from '../core/errors.ts';
import { isUuid } from '../core/ids.ts';
import { hashToken, tokenKindOf } from '../core/tokens.ts';
import { findUserById } from '../auth/queries.ts';
import { seatUsage } from '../billing/seats.ts';
import { onCitusDb } from '../db/citus.ts';
import type { Queryable, Tx } from '../db/client.ts';
import { findMembershipOfUser, insertMembership, lockOrg } from '../orgs/queries.ts';
import { orgView, type OrgView } from '../orgs/service.ts';
import {
  findInvitationById,
  findInvitationByTokenHash,
  lockInvitation,
  markAccepted,
  type InvitationRow,
  type InviteRole,
  type InviteStatus,
} from './queries.ts';
import { orgOfInviteToken } from './link-token.ts';
import { alreadyInOrg, effectiveStatus, inviteNotFound, seatLimit } from './rules.ts';

// The link side of invitations: public lookup and acceptance (by token, by id, at signup).

export interface PublicInvitation {
  orgName: string;
  inviterName: string | null;
  email: string;
  role: InviteRole;
  status: InviteStatus;
}

/** `GET /invites/{token}`: what the invitation page shows. Reads only; opening a link accepts nothing. */
export async function lookupInvite(ctx: Ctx, input: { token: string }): Promise<PublicInvitation> {
  const invitation = await findByToken(ctx.db, input.token);
  if (!invitation) throw inviteNotFound();
  return {
    orgName: invitation.orgName,
    inviterName: invitation.inviterName,
    email: invitation.email,
    role: invitation.role,
    status: effectiveStatus(invitation, ctx.clock.now()),
  };
}

export interface Acceptance {
  org: OrgView;
  role: InviteRole;
}

/** `POST /invites/{token}/accept`: the signed-in user whose email matches joins the org. */
export async function acceptByToken(ctx: Ctx, input: { token: string }): Promise<Acceptance> {
  const actor = requireActor(ctx);
  return acceptAs(ctx, actor, (tx) => findByToken(tx, input.token), { requireVerifiedEmail: false });
}

/** `POST /org/invite/{id}/accept`: as by token, for a user whose email is verified (the id is no secret). */
export async function acceptById(ctx: Ctx, input: { inviteId: string }): Promise<Acceptance> {
  const actor = requireActor(ctx);
  const id = input.inviteId;
  return acceptAs(ctx, actor, (tx) => (isUuid(id) ? findInvitationById(tx, id) : Promise.resolve(undefined)), {
    requireVerifiedEmail: true,
  });
}

async function acceptAs(
  ctx: Ctx,
  actor: Actor,
  find: (tx: Tx) => Promise<InvitationRow | undefined>,
  options: { requireVerifiedEmail: boolean },
): Promise<Acceptance> {
  if (options.requireVerifiedEmail && !actor.emailVerified) {
    throw new AppError('email_not_verified', 'Confirm your email address first: open the link in the verification email.');
  }
  const now = ctx.clock.now();
  try {
    const accepted = await ctx.db.transaction(async (tx) => {
      const user = await findUserById(tx, actor.userId);
      if (!user) throw new AppError('unauthenticated', 'Sign in to continue.');
      return acceptInTransaction(tx, ctx, find, { userId: actor.userId, emailNormalized: user.emailNormalized }, now);
    });
    return { org: await orgView(ctx.db, accepted.orgId, now), role: accepted.role };
  } catch (error) {
    throw mapMembershipConflict(error);
  }
}

/**
 * The acceptance core, shared by both accept routes and by signup with `invite_token`: it runs in
 * the caller's transaction. Lock order: org row, then the invitation row.
 */
export async function acceptInTransaction(
  tx: Tx,
  ctx: Ctx,
  find: (tx: Tx) => Promise<InvitationRow | undefined>,
  user: { userId: string; emailNormalized: string },
  now: Date,
): Promise<{ orgId: string; role: InviteRole }> {
  const found = await find(tx);
  if (!found) throw inviteNotFound();
  await lockOrg(tx, found.orgId);
  const invitation = await lockInvitation(tx, found.orgId, found.id);
  if (!invitation || invitation.status === 'revoked') throw inviteNotFound();
  // Compared on the normalized form only, which no lookalike address can share.
  if (invitation.emailNormalized !== user.emailNormalized) {
    throw new AppError(
      'email_mismatch',
      `This invitation was sent to another email address. Sign in as ${invitation.email} to accept it.`,
    );
  }
  if (await findMembershipOfUser(tx, user.userId, { citus: await onCitusDb(ctx.db) })) throw alreadyInOrg();
  if (invitation.status === 'accepted') throw inviteNotFound();
  if (effectiveStatus(invitation, now) === 'expired') {
    throw new AppError('invite_expired', 'This invitation has expired. Ask an admin of the organization to send a new one.');
  }
  // active <= seats after acceptance; the invitation stops being pending, so only members count.
  const seats = await seatUsage(tx, invitation.orgId, now);
  if (seats.activeMembers + 1 > seats.seatLimit) throw seatLimit(seats.seatLimit);
  if (!(await markAccepted(tx, invitation.orgId, invitation.id, user.userId, now))) throw inviteNotFound();
  await insertMembership(tx, { orgId: invitation.orgId, userId: user.userId, role: invitation.role, now });
  // Two facts, two entries (and so two events): the invitation is used up, and a member joined.
  await recordAudits(tx, ctx.actor ? ctx : { ...ctx, actor: signupActor(user) }, [
    {
      orgId: invitation.orgId,
      action: 'invite.accepted',
      targetType: 'invitation',
      targetId: invitation.id,
      before: { status: 'pending' },
      after: { status: 'accepted', user_id: user.userId, email: invitation.email, role: invitation.role },
    },
    {
      orgId: invitation.orgId,
      action: 'member.joined',
      targetType: 'user',
      targetId: user.userId,
      after: { email: invitation.email, role: invitation.role, invite_id: invitation.id },
    },
  ]);
  return { orgId: invitation.orgId, role: invitation.role };
}

/** Finds an invitation by its token; a token of another kind is simply not an invitation token. */
export function findByToken(db: Queryable, token: string): Promise<InvitationRow | undefined> {
  if (tokenKindOf(token) !== 'invite') return Promise.resolve(undefined);
  return findInvitationByTokenHash(db, hashToken(token), orgOfInviteToken(token));
}

function mapMembershipConflict(error: unknown): unknown {
  // One org per user is a unique index: a concurrent join elsewhere loses here.
  return isUniqueViolation(error, 'memberships_user_id_key') ? alreadyInOrg() : error;
}

function signupActor(user: { userId: string; emailNormalized: string }): Actor {
  return {
    userId: user.userId,
    email: user.emailNormalized,
    name: user.emailNormalized,
    emailVerified: false,
    membership: null,
    via: 'session',
    credentialId: null,
  };
}
