import type { SQL } from 'drizzle-orm';
import { recordAudit } from '../audit/record.ts';
import { authorize, type OrgActor } from '../auth/permissions.ts';
import type { Ctx } from '../core/context.ts';
import { requireCaller } from '../core/context.ts';
import type { ErrorCode } from '../core/error-codes.ts';
import { AppError } from '../core/errors.ts';
import { normalizeEmail } from '../core/email.ts';
import { isUuid, newRowId } from '../core/ids.ts';
import { consumeRateLimit, rateLimitCounts } from '../auth/queries.ts';
import type { Queryable, Tx } from '../db/client.ts';
import { onCitusDb } from '../db/citus.ts';
import { enqueueMail } from '../mail/outbox.ts';
import { escapeSealedHtml, mailSealer, type MailSealer, type Sealed } from '../mail/sealing.ts';
import { invitationEmail } from '../mail/templates.ts';
import { seatUsage } from '../billing/seats.ts';
import { actorAllowed, actorColumn, lockActorInOrg, lockOrg, memberOfColumn } from '../members/access.ts';
import { inviteLinkKey, issueInviteToken, issueInviteTokens, storedInviteToken, type IssuedInviteToken } from './link-token.ts';
import { addressesFromList, extractAddresses, type BulkAddress } from './parse.ts';
import {
  addressStates,
  addressStatesColumn,
  addressStatesOfColumn,
  expireStaleInvitations,
  listPendingInvitations,
  lockInvitation,
  markRevoked,
  renewToken,
  type AddressState,
  type InvitationRow,
  type InviteRole,
  type InviteStatus,
  type SendsQuery,
} from './queries.ts';
import { writeAll } from './batch-writes.ts';
import { effectiveStatus, inviteNotFound, seatLimit, seatLimitMessage } from './rules.ts';

// The admin side of invitations: create (one or a batch), list, revoke, resend.
// The link side (lookup, accept, signup) is in accept.ts.

export const RESEND_LIMIT = 5;
export const RESEND_WINDOW_SECONDS = 10 * 60;

/**
 * Invitation emails to one address from one org, counted together: created (single or bulk) and
 * resent, whichever invitation carried them. Counted per invitation alone, revoking and inviting
 * again sent an unlimited number (a review sent 40 in 3 s). All of them are counted under the org's
 * lock, so no interleaving passes RESEND_LIMIT in RESEND_WINDOW_SECONDS.
 */
function sendsKey(orgId: string, normalized: string): string {
  return `${sendsKeyPrefix(orgId)}${normalized}`;
}

function sendsKeyPrefix(orgId: string): string {
  return `invite.sends:${orgId}:`;
}

/**
 * How a batch counts its invitation emails: on PostgreSQL and PGlite inside the statements that
 * read the addresses' states and write the invitations (`fold`), so a single invitation makes two
 * round trips fewer; on Citus, whose coordinator keeps rate_limits to itself, by statements of
 * their own.
 */
function sendsOf(orgId: string, fold: boolean): SendsQuery & { fold: boolean } {
  return { keyPrefix: sendsKeyPrefix(orgId), windowSeconds: RESEND_WINDOW_SECONDS, fold };
}

/** An invitation as its org's admins see it; `link` only when its token was issued by this call. */
export interface InvitationView {
  id: string;
  email: string;
  role: InviteRole;
  status: InviteStatus;
  createdAt: Date;
  expiresAt: Date;
  invitedBy: { userId: string | null; name: string | null; email: string | null };
  link: string | null;
}

export type BulkResult =
  | { email: string; ok: true; inviteId: string | null }
  | { email: string; ok: false; error: { code: ErrorCode; message: string } };

export interface BulkOutcome {
  results: BulkResult[];
  invited: number;
  failed: number;
}

// ---- creating ------------------------------------------------------------------------------

/** `POST /org/invite`: one address through the same set-based path as a bulk request. */
export async function inviteOne(ctx: Ctx, input: { email: string; role: InviteRole }): Promise<InvitationView> {
  const actor = authorize(requireCaller(ctx), 'invites.create');
  const address = normalizeEmail(input.email);
  const [outcome] = await createInvitations(ctx, actor, [{ ...address, isValid: true }], input.role);
  if (!outcome) throw new AppError('internal', 'The invitation could not be created.');
  if (!outcome.ok) {
    const retryAfter = outcome.retryAfterSeconds;
    throw new AppError(outcome.error.code, outcome.error.message, retryAfter ? { retry_after_seconds: retryAfter } : undefined);
  }
  return outcome.invitation;
}

