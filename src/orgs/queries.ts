import { sql } from 'drizzle-orm';
import { queryRows, queryRowsPrepared, type Queryable } from '../db/client.ts';
import type { Plan, Role } from '../db/schema.ts';

export interface OrgRow {
  id: string;
  name: string;
  slug: string;
  storageUsedBytes: number;
  createdAt: Date;
  plan: Plan | null;
  seatLimit: number;
}

export interface SeatCounts {
  activeMembers: number;
  pendingInvites: number;
}

/** Locks the org row: every rule that counts seats or admins runs after this in its transaction. */
export async function lockOrg(tx: Queryable, orgId: string): Promise<void> {
  await tx.execute(sql`SELECT id FROM orgs WHERE id = ${orgId} FOR UPDATE`);
}

export async function findOrg(db: Queryable, orgId: string): Promise<OrgRow | undefined> {
  const rows = await queryRowsPrepared<{
    id: string;
    name: string;
    slug: string;
    storage_used_bytes: string | number;
    created_at: Date;
    plan: Plan | null;
    seats: number | null;
  }>(
    db,
    'roster_find_org',
    sql`SELECT o.id, o.name, o.slug, o.storage_used_bytes, o.created_at, s.plan, s.seats
        FROM orgs o LEFT JOIN subscriptions s ON s.org_id = o.id AND s.status = 'active'
        WHERE o.id = ${orgId}`,
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    id: row.id,
    name: row.name,
    slug: row.slug,
    storageUsedBytes: Number(row.storage_used_bytes),
    createdAt: new Date(row.created_at),
    plan: row.plan,
    seatLimit: row.seats ?? 0,
  };
}

/** Active members (disabled ones still hold their seat) and unexpired pending invitations. */
export async function countSeats(db: Queryable, orgId: string, now: Date): Promise<SeatCounts> {
  const rows = await queryRowsPrepared<{ active_members: number; pending_invites: number }>(
    db,
    'roster_count_seats',
    sql`SELECT (SELECT count(*)::int FROM memberships WHERE org_id = ${orgId}) AS active_members,
               (SELECT count(*)::int FROM invitations
                 WHERE org_id = ${orgId} AND status = 'pending' AND expires_at > ${now}) AS pending_invites`,
  );
  return {
    activeMembers: Number(rows[0]?.active_members ?? 0),
    pendingInvites: Number(rows[0]?.pending_invites ?? 0),
  };
}

export interface MemberRow {
  userId: string;
  email: string;
  displayName: string;
  role: Role;
  status: 'active' | 'disabled';
  joinedAt: Date;
  /** Null limits mean "no limit"; absent when the query did not read limits. */
  usageLimit?: { daily: number | null; monthly: number | null };
}

// One index lookup per member row. A plain join lets the planner hash-join the whole users table
// (every org's users) to read one org's members; LIMIT 1 keeps the subquery from being flattened.
const memberUser = sql.raw(
  'CROSS JOIN LATERAL (SELECT email, email_normalized, name, disabled_at FROM users WHERE users.id = m.user_id LIMIT 1) u',
);

type RawMember = {
  user_id: string;
  email: string;
  name: string;
  role: Role;
  disabled_at: Date | null;
  joined_at: Date;
  daily_limit: string | number | null;
  monthly_limit: string | number | null;
};

const limitOrNull = (value: string | number | null) => (value === null ? null : Number(value));

function toMember(row: RawMember): MemberRow {
  return {
    userId: row.user_id,
    email: row.email,
    displayName: row.name,
    role: row.role,
    status: row.disabled_at ? 'disabled' : 'active',
    joinedAt: new Date(row.joined_at),
    usageLimit: { daily: limitOrNull(row.daily_limit), monthly: limitOrNull(row.monthly_limit) },
  };
}

