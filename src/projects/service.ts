import { cleanName } from '../core/text.ts';
import { recordAudit } from '../audit/record.ts';
import { assertAllowed, authorize, decide, type Action, type PolicyActor, type ProjectResource } from '../auth/permissions.ts';
import type { Actor, Ctx } from '../core/context.ts';
import { requireActor, requireCaller } from '../core/context.ts';
import { AppError } from '../core/errors.ts';
import { isUuid } from '../core/ids.ts';
import type { Tx } from '../db/client.ts';
import { lockActorInOrg, requireMember } from '../members/access.ts';
import { parseSettings, sameSettings } from './settings.ts';
import {
  countEditors,
  deleteProject as deleteProjectRow,
  deleteProjectMember,
  findProject,
  findProjectMember,
  insertProject,
  lockProject,
  projectPage,
  projectTeam,
  updateProject as updateProjectRow,
  upsertProjectMember,
  type ProjectChanges,
  type ProjectMemberRow,
  type ProjectRow,
} from './queries.ts';

// Projects and their teams (issue 11). Who may do what is the policy's (auth/permissions.ts):
// every operation here asks it with the project as the resource. Writes lock the org row and
// re-read the actor's role (members/access.ts), then lock the project row before counting editors.

/** A project and who it is shown to: the permissions in the reply are the viewer's. */
export interface ProjectView {
  project: ProjectRow;
  viewer: PolicyActor;
}

const notFound = () => new AppError('project_not_found', 'No project with this id in your organization.');

const resourceOf = (project: ProjectRow): ProjectResource => ({ access: project.access, editorCount: project.editorCount });

/** The caller's org for a route aimed at one project; a caller in no org, or a malformed id, finds nothing. */
function orgOfCaller(actor: Actor, projectId: string): string {
  if (!actor.membership || !isUuid(projectId)) throw notFound();
  return actor.membership.orgId;
}

export async function createProject(ctx: Ctx, input: { name: string; description?: string | null }): Promise<ProjectView> {
  const actor = authorize(requireCaller(ctx), 'projects.create');
  const name = parseName(input.name);
  const description = parseDescription(input.description);
  const orgId = actor.membership.orgId;
  return ctx.db.transaction(async (tx) => {
    const self = await lockActorInOrg(tx, orgId, actor.userId, 'projects.create');
    const now = ctx.clock.now();
    const { id } = await insertProject(tx, { orgId, name, description, createdBy: self.userId, now });
    // The creator is its first editor, whatever their org role.
    await upsertProjectMember(tx, { orgId, projectId: id, userId: self.userId, editor: true, now });
    await recordAudit(tx, ctx, {
      orgId,
      action: 'project.created',
      targetType: 'project',
      targetId: id,
      before: null,
      after: { name, description, editor: self.userId },
    });
    const project = await findProject(tx, orgId, id, self.userId);
    if (!project) throw new AppError('internal', 'The project could not be read back.');
    return { project, viewer: { userId: self.userId, role: self.role } };
  });
}

/** Owners and admins page through every project of the org; members through the projects they are on. */
export async function listProjects(
  ctx: Ctx,
  input: { limit: number; cursor: string | null },
): Promise<{ projects: ProjectRow[]; nextCursor: string | null; viewer: PolicyActor }> {
  const actor = authorize(requireCaller(ctx), 'projects.list');
  const viewer = { userId: actor.userId, role: actor.membership.role };
  const rows = await projectPage(ctx.db, {
    orgId: actor.membership.orgId,
    readerId: actor.userId,
    all: decide(viewer, 'projects.manage_all').allowed,
    after: input.cursor ? decodeCursor(input.cursor) : null,
    limit: input.limit + 1,
  });
  const projects = rows.slice(0, input.limit);
  const last = projects[projects.length - 1];
  return { projects, nextCursor: rows.length > input.limit && last ? encodeCursor(last) : null, viewer };
}