/** `POST /org/invites/bulk`: every distinct address gets exactly one result, in input order. */
export async function inviteBulk(
  ctx: Ctx,
  input: { text?: string; emails?: string[]; role: InviteRole; dryRun: boolean },
): Promise<BulkOutcome> {
  const actor = authorize(requireCaller(ctx), 'invites.create');
  const addresses = input.emails !== undefined ? addressesFromList(input.emails) : extractAddresses(input.text ?? '');
  const limit = ctx.config.bulkInviteMax;
  if (addresses.length > limit) {
    throw new AppError(
      'bulk_limit_exceeded',
      `You can invite at most ${limit} addresses at once; this request has ${addresses.length}. Split it into smaller batches.`,
      { limit, count: addresses.length },
    );
  }
  const outcomes = input.dryRun
    ? await previewInvitations(ctx, actor, addresses)
    : await createInvitations(ctx, actor, addresses, input.role);
  const results = outcomes.map((outcome): BulkResult =>
    outcome.ok
      ? { email: outcome.email, ok: true, inviteId: outcome.invitation?.id ?? null }
      : { email: outcome.email, ok: false, error: outcome.error },
  );
  const invited = results.filter((result) => result.ok).length;
  return { results, invited, failed: results.length - invited };
}

type Outcome<T> =
  | { email: string; ok: true; invitation: T }
  | { email: string; ok: false; error: { code: ErrorCode; message: string }; retryAfterSeconds?: number };

/**
 * Decides every address of a batch from one snapshot: invalid, already a member, already invited,
 * or (in input order, while seats last) invited. Pure, so the dry run answers exactly what the
 * real run does. With `actorId` (the real run, after the org lock) the same read also brings the
 * acting member back, as `actor`, for the caller to check.
 */
async function planBatch(
  db: Queryable,
  orgId: string,
  addresses: BulkAddress[],
  now: Date,
  options: { sends: SendsQuery & { fold: boolean }; actorId?: string },
) {
  const { sends, actorId } = options;
  const valid = addresses.filter((address) => address.isValid).map((address) => address.normalized);
  const { seats, states, actor } = await readSeatsAndAddresses(db, orgId, valid, now, {
    actorId,
    sends: sends.fold ? sends : undefined,
  });
  const sent = sends.fold
    ? undefined
    : await rateLimitCounts(db, {
        keys: valid.map((normalized) => sendsKey(orgId, normalized)),
        windowSeconds: RESEND_WINDOW_SECONDS,
        now,
      });
  const sendsTo = (normalized: string) => (sent ? sent.get(sendsKey(orgId, normalized)) : states.get(normalized)?.sends);
  let freeSeats = seats.seatLimit - seats.activeMembers - seats.pendingInvites;
  const plan = addresses.map((address): Outcome<null> => {
    if (!address.isValid) return fail(address.email, 'invalid_email', 'This is not a valid email address.');
    const state = states.get(address.normalized);
    if (state?.isMember) return fail(address.email, 'already_member', 'This person is already a member of your organization.');
    if (state?.hasPendingInvite) {
      return fail(address.email, 'invite_pending', 'An invitation to this address is already pending. Resend it instead.');
    }
    // Refused before the seats: a refused address takes none.
    const sends = sendsTo(address.normalized);
    if (sends && sends.count >= RESEND_LIMIT) {
      return {
        ...fail(
          address.email,
          'rate_limited',
          `This address was sent ${RESEND_LIMIT} invitations from your organization in the last 10 minutes. Wait before inviting it again.`,
        ),
        retryAfterSeconds: sends.retryAfterSeconds,
      };
    }
    if (freeSeats <= 0) return fail(address.email, 'seat_limit', seatLimitMessage(seats.seatLimit));
    freeSeats -= 1;
    return { email: address.email, ok: true, invitation: null };
  });
  const hasStaleInvite = (normalized: string) => states.get(normalized)?.hasStaleInvite === true;
  return { plan, hasStaleInvite, actor };
}

/** Most addresses whose states are read in the seat numbers' statement. */
const ONE_READ_ADDRESSES = 10;

