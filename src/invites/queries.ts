import { sql } from 'drizzle-orm';
import { queryRows, type Queryable } from '../db/client.ts';

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
  };
}

const SELECT_INVITATION = sql`
  SELECT i.org_id, i.id, i.email, i.email_normalized, i.role, i.status, i.invited_by, i.created_at,
         i.expires_at, i.accepted_by, i.token_nonce, u.name AS inviter_name, u.email AS inviter_email, o.name AS org_name
  FROM invitations i
  JOIN orgs o ON o.id = i.org_id
  LEFT JOIN users u ON u.id = i.invited_by`;

export async function findInvitationByTokenHash(db: Queryable, tokenHash: Buffer): Promise<InvitationRow | undefined> {
  const rows = await queryRows<RawInvitation>(db, sql`${SELECT_INVITATION} WHERE i.token_hash = ${tokenHash}`);
  return rows[0] ? toInvitation(rows[0]) : undefined;
}

/** By id alone: ids are unique across orgs (accept-by-id comes from a user outside the org). */
export async function findInvitationById(db: Queryable, id: string): Promise<InvitationRow | undefined> {
  const rows = await queryRows<RawInvitation>(db, sql`${SELECT_INVITATION} WHERE i.id = ${id}`);
  return rows[0] ? toInvitation(rows[0]) : undefined;
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

export interface SeatState {
  orgName: string;
  seatLimit: number;
  activeMembers: number;
  pendingInvites: number;
}

/**
 * Seat limit, members and unexpired pending invitations in one statement. Callers that act on
 * the numbers hold the org lock, so no other transaction can change them before commit.
 */
export async function seatState(
  db: Queryable,
  orgId: string,
  now: Date,
  options: { exceptInvitationId?: string } = {},
): Promise<SeatState> {
  const except = options.exceptInvitationId ?? null;
  const rows = await queryRows<{ org_name: string; seat_limit: number | null; active_members: number; pending_invites: number }>(
    db,
    sql`SELECT o.name AS org_name,
               (SELECT seats FROM subscriptions WHERE org_id = o.id AND status = 'active') AS seat_limit,
               (SELECT count(*)::int FROM memberships WHERE org_id = o.id) AS active_members,
               (SELECT count(*)::int FROM invitations
                 WHERE org_id = o.id AND status = 'pending' AND expires_at > ${now}
                   AND (${except}::uuid IS NULL OR id <> ${except}::uuid)) AS pending_invites
        FROM orgs o WHERE o.id = ${orgId}`,
  );
  const row = rows[0];
  return {
    orgName: row?.org_name ?? '',
    seatLimit: Number(row?.seat_limit ?? 0),
    activeMembers: Number(row?.active_members ?? 0),
    pendingInvites: Number(row?.pending_invites ?? 0),
  };
}

export interface AddressState {
  normalized: string;
  isMember: boolean;
  hasPendingInvite: boolean;
}

/** For a whole batch at once: which addresses are members already, which have a live invitation. */
export async function addressStates(db: Queryable, orgId: string, normalized: string[], now: Date): Promise<AddressState[]> {
  if (normalized.length === 0) return [];
  const rows = await queryRows<{ normalized: string; is_member: boolean; has_pending: boolean }>(
    db,
    sql`SELECT input.address AS normalized,
               EXISTS (SELECT 1 FROM users u JOIN memberships m ON m.user_id = u.id AND m.org_id = ${orgId}
                        WHERE u.email_normalized = input.address) AS is_member,
               EXISTS (SELECT 1 FROM invitations i
                        WHERE i.org_id = ${orgId} AND i.email_normalized = input.address
                          AND i.status = 'pending' AND i.expires_at > ${now}) AS has_pending
        FROM unnest(${sql.param(normalized)}::text[]) AS input(address)`,
  );
  return rows.map((row) => ({ normalized: row.normalized, isMember: row.is_member, hasPendingInvite: row.has_pending }));
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
): Promise<{ id: string; email: string }[]> {
  if (normalized.length === 0) return [];
  return queryRows<{ id: string; email: string }>(
    tx,
    sql`UPDATE invitations SET status = 'expired'
        WHERE org_id = ${orgId} AND status = 'pending' AND expires_at <= ${now}
          AND email_normalized = ANY(${sql.param(normalized)}::text[])
        RETURNING id, email`,
  );
}

export interface NewInvitation {
  email: string;
  normalized: string;
  tokenHash: Buffer;
  tokenNonce: Buffer;
}

/**
 * The whole batch in one statement. ON CONFLICT DO NOTHING on the one-pending-per-address index:
 * an address that already has a pending invitation gets no row (the caller reports invite_pending).
 */
export async function insertInvitations(
  tx: Queryable,
  input: { orgId: string; role: InviteRole; invitedBy: string | null; now: Date; expiresAt: Date; invitations: NewInvitation[] },
): Promise<{ id: string; emailNormalized: string }[]> {
  if (input.invitations.length === 0) return [];
  const rows = await queryRows<{ id: string; email_normalized: string }>(
    tx,
    sql`INSERT INTO invitations (org_id, email, email_normalized, role, status, token_hash, token_nonce, invited_by, created_at, expires_at)
        SELECT ${input.orgId}, batch.email, batch.normalized, ${input.role}, 'pending', decode(batch.token_hash, 'hex'),
               decode(batch.token_nonce, 'hex'), ${input.invitedBy}::uuid, ${input.now}, ${input.expiresAt}
        FROM unnest(${sql.param(input.invitations.map((row) => row.email))}::text[],
                    ${sql.param(input.invitations.map((row) => row.normalized))}::text[],
                    ${sql.param(input.invitations.map((row) => row.tokenHash.toString('hex')))}::text[],
                    ${sql.param(input.invitations.map((row) => row.tokenNonce.toString('hex')))}::text[])
             WITH ORDINALITY AS batch(email, normalized, token_hash, token_nonce, position)
        ORDER BY batch.position
        ON CONFLICT (org_id, email_normalized) WHERE status = 'pending' DO NOTHING
        RETURNING id, email_normalized`,
  );
  return rows.map((row) => ({ id: row.id, emailNormalized: row.email_normalized }));
}

/** Guarded status change: zero rows means the invitation was no longer pending. */
export async function markAccepted(tx: Queryable, orgId: string, id: string, userId: string, now: Date): Promise<boolean> {
  const rows = await queryRows<{ id: string }>(
    tx,
    sql`UPDATE invitations SET status = 'accepted', accepted_at = ${now}, accepted_by = ${userId}
        WHERE org_id = ${orgId} AND id = ${id} AND status = 'pending' RETURNING id`,
  );
  return rows.length === 1;
}

export async function markRevoked(tx: Queryable, orgId: string, id: string, now: Date): Promise<InvitationRow | undefined> {
  const rows = await queryRows<{ id: string }>(
    tx,
    sql`UPDATE invitations SET status = 'revoked', revoked_at = ${now}
        WHERE org_id = ${orgId} AND id = ${id} AND status = 'pending' RETURNING id`,
  );
  return rows[0] ? lockInvitation(tx, orgId, id) : undefined;
}

export async function renewToken(
  tx: Queryable,
  input: { orgId: string; id: string; tokenHash: Buffer; tokenNonce: Buffer; expiresAt: Date },
): Promise<boolean> {
  const rows = await queryRows<{ id: string }>(
    tx,
    sql`UPDATE invitations SET token_hash = ${input.tokenHash}, token_nonce = ${input.tokenNonce}, expires_at = ${input.expiresAt}
        WHERE org_id = ${input.orgId} AND id = ${input.id} AND status = 'pending' RETURNING id`,
  );
  return rows.length === 1;
}

export interface AccepterState {
  emailNormalized: string;
  isEmailVerified: boolean;
  orgId: string | null;
}

/** The accepting user's current email and org, read inside the accept transaction. */
export async function accepterState(db: Queryable, userId: string): Promise<AccepterState | undefined> {
  const rows = await queryRows<{ email_normalized: string; email_verified_at: Date | null; org_id: string | null }>(
    db,
    sql`SELECT u.email_normalized, u.email_verified_at, m.org_id
        FROM users u LEFT JOIN memberships m ON m.user_id = u.id WHERE u.id = ${userId}`,
  );
  const row = rows[0];
  return row ? { emailNormalized: row.email_normalized, isEmailVerified: row.email_verified_at !== null, orgId: row.org_id } : undefined;
}
