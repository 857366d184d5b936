import { AppError } from '../core/errors.ts';
import { randomBytes } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import { rateLimitCountOf, rateLimitKeptColumn, userColumns } from '../auth/queries.ts';
import {
  arrayRecordset,
  jsonRecordset,
  queryRows,
  queryRowsBySize,
  rowsFrom,
  type Queryable,
  type RowSource,
  type StatementPart,
} from '../db/client.ts';
import { isMemberWithEmail, orgColumns } from '../orgs/queries.ts';
import type { Sealed } from '../mail/sealed.ts';

// The statements on the tables invites owns: invitations and server_keys (the link key, and development's webhook key on PostgreSQL).

export type InviteRole = 'admin' | 'member';
export type InviteStatus = 'pending' | 'accepted' | 'revoked' | 'expired';

export interface InvitationRow {
  orgId: string;
  id: string;
  email: string;
  emailNormalized: string;
  role: InviteRole;
  status: InviteStatus;
  invitedBy: string | null;
  inviterName: string | null;
  inviterEmail: string | null;
  orgName: string;
  createdAt: Date;
  expiresAt: Date;
  acceptedBy: string | null;
  /** Rebuilds the live link's token with the server key (null for tokens issued before 0004). */
  tokenNonce: Buffer | null;
  /** SHA-256 of the live token: tells which token format the nonce was issued in. */
  tokenHash: Buffer;
}

type RawInvitation = {
  org_id: string;
  id: string;
  email: string;
  email_normalized: string;
  role: InviteRole;
  status: InviteStatus;
  invited_by: string | null;
  inviter_name: string | null;
  inviter_email: string | null;
  org_name: string;
  created_at: Date | string;
  expires_at: Date | string;
  accepted_by: string | null;
  token_nonce: Buffer | Uint8Array | null;
  token_hash: Buffer | Uint8Array;
};

function toInvitation(row: RawInvitation): InvitationRow {
  return {
    orgId: row.org_id,
    id: row.id,
    email: row.email,
    emailNormalized: row.email_normalized,
    role: row.role,
    status: row.status,
    invitedBy: row.invited_by,
    inviterName: row.inviter_name,
    inviterEmail: row.inviter_email,
    orgName: row.org_name,
    createdAt: new Date(row.created_at),
    expiresAt: new Date(row.expires_at),
    acceptedBy: row.accepted_by,
    tokenNonce: row.token_nonce ? Buffer.from(row.token_nonce) : null,
    tokenHash: Buffer.from(row.token_hash),
  };
}

const INVITATION_COLUMNS = sql`i.org_id, i.id, i.email, i.email_normalized, i.role, i.status, i.invited_by, i.created_at,
         i.expires_at, i.accepted_by, i.token_nonce, i.token_hash, u.name AS inviter_name, u.email AS inviter_email, o.name AS org_name`;
const INVITATION_FROM = sql`FROM invitations i
  CROSS JOIN LATERAL ${orgColumns(sql`i.org_id`)} o
  LEFT JOIN LATERAL ${userColumns(sql`i.invited_by`)} u ON true`;
const SELECT_INVITATION = sql`SELECT ${INVITATION_COLUMNS} ${INVITATION_FROM}`;

/**
 * By the token's hash and the org its token names: one index lookup, and on Citus one shard. With
 * no org (a token issued before tokens carried it), by the hash alone: every shard on Citus.
 */
export async function findInvitationByTokenHash(
  db: Queryable,
  tokenHash: Buffer,
  orgId?: string,
): Promise<InvitationRow | undefined> {
  const where =
    orgId === undefined
      ? sql`WHERE i.token_hash = ${tokenHash}`
      : sql`WHERE i.org_id = ${orgId}::uuid AND i.token_hash = ${tokenHash}`;
  const rows = await queryRows<RawInvitation>(db, sql`${SELECT_INVITATION} ${where}`);
  return rows[0] ? toInvitation(rows[0]) : undefined;
}

/** By id alone: ids are unique across orgs (accept-by-id comes from a user outside the org). */
export async function findInvitationById(db: Queryable, id: string): Promise<InvitationRow | undefined> {
  const rows = await queryRows<RawInvitation>(db, invitationByIdQuery(id));
  return rows[0] ? toInvitation(rows[0]) : undefined;
}

/** By id alone (the org is not known): through invitations_id_idx, on Citus one probe per shard. */
export function invitationByIdQuery(id: string): SQL {
  return sql`${SELECT_INVITATION} WHERE i.id = ${id}`;
}