/**
 * The seat numbers, the addresses' states and (`actorId`) the acting member. A few addresses (a
 * single invitation): one statement. A bulk: the states in a statement of their own, since the
 * states of 1,000 addresses aggregated into the seat numbers' row read slower (bench/README.md).
 */
async function readSeatsAndAddresses(
  db: Queryable,
  orgId: string,
  valid: string[],
  now: Date,
  options: { actorId?: string | undefined; sends?: SendsQuery | undefined },
) {
  const { actorId, sends } = options;
  const few = valid.length > 0 && valid.length <= ONE_READ_ADDRESSES;
  const values: Record<string, SQL> = {};
  if (actorId !== undefined) values.actor = actorColumn(orgId, actorId);
  if (few) values.states = addressStatesColumn(orgId, valid, now, sends);
  // The states' statement text depends on the number of addresses (addressStatesColumn) and on
  // whether it counts sends: so does its name.
  const name = [...Object.keys(values), ...(few ? [String(valid.length)] : []), ...(few && sends ? ['sends'] : [])].join('_');
  const { alongside, ...seats } = await seatUsage(db, orgId, now, { alongside: { name, values } });
  const states = few ? addressStatesOfColumn(alongside.states, now, sends) : await addressStates(db, orgId, valid, now, sends);
  return { seats, states: byAddress(states), actor: memberOfColumn(alongside.actor) };
}

function byAddress(states: AddressState[]): Map<string, AddressState> {
  return new Map(states.map((state) => [state.normalized, state]));
}

async function previewInvitations(ctx: Ctx, actor: OrgActor, addresses: BulkAddress[]): Promise<Outcome<null>[]> {
  const orgId = actor.membership.orgId;
  const { plan } = await planBatch(ctx.db, orgId, addresses, ctx.clock.now(), {
    sends: sendsOf(orgId, !(await onCitusDb(ctx.db))),
  });
  return plan;
}

/**
 * Creates the invitations of a batch under the org lock, set-based. The invitations, their emails,
 * their audit entries and events are written by one statement on PostgreSQL and PGlite (their ids
 * are made here, so every row is known before anything is written); on Citus by three, since it
 * refuses the emails' wake-up inside a statement it plans across nodes (plus one to retire expired
 * invitations of the same addresses, when there are any).
 */
async function createInvitations(
  ctx: Ctx,
  actor: OrgActor,
  addresses: BulkAddress[],
  role: InviteRole,
): Promise<Outcome<InvitationView>[]> {
  const [linkKey, sealer] = await Promise.all([inviteLinkKey(ctx), mailSealer(ctx.config, ctx.db)]);
  const oneStatement = !(await onCitusDb(ctx.db));
  // A link for every valid address, made while the transaction locks the org and reads its plan;
  // the plan decides which addresses get theirs. A second attempt takes the same links: the first
  // rolled back, so none of them was stored.
  const links = newLinks(ctx, linkKey, sealer, actor.membership.orgId, addresses.filter((address) => address.isValid).length);
  links.catch(() => undefined); // awaited in the transaction; a transaction that fails first leaves it unread
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await ctx.db.transaction((tx) => writeInvitations(tx, ctx, { actor, addresses, role, links, oneStatement }));
    } catch (error) {
      // The planner saw every pending invitation of the org under its lock, and every writer of
      // invitations takes that lock: a row lost to the one-pending index means a writer that did
      // not. Nothing of the attempt is left (its transaction rolled back); plan again, once.
      if (!(error instanceof LostToPendingInvitation) || attempt === 2) throw error;
    }
  }
}

/** Test-only: runs in the invitations' transaction after the plan, before the writes. */
export const inviteTestHooks: { beforeWrites?: ((tx: Tx, orgId: string) => Promise<void>) | undefined } = {};

class LostToPendingInvitation extends Error {}

