import { AppError } from '../core/errors.ts';
import { and, eq, sql, type SQL } from 'drizzle-orm';
import { disabledUserIds, userColumns, userIdsWithEmail } from '../auth/queries.ts';
import { activeSubscriptionColumns } from '../billing/queries.ts';
import { queryRows, queryRowsPrepared, type Queryable, type StatementPart } from '../db/client.ts';
import { memberships, orgSlugs, orgs, userOrgs, type Plan, type Role } from '../db/schema.ts';
import { limitsOfMember, userIdsWithLimit } from '../usage/queries.ts';

// The statements on the tables orgs owns: orgs and memberships (and their global keys org_slugs, user_orgs). Reads that show members' accounts,
// plans or usage limits compose those owners' fragments (auth, billing, usage) into one statement.

export interface OrgRow {
  id: string;
  name: string;
  slug: string;
  storageUsedBytes: number;
  createdAt: Date;
  plan: Plan | null;
  seatLimit: number;
}

/**
 * Locks the org row: every rule that counts seats or admins runs after this in its transaction.
 * Returns the org's name (undefined: no such org). What the rule reads next must be read by a
 * later statement: a statement that waited for this lock still sees its own snapshot's rows.
 *
 * FOR NO KEY UPDATE, not FOR UPDATE: the lockers still take turns, but a row inserted elsewhere
 * that references the org (its foreign key check takes FOR KEY SHARE) does not wait for them.
 * Regression: a usage batch holds the org's allocation lock shared and then inserts a new day's
 * row; an allocation change that held the org row FOR UPDATE and then asked for the allocation
 * lock deadlocked with it, failing the whole batch.
 */
export async function lockOrg(tx: Queryable, orgId: string): Promise<{ name: string } | undefined> {
  const rows = await queryRowsPrepared<{ name: string }>(
    tx,
    'roster_lock_org',
    sql`SELECT name FROM orgs WHERE id = ${orgId} FOR NO KEY UPDATE`,
  );
  return rows[0];
}

/** The org's member count as a scalar subquery, for a read that counts seats in one statement. */
export function memberCount(orgId: string): SQL {
  return sql`(SELECT count(*)::int FROM memberships WHERE org_id = ${orgId})`;
}

export async function findOrg(db: Queryable, orgId: string): Promise<OrgRow | undefined> {
  const rows = await queryRowsPrepared<RawOrg>(db, 'roster_find_org', orgQuery(orgId));
  return rows[0] ? toOrgRow(rows[0]) : undefined;
}

/**
 * findOrg's row as one JSON value, for a read that brings it beside other values in one statement
 * (the org view: src/orgs/service.ts); orgOfColumn reads it back.
 */
export function orgColumn(orgId: string): SQL {
  return sql`(SELECT row_to_json(found) FROM (${orgQuery(orgId)}) found)`;
}

export function orgOfColumn(value: unknown): OrgRow | undefined {
  return value && typeof value === 'object' ? toOrgRow(value as RawOrg) : undefined;
}

interface RawOrg {
  id: string;
  name: string;
  slug: string;
  storage_used_bytes: string | number;
  /** A Date from a row, an ISO string from JSON. */
  created_at: Date | string;
  plan: Plan | null;
  seats: number | null;
}

function orgQuery(orgId: string): SQL {
  return sql`SELECT o.id, o.name, o.slug, o.storage_used_bytes, o.created_at, s.plan, s.seats
        FROM orgs o LEFT JOIN LATERAL ${activeSubscriptionColumns(sql`o.id`)} s ON true
        WHERE o.id = ${orgId}`;
}