export async function findMember(db: Queryable, orgId: string, userId: string): Promise<MemberRow | undefined> {
  const rows = await queryRows<RawMember>(
    db,
    sql`SELECT m.user_id, u.email, u.name, m.role, u.disabled_at, m.joined_at, l.daily_limit, l.monthly_limit
        FROM memberships m JOIN users u ON u.id = m.user_id
        LEFT JOIN usage_limits l ON l.org_id = m.org_id AND l.user_id = m.user_id
        WHERE m.org_id = ${orgId} AND m.user_id = ${userId}`,
  );
  return rows[0] ? toMember(rows[0]) : undefined;
}

export async function allMembers(db: Queryable, orgId: string): Promise<MemberRow[]> {
  const rows = await queryRowsPrepared<RawMember>(
    db,
    'roster_all_members',
    sql`SELECT m.user_id, u.email, u.name, m.role, u.disabled_at, m.joined_at, l.daily_limit, l.monthly_limit
        FROM memberships m ${memberUser}
        LEFT JOIN usage_limits l ON l.org_id = m.org_id AND l.user_id = m.user_id
        WHERE m.org_id = ${orgId}
        ORDER BY m.joined_at, m.user_id`,
  );
  return rows.map(toMember);
}

export interface MemberPageQuery {
  orgId: string;
  limit: number;
  after: { joinedAt: Date; userId: string } | null;
  prefix: string | null;
  role: Role | null;
  status: 'active' | 'disabled' | null;
}

/** One keyset page ordered by (joined_at, user_id): cost does not grow with the org's size. */
export async function memberPage(db: Queryable, query: MemberPageQuery): Promise<MemberRow[]> {
  // One prepared statement per combination of filters: the text for each name never varies.
  const name = `roster_member_page_${[query.after, query.prefix, query.role, query.status].map((part) => (part ? 1 : 0)).join('')}`;
  const conditions = [sql`m.org_id = ${query.orgId}`];
  if (query.after) {
    conditions.push(sql`(m.joined_at, m.user_id) > (${query.after.joinedAt}::timestamptz, ${query.after.userId}::uuid)`);
  }
  if (query.prefix) {
    const pattern = `${query.prefix.toLowerCase().replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
    conditions.push(sql`(u.email_normalized LIKE ${pattern} OR lower(u.name) LIKE ${pattern})`);
  }
  if (query.role) conditions.push(sql`m.role = ${query.role}`);
  if (query.status) conditions.push(sql`(u.disabled_at IS NOT NULL) = ${query.status === 'disabled'}`);
  const rows = await queryRowsPrepared<RawMember>(
    db,
    name,
    sql`SELECT m.user_id, u.email, u.name, m.role, u.disabled_at, m.joined_at, l.daily_limit, l.monthly_limit
        FROM memberships m ${memberUser}
        LEFT JOIN usage_limits l ON l.org_id = m.org_id AND l.user_id = m.user_id
        WHERE ${sql.join(conditions, sql` AND `)}
        ORDER BY m.joined_at, m.user_id
        LIMIT ${query.limit}`,
  );
  return rows.map(toMember);
}

/** Owners and admins other than `exceptUserId`: the "never zero admins" count. */
export async function countOtherAdmins(db: Queryable, orgId: string, exceptUserId: string): Promise<number> {
  const rows = await queryRows<{ count: number }>(
    db,
    sql`SELECT count(*)::int AS count FROM memberships
        WHERE org_id = ${orgId} AND role IN ('owner', 'admin') AND user_id <> ${exceptUserId}`,
  );
  return Number(rows[0]?.count ?? 0);
}

/** Active members with neither a daily nor a monthly limit: each could use the whole allocation. */
export async function countMembersWithoutLimit(db: Queryable, orgId: string): Promise<number> {
  const rows = await queryRows<{ count: number }>(
    db,
    sql`SELECT count(*)::int AS count
        FROM memberships m JOIN users u ON u.id = m.user_id
        LEFT JOIN usage_limits l ON l.org_id = m.org_id AND l.user_id = m.user_id
        WHERE m.org_id = ${orgId} AND u.disabled_at IS NULL
          AND l.daily_limit IS NULL AND l.monthly_limit IS NULL`,
  );
  return Number(rows[0]?.count ?? 0);
}