/**
 * lockInvitation for an acceptance: with, in the same statement, the normalized address of the
 * user accepting it (null when no such user), which the invitation's address must match.
 */
export async function lockInvitationForAcceptance(
  tx: Queryable,
  input: { orgId: string; id: string; userId: string },
): Promise<{ invitation: InvitationRow; acceptingEmailNormalized: string | null } | undefined> {
  const rows = await queryRows<RawInvitation & { accepting_email_normalized: string | null }>(
    tx,
    sql`SELECT ${INVITATION_COLUMNS}, accepting.email_normalized AS accepting_email_normalized ${INVITATION_FROM}
        LEFT JOIN LATERAL ${userColumns(sql`${input.userId}::uuid`)} accepting ON true
        WHERE i.org_id = ${input.orgId} AND i.id = ${input.id} FOR UPDATE OF i`,
  );
  const row = rows[0];
  return row ? { invitation: toInvitation(row), acceptingEmailNormalized: row.accepting_email_normalized } : undefined;
}

/** Re-reads an invitation under a row lock, after the org lock (the lock order everywhere). */
export async function lockInvitation(tx: Queryable, orgId: string, id: string): Promise<InvitationRow | undefined> {
  const rows = await queryRows<RawInvitation>(
    tx,
    sql`${SELECT_INVITATION} WHERE i.org_id = ${orgId} AND i.id = ${id} FOR UPDATE OF i`,
  );
  return rows[0] ? toInvitation(rows[0]) : undefined;
}

/** Pending invitations, unexpired and expired (status stays 'pending' until superseded), newest first. */
export async function listPendingInvitations(db: Queryable, orgId: string): Promise<InvitationRow[]> {
  const rows = await queryRows<RawInvitation>(
    db,
    sql`${SELECT_INVITATION} WHERE i.org_id = ${orgId} AND i.status = 'pending' ORDER BY i.created_at DESC, i.id`,
  );
  return rows.map(toInvitation);
}

/**
 * Unexpired pending invitations: each holds a seat. `exceptInvitationId` leaves one out (the
 * invitation being resent, which must fit beside all the others).
 */
/** An invitation's address as a scalar subquery, for another module's read (an audit entry's target label). */
export function invitationEmailColumn(orgId: string, invitationId: SQL): SQL {
  return sql`(SELECT email FROM invitations WHERE org_id = ${orgId} AND id = ${invitationId})`;
}

/** The org's seat-holding invitations as a scalar subquery, for a read that counts seats in one statement. */
export function pendingInviteCount(orgId: string, now: Date, options: { exceptInvitationId?: string } = {}): SQL {
  const except = options.exceptInvitationId ?? null;
  return sql`(SELECT count(*)::int FROM invitations
              WHERE org_id = ${orgId} AND status = 'pending' AND expires_at > ${now}
                AND (${except}::uuid IS NULL OR id <> ${except}::uuid))`;
}

export interface LiveInvitation {
  email: string;
  role: InviteRole;
  createdAt: Date;
  expiresAt: Date;
}

/** The id of the org's pending invitation to this address (one at most: invitations_one_pending_key). */
export async function findPendingInvitationId(
  db: Queryable,
  orgId: string,
  emailNormalized: string,
): Promise<string | undefined> {
  const [row] = await queryRows<{ id: string }>(
    db,
    sql`SELECT id FROM invitations WHERE org_id = ${orgId} AND email_normalized = ${emailNormalized} AND status = 'pending'`,
  );
  return row?.id;
}

/** Unexpired pending invitations, oldest first (the operator's report), at most `limit`. */
export async function listLiveInvitations(
  db: Queryable,
  orgId: string,
  now: Date,
  options: { limit?: number } = {},
): Promise<LiveInvitation[]> {
  const rows = await queryRows<{ email: string; role: InviteRole; created_at: Date | string; expires_at: Date | string }>(
    db,
    sql`SELECT email, role, created_at, expires_at FROM invitations
        WHERE org_id = ${orgId} AND status = 'pending' AND expires_at > ${now}
        ORDER BY created_at
        LIMIT ${options.limit ?? null}`,
  );
  return rows.map((row) => ({
    email: row.email,
    role: row.role,
    createdAt: new Date(row.created_at),
    expiresAt: new Date(row.expires_at),
  }));
}