function toOrgRow(row: RawOrg): OrgRow {
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

/**
 * Adds `bytes` (negative: releases) to the org's storage in one conditional statement: the row
 * lock the UPDATE takes and its re-checked condition mean no interleaving of reservations can take
 * the total over `limitBytes` (null: unlimited). A release never takes the total below zero.
 * Undefined when the reservation does not fit (nothing changed).
 */
export async function reserveStorage(
  tx: Queryable,
  input: { orgId: string; bytes: number; limitBytes: number | null },
): Promise<number | undefined> {
  const rows = await queryRows<{ storage_used_bytes: string | number }>(
    tx,
    sql`UPDATE orgs SET storage_used_bytes = GREATEST(storage_used_bytes + ${input.bytes}::bigint, 0)
        WHERE id = ${input.orgId}
          AND (${input.bytes}::bigint <= 0 OR ${input.limitBytes}::bigint IS NULL
               OR storage_used_bytes + ${input.bytes}::bigint <= ${input.limitBytes}::bigint)
        RETURNING storage_used_bytes`,
  );
  return rows[0] ? Number(rows[0].storage_used_bytes) : undefined;
}

/** Sets the org's storage total (a recount by the host app); false when no org has this id. */
export async function setStorageUsed(tx: Queryable, input: { orgId: string; usedBytes: number }): Promise<boolean> {
  const rows = await queryRows<{ id: string }>(
    tx,
    sql`UPDATE orgs SET storage_used_bytes = ${input.usedBytes}::bigint WHERE id = ${input.orgId} RETURNING id`,
  );
  return rows.length > 0;
}

export async function findOrgIdBySlug(db: Queryable, slug: string): Promise<string | undefined> {
  const rows = await queryRows<{ id: string }>(db, sql`SELECT id FROM orgs WHERE slug = ${slug}`);
  return rows[0]?.id;
}

export async function insertOrg(tx: Queryable, input: { name: string; slug: string; now: Date }): Promise<{ id: string }> {
  const [org] = await tx
    .insert(orgs)
    .values({ name: input.name, slug: input.slug, createdAt: input.now })
    .returning({ id: orgs.id });
  if (!org) throw new AppError('internal', 'The organization could not be saved.');
  // Slugs are unique across orgs: held by org_slugs' key (orgs_slug_key), not by a key of the
  // org-scoped table (docs/citus.md).
  await tx.insert(orgSlugs).values({ slug: input.slug, orgId: org.id, createdAt: input.now });
  return org;
}

/** Renames the org; returns the name it had, or undefined when the org does not exist. */
export async function renameOrg(tx: Queryable, orgId: string, name: string): Promise<{ previousName: string } | undefined> {
  const [before] = await tx.select({ name: orgs.name }).from(orgs).where(eq(orgs.id, orgId));
  if (!before) return undefined;
  await tx.update(orgs).set({ name }).where(eq(orgs.id, orgId));
  return { previousName: before.name };
}

export interface MembershipOfUser {
  orgId: string;
  slug: string;
  role: Role;
}

/**
 * The one org the user belongs to (one org per user), or undefined. `citus`: the org id from
 * `user_orgs` first, then the membership with that org id as a constant (one shard instead of a
 * read of every shard); pass it where the lookup is hot (`onCitusDb` of the database handle).
 */
export async function findMembershipOfUser(
  db: Queryable,
  userId: string,
  options: { citus?: boolean } = {},
): Promise<MembershipOfUser | undefined> {
  let where = sql`m.user_id = ${userId}`;
  if (options.citus) {
    const [named] = await queryRows<{ org_id: string }>(db, sql`SELECT org_id FROM user_orgs WHERE user_id = ${userId}`);
    if (!named) return undefined;
    where = sql`m.org_id = ${named.org_id} AND o.id = ${named.org_id} AND m.user_id = ${userId}`;
  }
  const rows = await queryRows<{ org_id: string; slug: string; role: Role }>(
    db,
    sql`SELECT m.org_id, o.slug, m.role FROM memberships m JOIN orgs o ON o.id = m.org_id WHERE ${where}`,
  );
  const row = rows[0];
  return row ? { orgId: row.org_id, slug: row.slug, role: row.role } : undefined;
}

/**
 * The org of the user's membership (null outside any org) as a scalar subquery, for a read that
 * checks one-org-per-user in another statement (an acceptance's seat read). Not on Citus, where
 * memberships are sharded by org: findMembershipOfUser reads user_orgs there.
 */
export function orgOfMember(userId: string): SQL {
  return sql`(SELECT m.org_id FROM memberships m WHERE m.user_id = ${userId}::uuid LIMIT 1)`;
}

export async function insertMembership(
  tx: Queryable,
  input: { orgId: string; userId: string; role: Role; now: Date },
): Promise<void> {
  // One org per user: held by user_orgs' key (memberships_user_id_key), written first so a second
  // org's insert fails before touching the org-scoped table (docs/citus.md).
  await insertUserOrg(tx, input);
  await tx.insert(memberships).values({ orgId: input.orgId, userId: input.userId, role: input.role, joinedAt: input.now });
}

/**
 * insertMembership as a share of the caller's statement (an acceptance's: src/invites/accept.ts),
 * with its user_orgs row unless `userOrgWritten` (Citus: user_orgs lives on the coordinator and
 * is written by insertUserOrg in a statement of its own, before).
 */
export function membershipInsert(
  input: { orgId: string; userId: string; role: Role; now: Date },
  options: { userOrgWritten: boolean },
): StatementPart {
  return {
    ctes: [
      ...(options.userOrgWritten
        ? []
        : [
            sql`joined_user_org AS (INSERT INTO user_orgs (user_id, org_id) VALUES (${input.userId}::uuid, ${input.orgId}::uuid))`,
          ]),
      sql`joined_member AS (
          INSERT INTO memberships (org_id, user_id, role, joined_at)
          VALUES (${input.orgId}::uuid, ${input.userId}::uuid, ${input.role}::text, ${input.now}::timestamptz))`,
    ],
    results: {},
  };
}

/** The one-org-per-user row of a membership (insertMembership; on Citus before membershipInsert). */
export async function insertUserOrg(tx: Queryable, input: { orgId: string; userId: string }): Promise<void> {
  await tx.insert(userOrgs).values({ userId: input.userId, orgId: input.orgId });
}

export async function setMemberRole(tx: Queryable, input: { orgId: string; userId: string; role: Role }): Promise<void> {
  await tx
    .update(memberships)
    .set({ role: input.role })
    .where(and(eq(memberships.orgId, input.orgId), eq(memberships.userId, input.userId)));
}

export async function deleteMembership(tx: Queryable, orgId: string, userId: string): Promise<void> {
  await tx.delete(memberships).where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)));
  await tx.delete(userOrgs).where(and(eq(userOrgs.userId, userId), eq(userOrgs.orgId, orgId)));
}