async function writeInvitations(
  tx: Tx,
  ctx: Ctx,
  input: { actor: OrgActor; addresses: BulkAddress[]; role: InviteRole; links: Promise<NewLink[]>; oneStatement: boolean },
): Promise<Outcome<InvitationView>[]> {
  const { actor, addresses, role } = input;
  const orgId = actor.membership.orgId;
  const now = ctx.clock.now();
  const expiresAt = new Date(now.getTime() + ctx.config.inviteTtlSeconds * 1000);
  const org = await lockOrg(tx, orgId);
  // The first read after the lock (a fresh snapshot) brings back the acting member with the plan's numbers.
  const sends = sendsOf(orgId, input.oneStatement);
  const { plan, hasStaleInvite, actor: member } = await planBatch(tx, orgId, addresses, now, { sends, actorId: actor.userId });
  const self = actorAllowed(org, member, 'invites.create');
  const links = await input.links; // one per valid address, in their order
  let valid = 0;
  const created = addresses.flatMap((address, index) => {
    if (!address.isValid) return [];
    const link = links[valid++]!;
    return plan[index]?.ok ? [{ index, email: address.email, normalized: address.normalized, ...link }] : [];
  });
  // Only when the planner saw one (under the org lock, with the same clock): usually no statement.
  const stale = created.map((row) => row.normalized).filter(hasStaleInvite);
  const expired = stale.length > 0 ? await expireStaleInvitations(tx, orgId, stale, now) : [];
  await inviteTestHooks.beforeWrites?.(tx, orgId);

  const invited = await writeAll(tx, ctx, {
    org: { id: orgId, name: self.orgName },
    inviter: self,
    role,
    created,
    expired,
    now,
    expiresAt,
    oneStatement: input.oneStatement,
    sends,
  });
  if (invited !== created.length) throw new LostToPendingInvitation();

  const invitedBy = { userId: actor.userId, name: self.displayName, email: self.email };
  const outcomeAt = new Map(
    created.map((row): [number, Outcome<InvitationView>] => [
      row.index,
      {
        email: row.email,
        ok: true,
        invitation: {
          id: row.id,
          email: row.email,
          role,
          status: 'pending',
          createdAt: now,
          expiresAt,
          invitedBy,
          link: row.link,
        },
      },
    ]),
  );
  return plan.map((outcome, index): Outcome<InvitationView> => outcomeAt.get(index) ?? failedOutcome(outcome));
}

interface NewLink extends IssuedInviteToken {
  id: string;
  /** The live link (the reply shows it), and as its email carries it: sealed, in text and HTML (src/mail/sealing.ts). */
  link: string;
  mailLink: Sealed;
  mailHtmlLink: Sealed;
}

/** Links issued per turn of the event loop while newLinks runs beside the plan's statements. */
const LINKS_PER_TURN = 100;

/**
 * `count` new invitation ids with their tokens and links (an HMAC and a SHA-256 each), made
 * LINKS_PER_TURN at a time with a turn of the event loop between, so that the transaction's
 * statements go on meanwhile. Made after the plan, a bulk's 1,000 took about 5 ms of the request;
 * started before the transaction, most are made while its plan is read (bench/README.md). A single
 * invitation's link is made at once. Ids are time-ordered (newRowId): the key (org_id, id) and the
 * index on id (0028) take each insert at their right edge.
 */
async function newLinks(ctx: Ctx, key: Buffer, sealer: MailSealer, orgId: string, count: number): Promise<NewLink[]> {
  const links: NewLink[] = [];
  while (links.length < count) {
    if (links.length > 0) await new Promise((resolve) => setImmediate(resolve));
    const tokens = issueInviteTokens(key, orgId, Math.min(LINKS_PER_TURN, count - links.length));
    const live = tokens.map((token) => inviteLink(ctx, token.token));
    const sealed = sealer.seal(live); // one cipher for the turn's links
    tokens.forEach((token, index) => {
      const mailLink = sealed[index]!;
      links.push({ ...token, id: newRowId(), link: live[index]!, mailLink, mailHtmlLink: escapeSealedHtml(mailLink) });
    });
  }
  return links;
}

// ---- listing, revoking, resending ----------------------------------------------------------

export async function listInvites(ctx: Ctx): Promise<InvitationView[]> {
  const actor = authorize(requireCaller(ctx), 'invites.list');
  const now = ctx.clock.now();
  const rows = await listPendingInvitations(ctx.db, actor.membership.orgId);
  const linkKey = await inviteLinkKey(ctx);
  // The live link, rebuilt from its nonce with the server key: no token is stored.
  return rows.map((row) => {
    const token = row.tokenNonce ? storedInviteToken(linkKey, { ...row, tokenNonce: row.tokenNonce }) : null;
    return toView(row, now, token ? inviteLink(ctx, token) : null);
  });
}

