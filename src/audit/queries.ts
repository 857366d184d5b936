import { sql, type SQL } from 'drizzle-orm';
import { userColumns, userEmailColumn, userIdsWithEmail } from '../auth/queries.ts';
import { jsonRecordset, queryRows, rowsFrom, type Queryable, type RowSource } from '../db/client.ts';
import { invitationEmailColumn } from '../invites/queries.ts';
import { orgNameColumn } from '../orgs/queries.ts';
import { projectNameColumn } from '../projects/queries.ts';

export interface AuditRow {
  id: string;
  action: string;
  actorUserId: string | null;
  actorEmail: string | null;
  actorLabel: string;
  targetType: string | null;
  targetId: string | null;
  /** What a person knows the target by: its email or name now; once it is gone, the last one its entries recorded. */
  targetLabel: string | null;
  before: unknown;
  after: unknown;
  createdAt: Date;
  requestId: string | null;
}

export interface AuditPageQuery {
  orgId: string;
  limit: number;
  /** Entries older than this id (keyset: ids only grow). */
  beforeId: string | null;
  action: string | null;
  actor: { userId: string } | { email: string } | null;
  targetType: string | null;
  targetId: string | null;
}

/** One page newest first, by (org_id, id) or the action/actor indexes: cost does not grow with the log. */
export async function auditPage(db: Queryable, query: AuditPageQuery): Promise<AuditRow[]> {
  const conditions: SQL[] = [sql`a.org_id = ${query.orgId}`];
  if (query.beforeId) conditions.push(sql`a.id < ${query.beforeId}::bigint`);
  if (query.action) conditions.push(sql`a.action = ${query.action}`);
  if (query.targetType) conditions.push(sql`a.target_type = ${query.targetType}`);
  if (query.targetId) conditions.push(sql`a.target_id = ${query.targetId}`);
  if (query.actor && 'userId' in query.actor) conditions.push(sql`a.actor_user_id = ${query.actor.userId}::uuid`);
  if (query.actor && 'email' in query.actor) {
    // The label keeps the address used at the time (and names operators); the join finds the user now.
    conditions.push(
      sql`(lower(a.actor_label) = ${query.actor.email}
           OR a.actor_user_id IN ${userIdsWithEmail(query.actor.email)})`,
    );
  }
  const rows = await queryRows<{
    id: string | number;
    action: string;
    actor_user_id: string | null;
    actor_email: string | null;
    actor_label: string;
    target_type: string | null;
    target_id: string | null;
    target_label: string | null;
    before: unknown;
    after: unknown;
    created_at: Date | string;
    request_id: string | null;
  }>(
    db,
    sql`SELECT a.id, a.action, a.actor_user_id, u.email AS actor_email, a.actor_label, a.target_type, a.target_id,
               ${targetLabel(query.orgId)} AS target_label, a.before, a.after, a.created_at, a.request_id
        FROM audit_log a LEFT JOIN LATERAL ${userColumns(sql`a.actor_user_id`)} u ON true
        WHERE ${sql.join(conditions, sql` AND `)}
        ORDER BY a.id DESC
        LIMIT ${query.limit}`,
  );
  return rows.map((row) => ({
    id: String(row.id),
    action: row.action,
    actorUserId: row.actor_user_id,
    actorEmail: row.actor_email,
    actorLabel: row.actor_label,
    targetType: row.target_type,
    targetId: row.target_id,
    targetLabel: row.target_label,
    before: parseJson(row.before),
    after: parseJson(row.after),
    createdAt: new Date(row.created_at),
    requestId: row.request_id,
  }));
}

/**
 * The target's email or name now (one primary-key probe per entry of the page, in the org's own
 * rows: a router query on Citus); once the target is gone (a deleted project, an erased user), the
 * email or name of the target's newest entry that recorded one (the audit log's target index,
 * read backwards), so that every entry of a deleted project shows its last name. Every target id of
 * these types is a uuid.
 */