/**
 * For another module's read that needs the org's name in the same statement:
 * `CROSS JOIN LATERAL ${orgColumns(sql`i.org_id`)} o` gives o.name, o.slug.
 */
export function orgColumns(orgId: SQL): SQL {
  return sql`(SELECT name, slug FROM orgs WHERE orgs.id = ${orgId})`;
}

/** The org's current name as a scalar subquery, for another module's read (an audit entry's target label). */
export function orgNameColumn(orgId: string): SQL {
  return sql`(SELECT name FROM orgs WHERE orgs.id = ${orgId})`;
}

/**
 * For another module's check "is this address a member of the org?" inside its own statement.
 * From the address to its user (the unique email index), then one probe of the membership's
 * primary key: two index lookups whatever the org's size. (Scanning the org's memberships for
 * the address made a generic plan read the whole table once one org held most of it.)
 */
export function isMemberWithEmail(orgId: string, emailNormalized: SQL): SQL {
  return sql`EXISTS (SELECT 1 FROM memberships m
                     WHERE m.org_id = ${orgId} AND m.user_id = ${userIdsWithEmail(emailNormalized)})`;
}

export interface MemberRow {
  userId: string;
  email: string;
  displayName: string;
  role: Role;
  status: 'active' | 'disabled';
  joinedAt: Date;
  /**
   * The exact sort key of a page (joined_at to the microsecond, as text): a Date keeps only
   * milliseconds, and a cursor built from one would repeat a member at the next page's start.
   */
  joinedAtKey?: string;
  /** Null limits mean "no limit"; absent when the query did not read limits. */
  usageLimit?: { daily: number | null; monthly: number | null };
}

// One index lookup per member row (see userColumns): the member's account and limits.
const memberColumns = sql`CROSS JOIN LATERAL ${userColumns(sql`m.user_id`)} u
  LEFT JOIN LATERAL ${limitsOfMember({ orgId: sql`m.org_id`, userId: sql`m.user_id` })} l ON true`;