export async function revokeInvite(ctx: Ctx, input: { inviteId: string }): Promise<void> {
  const actor = authorize(requireCaller(ctx), 'invites.revoke');
  const orgId = actor.membership.orgId;
  const now = ctx.clock.now();
  await ctx.db.transaction(async (tx) => {
    await lockActorInOrg(tx, orgId, actor.userId, 'invites.revoke');
    // One guarded UPDATE: the token stops matching and the seat is free the moment this commits.
    const revoked = isUuid(input.inviteId) ? await markRevoked(tx, orgId, input.inviteId, now) : undefined;
    if (!revoked) throw inviteNotFound();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'invite.revoked',
      targetType: 'invitation',
      targetId: revoked.id,
      // An invitation past its expiry was expired when revoked (regression: audited as pending).
      before: { email: revoked.email, role: revoked.role, status: revoked.expiresAt <= now ? 'expired' : 'pending' },
      after: { status: 'revoked' },
    });
  });
}

export async function resendInvite(ctx: Ctx, input: { inviteId: string }): Promise<InvitationView> {
  const actor = authorize(requireCaller(ctx), 'invites.resend');
  const orgId = actor.membership.orgId;
  const now = ctx.clock.now();
  const expiresAt = new Date(now.getTime() + ctx.config.inviteTtlSeconds * 1000);
  const [linkKey, sealer] = await Promise.all([inviteLinkKey(ctx), mailSealer(ctx.config, ctx.db)]);
  const view = await ctx.db.transaction(async (tx) => {
    const self = await lockActorInOrg(tx, orgId, actor.userId, 'invites.resend');
    const invitation = isUuid(input.inviteId) ? await lockInvitation(tx, orgId, input.inviteId) : undefined;
    if (!invitation || invitation.status !== 'pending') throw inviteNotFound();
    // Counted inside the transaction, so only sends that happen count: with every invitation email
    // to this address from this org (sendsKey), the invitation's first one included.
    const rate = await consumeRateLimit(tx, {
      key: sendsKey(orgId, invitation.emailNormalized),
      limit: RESEND_LIMIT,
      windowSeconds: RESEND_WINDOW_SECONDS,
      now,
    });
    if (!rate.allowed) {
      throw new AppError(
        'rate_limited',
        `This address was sent ${RESEND_LIMIT} invitation emails from your organization in the last 10 minutes. Wait before sending it again.`,
        { retry_after_seconds: rate.retryAfterSeconds },
      );
    }
    // The invitation holds a seat again from now on: it must fit beside everything else.
    const seats = await seatUsage(tx, orgId, now, { exceptInvitationId: invitation.id });
    if (seats.activeMembers + seats.pendingInvites + 1 > seats.seatLimit) throw seatLimit(seats.seatLimit);
    const { token, hash, nonce } = issueInviteToken(linkKey, orgId);
    if (!(await renewToken(tx, { orgId, id: invitation.id, tokenHash: hash, tokenNonce: nonce, expiresAt }))) {
      throw inviteNotFound();
    }
    const link = inviteLink(ctx, token);
    await enqueueMail(
      tx,
      [
        {
          kind: 'invitation',
          orgId,
          to: invitation.email,
          ...sealer.message(
            invitationEmail({
              orgName: invitation.orgName,
              inviterName: self.displayName,
              role: invitation.role,
              link,
              expiresAt,
            }),
          ),
        },
      ],
      now,
    );
    await recordAudit(tx, ctx, {
      orgId,
      action: 'invite.resent',
      targetType: 'invitation',
      targetId: invitation.id,
      before: { expires_at: invitation.expiresAt.toISOString() },
      after: { email: invitation.email, expires_at: expiresAt.toISOString() },
    });
    return toView({ ...invitation, expiresAt }, now, link);
  });
  return view;
}

// ---- helpers -------------------------------------------------------------------------------

function toView(row: InvitationRow, now: Date, link: string | null): InvitationView {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    status: effectiveStatus(row, now),
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    invitedBy: { userId: row.invitedBy, name: row.inviterName, email: row.inviterEmail },
    link,
  };
}

/** Links come only from PUBLIC_URL, never from request headers. */
function inviteLink(ctx: Ctx, token: string): string {
  return `${ctx.config.publicUrl}/invite/${token}`;
}

function failedOutcome(outcome: Outcome<null>): Outcome<never> {
  if (outcome.ok) throw new AppError('internal', 'An invited address has no invitation.');
  return outcome;
}

function fail(email: string, code: ErrorCode, message: string) {
  return { email, ok: false as const, error: { code, message } };
}