export interface AddressState {
  normalized: string;
  isMember: boolean;
  hasPendingInvite: boolean;
  /** A pending invitation whose time is up still holds the address's slot: expire it first. */
  hasStaleInvite: boolean;
  /** With `sends` asked for: the invitation emails counted against the address in the window (undefined: none). */
  sends?: { count: number; retryAfterSeconds: number } | undefined;
}

/**
 * Asks the states' statement for each address's count of invitation emails too (the rate-limit key
 * `keyPrefix` + address; see rateLimitKeptColumn), so that no statement of its own reads them.
 */
export interface SendsQuery {
  keyPrefix: string;
  windowSeconds: number;
}

/**
 * For a whole batch at once: which addresses are members already, which have a live invitation.
 * The addresses come as one JSON parameter (jsonRecordset), not a text[]: with a constant array
 * PostgreSQL knows its length when it plans, so the custom plan always looked cheaper and the
 * prepared single-address statement was planned again on every call (0.1-0.5 ms, checked with
 * pg_prepared_statements); a function's row estimate does not depend on its argument.
 */
export async function addressStates(
  db: Queryable,
  orgId: string,
  normalized: string[],
  now: Date,
  sends?: SendsQuery,
): Promise<AddressState[]> {
  if (normalized.length === 0) return [];
  const rows = await queryRowsBySize<AddressStateRow>(
    db,
    sends ? 'roster_invites_address_states_sends' : 'roster_invites_address_states',
    normalized.length,
    addressStatesQuery(
      orgId,
      sql`${jsonRecordset(
        normalized.map((address) => ({ address })),
        { address: 'text' },
      )} AS input(address)`,
      now,
      sends,
    ),
  );
  return toAddressStates(rows, now, sends);
}

/**
 * addressStates as a scalar subquery (a JSON array), for a caller that reads it in the same
 * statement as something else (a single invitation, with its seat numbers); addressStatesOfColumn
 * reads the value back. For a few addresses: they come as a VALUES list of that many parameters,
 * so the statement's text depends on their count, and so must the caller's statement name. Its
 * row estimate is then exact in the generic plan as in the custom one, and PostgreSQL keeps the
 * generic plan; with jsonRecordset's guess of 100 rows, the custom plan of one address looked
 * cheaper and the statement was planned again on every call (0.85 ms, against 0.17 ms for the
 * generic plan's bind, in PostgreSQL's log).
 */
export function addressStatesColumn(orgId: string, normalized: string[], now: Date, sends?: SendsQuery): SQL {
  const input = sql`(VALUES ${sql.join(
    normalized.map((address) => sql`(${address}::text)`),
    sql`, `,
  )}) AS input(address)`;
  return sql`(SELECT coalesce(json_agg(states), '[]') FROM (${addressStatesQuery(orgId, input, now, sends)}) states)`;
}

type AddressStateRow = {
  normalized: string;
  is_member: boolean;
  has_pending: boolean;
  has_stale: boolean;
  sends_count?: number;
  sends_oldest?: Date | string | null;
};

/** The states of the addresses of `input`, a FROM item `… AS input(address)`. */
function addressStatesQuery(orgId: string, input: SQL, now: Date, sends: SendsQuery | undefined): SQL {
  const sent = sends
    ? sql`, ${rateLimitKeptColumn(sql`${sends.keyPrefix}::text || input.address`, { now, windowSeconds: sends.windowSeconds })} AS sends`
    : sql``;
  // One probe per address of the unique pending index gives both answers; OFFSET 0 keeps the
  // planner from copying that probe into each of the two columns that read it.
  return sql`SELECT normalized, is_member,
               coalesce(pending_until > ${now}, false) AS has_pending,
               coalesce(pending_until <= ${now}, false) AS has_stale${sends ? sql`, coalesce(cardinality(sends), 0) AS sends_count, sends[1] AS sends_oldest` : sql``}
        FROM (SELECT input.address AS normalized,
                     ${isMemberWithEmail(orgId, sql`input.address`)} AS is_member,
                     (SELECT i.expires_at FROM invitations i
                       WHERE i.org_id = ${orgId} AND i.email_normalized = input.address AND i.status = 'pending') AS pending_until${sent}
              FROM ${input}
              OFFSET 0) probed`;
}

/** The value of addressStatesColumn, as addressStates answers. */
export function addressStatesOfColumn(value: unknown, now: Date, sends?: SendsQuery): AddressState[] {
  return toAddressStates(Array.isArray(value) ? (value as AddressStateRow[]) : [], now, sends);
}