type RawMember = {
  user_id: string;
  email: string;
  name: string;
  role: Role;
  disabled_at: Date | null;
  joined_at: Date;
  joined_at_key?: string;
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
    ...(row.joined_at_key ? { joinedAtKey: row.joined_at_key } : {}),
    usageLimit: { daily: limitOrNull(row.daily_limit), monthly: limitOrNull(row.monthly_limit) },
  };
}

export async function findMember(db: Queryable, orgId: string, userId: string): Promise<MemberRow | undefined> {
  const rows = await queryRowsPrepared<RawMember>(db, 'roster_find_member', memberQuery(orgId, userId));
  return rows[0] ? toMember(rows[0]) : undefined;
}

/** findMember as a scalar subquery (its row as JSON, or null), for another statement; read back with memberOfColumn. */
export function memberColumn(orgId: string, userId: string): SQL {
  return sql`(SELECT row_to_json(member) FROM (${memberQuery(orgId, userId)}) member)`;
}

export function memberOfColumn(value: unknown): MemberRow | undefined {
  return value && typeof value === 'object' ? toMember(value as RawMember) : undefined;
}

function memberQuery(orgId: string, userId: string): SQL {
  return sql`SELECT m.user_id, u.email, u.name, m.role, u.disabled_at, m.joined_at, l.daily_limit, l.monthly_limit
        FROM memberships m ${memberColumns}
        WHERE m.org_id = ${orgId} AND m.user_id = ${userId}`;
}

export async function allMembers(db: Queryable, orgId: string): Promise<MemberRow[]> {
  const rows = await queryRowsPrepared<RawMember>(
    db,
    'roster_all_members',
    sql`SELECT m.user_id, u.email, u.name, m.role, u.disabled_at, m.joined_at, l.daily_limit, l.monthly_limit
        FROM memberships m ${memberColumns}
        WHERE m.org_id = ${orgId}
        ORDER BY m.joined_at, m.user_id`,
  );
  return rows.map(toMember);
}

export interface MemberPageQuery {
  orgId: string;
  limit: number;
  /** From a cursor: the last member's exact joined_at key and id. */
  after: { joinedAtKey: string; userId: string } | null;
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
    conditions.push(sql`(m.joined_at, m.user_id) > (${query.after.joinedAtKey}::timestamptz, ${query.after.userId}::uuid)`);
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
    sql`SELECT m.user_id, u.email, u.name, m.role, u.disabled_at, m.joined_at, l.daily_limit, l.monthly_limit,
               to_char(m.joined_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS joined_at_key
        FROM memberships m ${memberColumns}
        WHERE ${sql.join(conditions, sql` AND `)}
        ORDER BY m.joined_at, m.user_id
        LIMIT ${query.limit}`,
  );
  return rows.map(toMember);
}

/** The org's owners and admins who are not disabled (who is told about the org's balance): never every member. */
export async function activeOwnersAndAdmins(db: Queryable, orgId: string): Promise<MemberRow[]> {
  const rows = await queryRows<RawMember>(
    db,
    sql`SELECT m.user_id, u.email, u.name, m.role, u.disabled_at, m.joined_at, l.daily_limit, l.monthly_limit
        FROM memberships m ${memberColumns}
        WHERE m.org_id = ${orgId} AND m.role IN ('owner', 'admin') AND u.disabled_at IS NULL
        ORDER BY m.joined_at, m.user_id`,
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

/**
 * Members with neither a daily nor a monthly limit, each of whom could use the whole allocation, as
 * a scalar subquery (the org view reads it beside its other values): every member minus the few who
 * are disabled or have a limit. It runs on every GET /org, and reading each of 100,000 members'
 * account and limits (185 ms) made it the API's slowest read.
 */
export function membersWithoutLimitCount(orgId: string): SQL {
  return sql`(SELECT ${memberCount(orgId)} - count(*)::int
        FROM (SELECT m.user_id FROM memberships m WHERE m.org_id = ${orgId} AND m.user_id IN ${disabledUserIds()}
              UNION
              SELECT m.user_id FROM memberships m WHERE m.org_id = ${orgId} AND m.user_id IN ${userIdsWithLimit(orgId)}) excluded)`;
}