export async function getProject(ctx: Ctx, input: { projectId: string }): Promise<ProjectView & { members: ProjectMemberRow[] }> {
  const actor = requireActor(ctx);
  const orgId = orgOfCaller(actor, input.projectId);
  const viewer = { userId: actor.userId, role: actor.membership?.role };
  const project = await findProject(ctx.db, orgId, input.projectId, actor.userId);
  if (!project) throw notFound();
  assertAllowed(viewer, 'projects.read', { project: resourceOf(project) });
  const members = await projectTeam(ctx.db, orgId, project.id);
  return { project, viewer, members };
}

export async function updateProject(
  ctx: Ctx,
  input: { projectId: string; name?: string; description?: string | null; settings?: Record<string, unknown> },
): Promise<ProjectView> {
  const actor = requireActor(ctx);
  const orgId = orgOfCaller(actor, input.projectId);
  const wanted: ProjectChanges = {};
  if (input.name !== undefined) wanted.name = parseName(input.name);
  if (input.description !== undefined) wanted.description = parseDescription(input.description);
  if (input.settings !== undefined) wanted.settings = parseSettings(input.settings);
  return ctx.db.transaction(async (tx) => {
    const { project, viewer } = await openProject(tx, actor, orgId, input.projectId, 'projects.edit');
    const { before, after } = differences(project, wanted);
    if (Object.keys(after).length === 0) return { project, viewer };
    await updateProjectRow(tx, orgId, project.id, after, ctx.clock.now());
    await recordAudit(tx, ctx, {
      orgId,
      action: 'project.updated',
      targetType: 'project',
      targetId: project.id,
      before,
      after: { ...after },
    });
    return { project: await readBack(tx, orgId, project.id, viewer), viewer };
  });
}

/** Adds an org member to the team, or changes their editor flag. */
export async function setProjectMember(
  ctx: Ctx,
  input: { projectId: string; userId: string; editor: boolean },
): Promise<{ member: ProjectMemberRow }> {
  const actor = requireActor(ctx);
  const orgId = orgOfCaller(actor, input.projectId);
  return ctx.db.transaction(async (tx) => {
    const { project, viewer } = await openProject(tx, actor, orgId, input.projectId, 'projects.manage_members');
    const target = await requireMember(tx, orgId, input.userId);
    const current = await findProjectMember(tx, orgId, project.id, target.userId);
    assertAllowed(viewer, 'projects.manage_members', {
      project: resourceOf(project),
      target: { userId: target.userId, status: target.status, editor: current?.editor ?? null, to: input.editor },
    });
    if (current?.editor === input.editor) {
      const member = {
        userId: target.userId,
        email: target.email,
        displayName: target.displayName,
        editor: current.editor,
        addedAt: current.addedAt,
      };
      return { member };
    }
    const member = await upsertProjectMember(tx, {
      orgId,
      projectId: project.id,
      userId: target.userId,
      editor: input.editor,
      now: ctx.clock.now(),
    });
    await recordAudit(tx, ctx, {
      orgId,
      action: 'project.member_changed',
      targetType: 'project',
      targetId: project.id,
      before: current ? { user_id: target.userId, editor: current.editor } : null,
      after: { user_id: target.userId, editor: input.editor },
    });
    return { member };
  });
}

/** Takes someone off the team: editors and owners/admins remove anyone, every member may leave. */
export async function removeProjectMember(ctx: Ctx, input: { projectId: string; userId: string }): Promise<void> {
  const actor = requireActor(ctx);
  const orgId = orgOfCaller(actor, input.projectId);
  const userId = input.userId.toLowerCase();
  const action = userId === actor.userId ? 'projects.leave' : 'projects.manage_members';
  await ctx.db.transaction(async (tx) => {
    const { project, viewer } = await openProject(tx, actor, orgId, input.projectId, action);
    const current = isUuid(userId) ? await findProjectMember(tx, orgId, project.id, userId) : undefined;
    assertAllowed(viewer, action, {
      project: resourceOf(project),
      target: { userId, editor: current?.editor ?? null, to: null },
    });
    if (!current) throw new AppError('internal', 'The policy allowed removing someone who is not on the team.');
    await deleteProjectMember(tx, orgId, project.id, userId);
    await recordAudit(tx, ctx, {
      orgId,
      action: 'project.member_removed',
      targetType: 'project',
      targetId: project.id,
      before: { user_id: userId, editor: current.editor },
      after: null,
    });
  });
}