function toAddressStates(rows: readonly AddressStateRow[], now: Date, sends: SendsQuery | undefined): AddressState[] {
  return rows.map((row) => ({
    normalized: row.normalized,
    isMember: row.is_member,
    hasPendingInvite: row.has_pending,
    hasStaleInvite: row.has_stale,
    sends: sends && rateLimitCountOf(row.sends_count, row.sends_oldest, { now, windowSeconds: sends.windowSeconds }),
  }));
}

/**
 * Marks pending-but-expired invitations of these addresses 'expired', so a new one can take the
 * one-pending-per-address slot. Returns what it expired, for the audit log.
 */
export async function expireStaleInvitations(
  tx: Queryable,
  orgId: string,
  normalized: string[],
  now: Date,
): Promise<{ id: string; email: string; isRecorded: boolean }[]> {
  if (normalized.length === 0) return [];
  const rows = await queryRows<{ id: string; email: string; is_recorded: boolean }>(
    tx,
    sql`UPDATE invitations SET status = 'expired'
        WHERE org_id = ${orgId} AND status = 'pending' AND expires_at <= ${now}
          AND email_normalized = ANY(${sql.param(normalized)}::text[])
        RETURNING id, email, expiry_recorded_at IS NOT NULL AS is_recorded`,
  );
  return rows.map((row) => ({ id: row.id, email: row.email, isRecorded: row.is_recorded }));
}

/** Orgs with pending invitations whose expiry has passed and is not recorded yet, at most `limit`. */
export async function orgsWithUnrecordedExpiries(db: Queryable, input: { now: Date; limit: number }): Promise<string[]> {
  const rows = await queryRows<{ org_id: string }>(
    db,
    sql`SELECT DISTINCT org_id FROM invitations
        WHERE status = 'pending' AND expiry_recorded_at IS NULL AND expires_at <= ${input.now}
        LIMIT ${input.limit}`,
  );
  return rows.map((row) => row.org_id);
}

/**
 * Marks up to `limit` of the org's passed, unrecorded expiries recorded (oldest first) and returns
 * them. The guard is repeated outside the subquery: a sweep that waited for another's row locks
 * re-checks it on the row's newest version, so each expiry is recorded once.
 */
export async function markExpiriesRecorded(
  tx: Queryable,
  input: { orgId: string; now: Date; limit: number },
): Promise<{ id: string; email: string }[]> {
  return queryRows<{ id: string; email: string }>(
    tx,
    sql`UPDATE invitations SET expiry_recorded_at = ${input.now}
        WHERE org_id = ${input.orgId} AND status = 'pending' AND expiry_recorded_at IS NULL AND expires_at <= ${input.now}
          AND id IN (SELECT id FROM invitations
                     WHERE org_id = ${input.orgId} AND status = 'pending' AND expiry_recorded_at IS NULL
                       AND expires_at <= ${input.now}
                     ORDER BY expires_at, id LIMIT ${input.limit})
        RETURNING id, email`,
  );
}

export interface NewInvitation {
  /** Made by the caller, so that the rows written beside the invitation can name it. */
  id: string;
  email: string;
  normalized: string;
  tokenHash: Buffer;
  tokenNonce: Buffer;
}

/**
 * The whole batch as a share of a statement (the CTE `invited`). ON CONFLICT DO NOTHING on the
 * one-pending-per-address index: an address that already has a pending invitation gets no row;
 * `invited` reads back how many were written, so the caller can tell.
 */
export function invitationsInsert(input: {
  orgId: string;
  role: InviteRole;
  invitedBy: string | null;
  now: Date;
  expiresAt: Date;
  /** Values, or a query of (id, email, normalized, token_hash, token_nonce, position): invitationBatch. */
  invitations: RowSource<NewInvitation>;
  /**
   * The statement fails (SQLSTATE LOST_TO_PENDING) unless it writes this many: for a statement whose
   * COMMIT travels with it (queryRowsPreparedLast), where the caller reads the count too late.
   */
  expected?: number;
}): StatementPart {
  return {
    ctes: [
      sql`invited AS (
        INSERT INTO invitations (org_id, id, email, email_normalized, role, status, token_hash, token_nonce, invited_by, created_at, expires_at)
        SELECT ${input.orgId}, batch.id, batch.email, batch.normalized, ${input.role}, 'pending', decode(batch.token_hash, 'hex'),
               decode(batch.token_nonce, 'hex'), ${input.invitedBy}::uuid, ${input.now}, ${input.expiresAt}
        FROM ${rowsFrom(input.invitations, (values) =>
          jsonRecordset(
            values.map((row) => ({
              id: row.id,
              email: row.email,
              normalized: row.normalized,
              token_hash: row.tokenHash.toString('hex'),
              token_nonce: row.tokenNonce.toString('hex'),
            })),
            { id: 'uuid', email: 'text', normalized: 'text', token_hash: 'text', token_nonce: 'text' },
          ),
        )} AS batch(id, email, normalized, token_hash, token_nonce, position)
        ORDER BY batch.position
        ON CONFLICT (org_id, email_normalized) WHERE status = 'pending' DO NOTHING
        RETURNING 1)`,
    ],
    results: {
      invited:
        input.expected === undefined
          ? sql`(SELECT count(*)::int FROM invited)`
          : sql`(SELECT CASE WHEN count(*) = ${input.expected} THEN count(*)::int
                             ELSE roster_refuse('an invitation lost its address to a pending one', ${LOST_TO_PENDING}) END
                 FROM invited)`,
    },
  };
}

