import { sql, type SQL } from 'drizzle-orm';
import { userColumns } from '../auth/queries.ts';
import type { ProjectAccess } from '../core/domain.ts';
import { AppError } from '../core/errors.ts';
import { queryRows, type Queryable } from '../db/client.ts';

// The statements on the tables projects owns: projects and project_members. Other modules call
// `leaveAllProjects` inside their own transaction (disabling or removing a member).

/** A project as one reader sees it. */
export interface ProjectRow {
  id: string;
  name: string;
  description: string | null;
  settings: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
  /** The reader's own flag on the team; null when the reader is not on it. */
  access: ProjectAccess | null;
  editorCount: number;
}

export interface ProjectMemberRow {
  userId: string;
  email: string;
  displayName: string;
  editor: boolean;
  addedAt: Date;
}

type RawProject = {
  id: string;
  name: string;
  description: string | null;
  settings: unknown;
  created_at: Date | string;
  updated_at: Date | string;
  editor: boolean | null;
  editor_count: string | number;
};

// pg parses jsonb; keep both engines alike if a driver hands back text.
function parseSettings(value: unknown): Record<string, unknown> {
  const parsed: unknown = typeof value === 'string' ? JSON.parse(value) : value;
  return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
}

function toProject(row: RawProject): ProjectRow {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    settings: parseSettings(row.settings),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    access: row.editor === null ? null : row.editor ? 'editor' : 'viewer',
    editorCount: Number(row.editor_count),
  };
}

const projectColumns = sql`p.id, p.name, p.description, p.settings, p.created_at, p.updated_at, me.editor,
  (SELECT count(*) FROM project_members e WHERE e.org_id = p.org_id AND e.project_id = p.id AND e.editor) AS editor_count`;

/** The reader's own row on the team (`me`), joined to each project `p`. */
function readerJoin(readerId: string): SQL {
  return sql`project_members me ON me.org_id = p.org_id AND me.project_id = p.id AND me.user_id = ${readerId}`;
}

/** One project with the reader's access and the editor count, in one snapshot; undefined when absent. */
export async function findProject(
  db: Queryable,
  orgId: string,
  projectId: string,
  readerId: string,
): Promise<ProjectRow | undefined> {
  const rows = await queryRows<RawProject>(
    db,
    sql`SELECT ${projectColumns}
        FROM projects p LEFT JOIN ${readerJoin(readerId)}
        WHERE p.org_id = ${orgId} AND p.id = ${projectId}`,
  );
  return rows[0] ? toProject(rows[0]) : undefined;
}

/**
 * Locks the project row: every rule that counts its editors runs after this in its transaction.
 * The count itself must be a later statement (see `countEditors`): a subquery here would read the
 * snapshot taken before the lock was granted, missing the change of the transaction it waited for.
 */
/** A project's current name as a scalar subquery, for another module's read (an audit entry's target label). */
export function projectNameColumn(orgId: string, projectId: SQL): SQL {
  return sql`(SELECT name FROM projects WHERE org_id = ${orgId} AND id = ${projectId})`;
}

export async function lockProject(tx: Queryable, orgId: string, projectId: string): Promise<boolean> {
  const rows = await queryRows<{ id: string }>(
    tx,
    sql`SELECT id FROM projects WHERE org_id = ${orgId} AND id = ${projectId} FOR UPDATE`,
  );
  return rows.length > 0;
}

export interface ProjectPageQuery {
  orgId: string;
  readerId: string;
  /** Every project of the org (owners/admins), or only those the reader is on the team of. */
  all: boolean;
  after: { createdAt: Date; id: string } | null;
  limit: number;
}

/** One keyset page ordered by (created_at, id). */
export async function projectPage(db: Queryable, query: ProjectPageQuery): Promise<ProjectRow[]> {
  const conditions = [sql`p.org_id = ${query.orgId}`];
  if (query.after) conditions.push(sql`(p.created_at, p.id) > (${query.after.createdAt}::timestamptz, ${query.after.id}::uuid)`);
  // Members start from their own team rows (index on (org_id, user_id)); admins from the org's projects.
  const join = query.all ? sql`LEFT JOIN` : sql`JOIN`;
  const rows = await queryRows<RawProject>(
    db,
    sql`SELECT ${projectColumns}
        FROM projects p ${join} ${readerJoin(query.readerId)}
        WHERE ${sql.join(conditions, sql` AND `)}
        ORDER BY p.created_at, p.id
        LIMIT ${query.limit}`,
  );
  return rows.map(toProject);
}

export async function insertProject(
  tx: Queryable,
  input: { orgId: string; name: string; description: string | null; createdBy: string; now: Date },
): Promise<{ id: string }> {
  const rows = await queryRows<{ id: string }>(
    tx,
    sql`INSERT INTO projects (org_id, name, description, settings, created_by, created_at, updated_at)
        VALUES (${input.orgId}, ${input.name}, ${input.description}, '{}'::jsonb, ${input.createdBy}, ${input.now}, ${input.now})
        RETURNING id`,
  );
  const row = rows[0];
  if (!row) throw new AppError('internal', 'The project could not be saved.');
  return row;
}