export async function deleteProject(ctx: Ctx, input: { projectId: string }): Promise<void> {
  const actor = requireActor(ctx);
  const orgId = orgOfCaller(actor, input.projectId);
  await ctx.db.transaction(async (tx) => {
    const { project } = await openProject(tx, actor, orgId, input.projectId, 'projects.delete');
    await deleteProjectRow(tx, orgId, project.id);
    await recordAudit(tx, ctx, {
      orgId,
      action: 'project.deleted',
      targetType: 'project',
      targetId: project.id,
      before: { name: project.name, description: project.description, settings: project.settings },
      after: null,
    });
  });
}

/**
 * The start of every project write: lock the org row and re-read the actor's role, lock the
 * project row, then read it (with the actor's access and the editor count) in a later statement,
 * so the read sees every change committed before the lock was granted; then ask the policy.
 */
async function openProject(
  tx: Tx,
  actor: Actor,
  orgId: string,
  projectId: string,
  action: Action,
): Promise<{ project: ProjectRow; viewer: PolicyActor }> {
  const self = await lockActorInOrg(tx, orgId, actor.userId, action);
  const viewer = { userId: self.userId, role: self.role };
  if (!(await lockProject(tx, orgId, projectId))) throw notFound();
  const project = await readBack(tx, orgId, projectId, viewer);
  // Same statement-level snapshot rule for the count that guards the last editor.
  const editorCount = await countEditors(tx, orgId, projectId);
  const locked = { ...project, editorCount };
  assertAllowed(viewer, action, { project: resourceOf(locked) });
  return { project: locked, viewer };
}

async function readBack(tx: Tx, orgId: string, projectId: string, viewer: PolicyActor): Promise<ProjectRow> {
  const project = await findProject(tx, orgId, projectId, viewer.userId);
  if (!project) throw notFound();
  return project;
}

/** The fields that change, with their values before and after (for the update and its audit entry). */
function differences(project: ProjectRow, wanted: ProjectChanges): { before: Record<string, unknown>; after: ProjectChanges } {
  const before: Record<string, unknown> = {};
  const after: ProjectChanges = {};
  if (wanted.name !== undefined && wanted.name !== project.name) {
    before.name = project.name;
    after.name = wanted.name;
  }
  if (wanted.description !== undefined && wanted.description !== project.description) {
    before.description = project.description;
    after.description = wanted.description;
  }
  if (wanted.settings !== undefined && !sameSettings(wanted.settings, project.settings)) {
    before.settings = project.settings;
    after.settings = wanted.settings;
  }
  return { before, after };
}

function parseName(value: string): string {
  const name = cleanName(value);
  if (!name || name.length > 200 || name.includes('\u0000')) {
    throw new AppError('invalid_request', 'Give the project a name of 1 to 200 characters, on one line.', { field: 'name' });
  }
  return name;
}

function parseDescription(value: string | null | undefined): string | null {
  const description = value?.trim() ?? '';
  if (description.length > 2000 || description.includes('\u0000')) {
    throw new AppError('invalid_request', 'Keep the description within 2,000 characters.', { field: 'description' });
  }
  return description === '' ? null : description;
}

function encodeCursor(project: ProjectRow): string {
  return Buffer.from(`project:${project.createdAt.toISOString()}|${project.id}`).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const match = /^project:([^|]+)\|(.+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  const createdAt = new Date(match?.[1] ?? '');
  const id = match?.[2] ?? '';
  if (Number.isNaN(createdAt.getTime()) || !isUuid(id)) {
    throw new AppError('invalid_cursor', 'The cursor is not valid. Start again from the first page.');
  }
  return { createdAt, id };
}
