import { recordAudits } from '../audit/record.ts';
import type { Actor, Ctx } from '../core/context.ts';
import { requireActor } from '../core/context.ts';
import { AppError, isUniqueViolation } from '../core/errors.ts';
import { isUuid } from '../core/ids.ts';
import { hashToken, tokenKindOf } from '../core/tokens.ts';
import { seatUsage } from '../billing/seats.ts';
import { onCitusDb } from '../db/citus.ts';
import type { Queryable, Tx } from '../db/client.ts';
import { findMembershipOfUser, insertUserOrg, lockOrg, membershipInsert, orgOfMember } from '../orgs/queries.ts';
import { orgView, type OrgView } from '../orgs/service.ts';
import {
  acceptedInvitationUpdate,
  findInvitationById,
  findInvitationByTokenHash,
  lockInvitationForAcceptance,
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
  return acceptAs(ctx, actor, (tx) => findByToken(tx, input.token), { requireVerifiedEmail: false, byId: false });
}

/** `POST /org/invite/{id}/accept`: as by token, for a user whose email is verified (the id is no secret). */
export async function acceptById(ctx: Ctx, input: { inviteId: string }): Promise<Acceptance> {
  const actor = requireActor(ctx);
  const id = input.inviteId;
  return acceptAs(ctx, actor, (tx) => (isUuid(id) ? findInvitationById(tx, id) : Promise.resolve(undefined)), {
    requireVerifiedEmail: true,
    byId: true,
  });
}

async function acceptAs(
  ctx: Ctx,
  actor: Actor,
  find: (tx: Tx) => Promise<InvitationRow | undefined>,
  options: { requireVerifiedEmail: boolean; byId: boolean },
): Promise<Acceptance> {
  if (options.requireVerifiedEmail && !actor.emailVerified) {
    throw new AppError('email_not_verified', 'Confirm your email address first: open the link in the verification email.');
  }
  const now = ctx.clock.now();
  try {
    const accepted = await ctx.db.transaction((tx) =>
      acceptInTransaction(tx, ctx, find, { userId: actor.userId }, now, { nameInvitee: !options.byId }),
    );
    return { org: await orgView(ctx.db, accepted.orgId, now), role: accepted.role };
  } catch (error) {
    throw mapMembershipConflict(error);
  }
}

/**
 * The acceptance core, shared by both accept routes and by signup with `invite_token`: it runs in
 * the caller's transaction. Lock order: org row, then the invitation row. `nameInvitee`: whether
 * an email mismatch may say which address was invited — true for a token's holder (the invitation
 * page shows it to them), false by id, which reaches people the invitation is not for (an admin
 * who has left, a webhook receiver, anyone who saw an admin's screen).
 */
export async function acceptInTransaction(
  tx: Tx,
  ctx: Ctx,
  find: (tx: Tx) => Promise<InvitationRow | undefined>,
  user: { userId: string; emailNormalized?: string },
  now: Date,
  options: { nameInvitee: boolean } = { nameInvitee: true },
): Promise<{ orgId: string; role: InviteRole }> {
  const found = await find(tx);
  if (!found) throw inviteNotFound();
  await lockOrg(tx, found.orgId);
  // The invitation under its lock, with the accepting user's address (read with it: a round trip less).
  const locked = await lockInvitationForAcceptance(tx, { orgId: found.orgId, id: found.id, userId: user.userId });
  if (!locked || locked.invitation.status === 'revoked') throw inviteNotFound();
  const { invitation } = locked;
  const emailNormalized = user.emailNormalized ?? locked.acceptingEmailNormalized;
  if (!emailNormalized) throw new AppError('unauthenticated', 'Sign in to continue.');
  // Compared on the normalized form only, which no lookalike address can share.
  if (invitation.emailNormalized !== emailNormalized) {
    throw new AppError(
      'email_mismatch',
      options.nameInvitee
        ? `This invitation was sent to another email address. Sign in as ${invitation.email} to accept it.`
        : 'This invitation was sent to another email address. Sign in with the address it was sent to.',
    );
  }
  // The seats, and whether the user is in an org already, in one read (on Citus, memberships are
  // sharded by org: the user's is looked up through user_orgs first).
  const citus = await onCitusDb(ctx.db);
  const seats = await seatUsage(
    tx,
    invitation.orgId,
    now,
    citus ? {} : { alongside: { name: 'accept', values: { member_of: orgOfMember(user.userId) } } },
  );
  const member = citus ? await findMembershipOfUser(tx, user.userId, { citus }) : seats.alongside.member_of;
  if (member) throw alreadyInOrg();
  if (invitation.status === 'accepted') throw inviteNotFound();
  if (effectiveStatus(invitation, now) === 'expired') {
    throw new AppError('invite_expired', 'This invitation has expired. Ask an admin of the organization to send a new one.');
  }
  // active <= seats after acceptance; the invitation stops being pending, so only members count.
  if (seats.activeMembers + 1 > seats.seatLimit) throw seatLimit(seats.seatLimit);
  const membership = { orgId: invitation.orgId, userId: user.userId, role: invitation.role, now };
  // On Citus user_orgs lives on the coordinator: its row goes first, in a statement of its own.
  if (citus) await insertUserOrg(tx, membership);
  // One statement: the invitation's update, the membership, and the audit entries (and so the
  // events) of two facts: the invitation is used up, and a member joined. The invitation row is
  // locked above and was pending, so the update takes it; `accepted` says so.
  const written = await recordAudits(
    tx,
    ctx.actor ? ctx : { ...ctx, actor: signupActor({ userId: user.userId, emailNormalized }) },
    [
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
    ],
    {
      name: citus ? 'roster_accept_invitation_citus' : 'roster_accept_invitation',
      alongside: [
        acceptedInvitationUpdate({ orgId: invitation.orgId, id: invitation.id, userId: user.userId, now }),
        membershipInsert(membership, { userOrgWritten: citus }),
      ],
    },
  );
  if (Number(written.accepted) !== 1) throw inviteNotFound();
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