/** The SQLSTATE of an invitation write that lost an address to a pending invitation (invitationsInsert's `expected`). */
export const LOST_TO_PENDING = 'RI001';

/** A new invitation with what its email and event need: invitationBatch. */
export interface BatchInvitation extends NewInvitation {
  /** The invitation link, and the same escaped for HTML (the email's slot values), sealed (src/mail/sealing.ts). */
  link: Sealed;
  htmlLink: Sealed;
  /** Time-ordered ids for its outbox row and its event. */
  mailId: string;
  eventId: string;
}

/**
 * A batch of new invitations as the first CTE of its write statement (PostgreSQL, PGlite): every
 * row's values in one array parameter per column (arrayRecordset), read once (`batch`), and the queries that select from it the
 * invitations (invitationsInsert), their emails (the mail module's recipients), their audit
 * entries (`invite.sent`) and their events (`invite.created`, as eventOf makes it from the entry),
 * so that no value is sent twice. Sent as four recordsets, a bulk of 1,000 was about 1.1 MB of
 * parameters, half of it the entries and events again (bench/README.md, "A bulk's rows sent once").
 */
export function invitationBatch(input: { orgId: string; role: InviteRole; expiresAt: Date; invitations: BatchInvitation[] }) {
  const batch = sql`batch AS MATERIALIZED (
          SELECT * FROM ${arrayRecordset(
            input.invitations.map((row) => ({
              id: row.id,
              email: row.email,
              normalized: row.normalized,
              token_hash: row.tokenHash.toString('hex'),
              token_nonce: row.tokenNonce.toString('hex'),
              link: row.link,
              html_link: row.htmlLink,
              mail_id: row.mailId,
              event_id: row.eventId,
            })),
            {
              id: 'uuid',
              email: 'text',
              normalized: 'text',
              token_hash: 'text',
              token_nonce: 'text',
              link: 'text',
              html_link: 'text',
              mail_id: 'uuid',
              event_id: 'uuid',
            },
          )} WITH ORDINALITY
          AS batch(id, email, normalized, token_hash, token_nonce, link, html_link, mail_id, event_id, position))`;
  // The entry's `after` (AuditEntry 'invite.sent'); the event's data is the invitation id and the same.
  const after = sql`jsonb_build_object('email', batch.email, 'role', ${input.role}::text, 'expires_at', ${input.expiresAt.toISOString()}::text)`;
  return {
    part: { ctes: [batch], results: {} } satisfies StatementPart,
    invitations: { query: sql`SELECT id, email, normalized, token_hash, token_nonce, position FROM batch` },
    recipients: { query: sql`SELECT mail_id, email, link, html_link, position FROM batch` },
    /** The rate-limit key of each invitation's email (src/invites/service.ts, sendsKey): `keyPrefix` + its address. */
    sendsKeys: (keyPrefix: string) => sql`SELECT ${keyPrefix}::text || normalized AS key FROM batch`,
    entries: sql`SELECT ${input.orgId}::uuid, 'invite.sent', 'invitation', batch.id::text, NULL::jsonb, ${after}, batch.position
                 FROM batch`,
    events: sql`SELECT batch.event_id, ${input.orgId}::uuid, 'invite.created',
                       jsonb_build_object('invite_id', batch.id::text) || ${after}, batch.position
                FROM batch`,
  };
}