function targetLabel(orgId: string): SQL {
  const id = sql`a.target_id::uuid`;
  const recorded = (entry: string) =>
    sql.raw(`COALESCE(${entry}.after->>'email', ${entry}.before->>'email', ${entry}.after->>'name', ${entry}.before->>'name')`);
  return sql`COALESCE(
    CASE a.target_type
      WHEN 'user' THEN ${userEmailColumn(id)}
      WHEN 'invitation' THEN ${invitationEmailColumn(orgId, id)}
      WHEN 'project' THEN ${projectNameColumn(orgId, id)}
      WHEN 'org' THEN ${orgNameColumn(orgId)}
    END,
    (SELECT ${recorded('l')} FROM audit_log l
     WHERE l.org_id = ${orgId} AND l.target_type = a.target_type AND l.target_id = a.target_id
       AND ${recorded('l')} IS NOT NULL
     ORDER BY l.id DESC LIMIT 1))`;
}

// pg parses jsonb; keep both engines alike if a driver hands back text.
function parseJson(value: unknown): unknown {
  return typeof value === 'string' ? JSON.parse(value) : value;
}

export interface AuditWriter {
  actorUserId: string | null;
  actorLabel: string;
  requestId: string;
  now: Date;
}

export interface AuditValues {
  orgId: string;
  action: string;
  targetType: string;
  targetId: string;
  before?: object | null;
  after?: object | null;
}

/**
 * The audit entries as a data-modifying CTE (`audited AS (INSERT …)`), the rows as one JSON parameter
 * or a query over rows the statement already has (RowSource): a bulk change's entries cost no
 * round trip of their own. The events module writes it in the
 * statement that appends the change's events (recordAudits), so entry and event are one write.
 */
export function auditEntriesInsert(writer: AuditWriter, entries: RowSource<AuditValues>): SQL {
  const source = rowsFrom(entries, (values) =>
    jsonRecordset(
      values.map((entry) => ({
        org_id: entry.orgId,
        action: entry.action,
        target_type: entry.targetType,
        target_id: entry.targetId,
        before: entry.before ?? null,
        after: entry.after ?? null,
      })),
      { org_id: 'uuid', action: 'text', target_type: 'text', target_id: 'text', before: 'jsonb', after: 'jsonb' },
    ),
  );
  return sql`audited AS (
        INSERT INTO audit_log (org_id, actor_user_id, actor_label, action, target_type, target_id, before, after, request_id, created_at)
        SELECT org_id, ${writer.actorUserId}::uuid, ${writer.actorLabel}, action, target_type, target_id, before, after,
               ${writer.requestId}, ${writer.now}
        FROM ${source} AS entry(org_id, action, target_type, target_id, before, after, position)
        ORDER BY entry.position)`;
}

// ---- the global audit log: changes that belong to no organization ----------------------------

export interface GlobalAuditValues {
  actorLabel: string;
  action: string;
  targetType: string;
  targetId: string;
  before: object | null;
  after: object | null;
  requestId: string;
  now: Date;
}

export async function insertGlobalAuditEntry(tx: Queryable, entry: GlobalAuditValues): Promise<void> {
  const json = (value: object | null) => (value ? JSON.stringify(value) : null);
  await tx.execute(
    sql`INSERT INTO global_audit_log (actor_label, action, target_type, target_id, before, after, request_id, created_at)
        VALUES (${entry.actorLabel}, ${entry.action}, ${entry.targetType}, ${entry.targetId}, ${json(entry.before)}::jsonb,
                ${json(entry.after)}::jsonb, ${entry.requestId}, ${entry.now})`,
  );
}

export interface GlobalAuditRow {
  id: string;
  actor_label: string;
  action: string;
  target_type: string;
  target_id: string;
  before: unknown;
  after: unknown;
  request_id: string | null;
  created_at: Date | string;
}

/** Newest first, `limit` entries older than the entry `before` (an id) when given. */
export async function globalAuditPage(db: Queryable, input: { limit: number; before: string | null }): Promise<GlobalAuditRow[]> {
  const older = input.before === null ? sql`` : sql`WHERE g.id < ${input.before}::bigint`;
  return queryRows<GlobalAuditRow>(
    db,
    // ORDER BY the column, not the text alias `id` (which sorted #9 before #33).
    sql`SELECT g.id::text AS id, g.actor_label, g.action, g.target_type, g.target_id, g.before, g.after, g.request_id, g.created_at
        FROM global_audit_log g ${older} ORDER BY g.id DESC LIMIT ${input.limit}`,
  );
}