export interface ProjectChanges {
  name?: string;
  description?: string | null;
  settings?: Record<string, unknown>;
}

/** Applies the given fields (absent ones keep their value). */
export async function updateProject(
  tx: Queryable,
  orgId: string,
  projectId: string,
  changes: ProjectChanges,
  now: Date,
): Promise<void> {
  const assignments: SQL[] = [sql`updated_at = ${now}`];
  if (changes.name !== undefined) assignments.push(sql`name = ${changes.name}`);
  if (changes.description !== undefined) assignments.push(sql`description = ${changes.description}`);
  if (changes.settings !== undefined) assignments.push(sql`settings = ${JSON.stringify(changes.settings)}::jsonb`);
  await tx.execute(sql`UPDATE projects SET ${sql.join(assignments, sql`, `)} WHERE org_id = ${orgId} AND id = ${projectId}`);
}

/** Deletes the project; its team goes with it (foreign key cascade). */
export async function deleteProject(tx: Queryable, orgId: string, projectId: string): Promise<void> {
  await tx.execute(sql`DELETE FROM projects WHERE org_id = ${orgId} AND id = ${projectId}`);
}

// ---- the team ----------------------------------------------------------------------------------

type RawProjectMember = { user_id: string; email: string; name: string; editor: boolean; added_at: Date | string };

function toProjectMember(row: RawProjectMember): ProjectMemberRow {
  return { userId: row.user_id, email: row.email, displayName: row.name, editor: row.editor, addedAt: new Date(row.added_at) };
}

/** The team of a project, oldest first, with each member's account. */
export async function projectTeam(db: Queryable, orgId: string, projectId: string): Promise<ProjectMemberRow[]> {
  const rows = await queryRows<RawProjectMember>(
    db,
    sql`SELECT pm.user_id, u.email, u.name, pm.editor, pm.added_at
        FROM project_members pm CROSS JOIN LATERAL ${userColumns(sql`pm.user_id`)} u
        WHERE pm.org_id = ${orgId} AND pm.project_id = ${projectId}
        ORDER BY pm.added_at, pm.user_id`,
  );
  return rows.map(toProjectMember);
}

/** One person's flag on the team, or undefined when they are not on it. */
export async function findProjectMember(
  db: Queryable,
  orgId: string,
  projectId: string,
  userId: string,
): Promise<{ editor: boolean; addedAt: Date } | undefined> {
  const rows = await queryRows<{ editor: boolean; added_at: Date | string }>(
    db,
    sql`SELECT editor, added_at FROM project_members WHERE org_id = ${orgId} AND project_id = ${projectId} AND user_id = ${userId}`,
  );
  const row = rows[0];
  return row ? { editor: row.editor, addedAt: new Date(row.added_at) } : undefined;
}

/** Editors on the team; run after `lockProject` in the same transaction. */
export async function countEditors(db: Queryable, orgId: string, projectId: string): Promise<number> {
  const rows = await queryRows<{ count: number }>(
    db,
    sql`SELECT count(*)::int AS count FROM project_members WHERE org_id = ${orgId} AND project_id = ${projectId} AND editor`,
  );
  return Number(rows[0]?.count ?? 0);
}

/** Adds an org member to the team or changes their flag (keeping when they were added). */
export async function upsertProjectMember(
  tx: Queryable,
  input: { orgId: string; projectId: string; userId: string; editor: boolean; now: Date },
): Promise<ProjectMemberRow> {
  const rows = await queryRows<RawProjectMember>(
    tx,
    sql`WITH saved AS (
          INSERT INTO project_members (org_id, project_id, user_id, editor, added_at)
          VALUES (${input.orgId}, ${input.projectId}, ${input.userId}, ${input.editor}, ${input.now})
          ON CONFLICT (org_id, project_id, user_id) DO UPDATE SET editor = EXCLUDED.editor
          RETURNING user_id, editor, added_at)
        SELECT saved.user_id, u.email, u.name, saved.editor, saved.added_at
        FROM saved CROSS JOIN LATERAL ${userColumns(sql`saved.user_id`)} u`,
  );
  const row = rows[0];
  if (!row) throw new AppError('internal', 'The project member could not be saved.');
  return toProjectMember(row);
}

export async function deleteProjectMember(tx: Queryable, orgId: string, projectId: string, userId: string): Promise<void> {
  await tx.execute(
    sql`DELETE FROM project_members WHERE org_id = ${orgId} AND project_id = ${projectId} AND user_id = ${userId}`,
  );
}

/**
 * Takes a member off every project of the org (they are being disabled or removed), in the
 * caller's transaction; returns what they had, for the audit entries.
 */
export async function leaveAllProjects(
  tx: Queryable,
  orgId: string,
  userId: string,
): Promise<{ projectId: string; editor: boolean }[]> {
  const rows = await queryRows<{ project_id: string; editor: boolean }>(
    tx,
    sql`DELETE FROM project_members WHERE org_id = ${orgId} AND user_id = ${userId} RETURNING project_id, editor`,
  );
  return rows.map((row) => ({ projectId: row.project_id, editor: row.editor }));
}