/**
 * Marks the invitation accepted by `userId`, guarded (`status = 'pending'`), as a share of the
 * acceptance's statement (its membership, audit entries and events): `accepted` reads back the
 * rows it changed (1, or 0 when it was no longer pending).
 */
export function acceptedInvitationUpdate(input: { orgId: string; id: string; userId: string; now: Date }): StatementPart {
  return {
    ctes: [
      sql`accepted_invitation AS (
          UPDATE invitations SET status = 'accepted', accepted_at = ${input.now}::timestamptz, accepted_by = ${input.userId}::uuid
          WHERE org_id = ${input.orgId}::uuid AND id = ${input.id}::uuid AND status = 'pending' RETURNING id)`,
    ],
    results: { accepted: sql`(SELECT count(*)::int FROM accepted_invitation)` },
  };
}

export async function markRevoked(tx: Queryable, orgId: string, id: string, now: Date): Promise<InvitationRow | undefined> {
  const rows = await queryRows<{ id: string }>(
    tx,
    sql`UPDATE invitations SET status = 'revoked', revoked_at = ${now}
        WHERE org_id = ${orgId} AND id = ${id} AND status = 'pending' RETURNING id`,
  );
  return rows[0] ? lockInvitation(tx, orgId, id) : undefined;
}

/**
 * Revokes the pending `admin` invitations that `invitedBy` sent (their admin rights are gone);
 * their `member` invitations stay. Returns what was revoked, for the audit log.
 */
export async function revokePendingAdminInvitationsBy(
  tx: Queryable,
  orgId: string,
  invitedBy: string,
  now: Date,
): Promise<{ id: string; email: string }[]> {
  return queryRows<{ id: string; email: string }>(
    tx,
    sql`UPDATE invitations SET status = 'revoked', revoked_at = ${now}
        WHERE org_id = ${orgId} AND invited_by = ${invitedBy} AND role = 'admin' AND status = 'pending'
        RETURNING id, email`,
  );
}

export async function renewToken(
  tx: Queryable,
  input: { orgId: string; id: string; tokenHash: Buffer; tokenNonce: Buffer; expiresAt: Date },
): Promise<boolean> {
  const rows = await queryRows<{ id: string }>(
    tx,
    // A new expiry: the old one's record (if the sweep made one) no longer describes it.
    sql`UPDATE invitations SET token_hash = ${input.tokenHash}, token_nonce = ${input.tokenNonce}, expires_at = ${input.expiresAt},
          expiry_recorded_at = NULL
        WHERE org_id = ${input.orgId} AND id = ${input.id} AND status = 'pending' RETURNING id`,
  );
  return rows.length === 1;
}

// ---- the invitation-link key ------------------------------------------------------------------

/**
 * The key of invitation-link tokens kept in the database (when LINK_SECRET is unset). Every
 * process races to insert one; the first row wins and all read it back.
 */
export function loadOrCreateLinkKey(db: Queryable): Promise<Buffer> {
  return cachedServerKey(db, 'invite_links', () => randomBytes(32));
}

const serverKeyCache = new Map<string, WeakMap<Queryable, Promise<Buffer>>>();

/**
 * loadOrCreateServerKey read once per database handle and key name (`candidate` made only when the
 * handle has not read it yet); a failed read is forgotten, so the next call tries again.
 */
export function cachedServerKey(db: Queryable, name: string, candidate: () => Buffer): Promise<Buffer> {
  let keys = serverKeyCache.get(name);
  if (!keys) serverKeyCache.set(name, (keys = new WeakMap()));
  let key = keys.get(db);
  if (!key) {
    const cached = keys;
    key = loadOrCreateServerKey(db, name, candidate());
    key.catch(() => cached.delete(db));
    keys.set(db, key);
  }
  return key;
}

/**
 * A key the server generates once and every process on the database shares: the first process's
 * `candidate` is stored, later ones read it. server_keys also holds development's webhook key on
 * PostgreSQL (src/webhooks/key.ts), which has no data directory to keep it in.
 */
export async function loadOrCreateServerKey(db: Queryable, name: string, candidate: Buffer): Promise<Buffer> {
  await db.execute(sql`INSERT INTO server_keys (name, value) VALUES (${name}, ${candidate}) ON CONFLICT (name) DO NOTHING`);
  const rows = await queryRows<{ value: Buffer | Uint8Array }>(db, sql`SELECT value FROM server_keys WHERE name = ${name}`);
  const value = rows[0]?.value;
  if (!value) throw new AppError('internal', `The server key ${name} could not be read.`);
  return Buffer.from(value);
}
