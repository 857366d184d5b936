import {
  authorizeCaller,
  checkPermission,
  isProjectPermission,
  CHECKABLE_PERMISSION_NAMES,
  type CheckablePermission,
  type CheckResult,
} from '../auth/permissions.ts';
import { findSubject } from '../auth/queries.ts';
import { requireCaller, type Ctx } from '../core/context.ts';
import type { Role } from '../core/domain.ts';
import { AppError } from '../core/errors.ts';
import { onCitusDb } from '../db/citus.ts';
import { findMember, findMembershipOfUser, findOrg } from '../orgs/queries.ts';
import { findProject } from '../projects/queries.ts';

// The host app's questions about one of its users (issue 12): "may this user do X?" and "which
// org, role and limits does this user have?". Asked with a service token (authz:read), answered
// from the rows as they are now (nothing cached) by the same policy the API applies.

export interface CheckInput {
  userId: string;
  action: string;
  projectId?: string;
}

export type CheckAnswer = CheckResult & { role: Role | null; orgId: string | null };

function parseAction(name: string): CheckablePermission {
  if ((CHECKABLE_PERMISSION_NAMES as readonly string[]).includes(name)) return name as CheckablePermission;
  throw new AppError('invalid_action', `Unknown action "${name}". Ask one of: ${CHECKABLE_PERMISSION_NAMES.join(', ')}.`);
}

/** GET /authz/check: the user's current account state and role, asked of the one policy. */
export async function checkAuthz(ctx: Ctx, input: CheckInput): Promise<CheckAnswer> {
  authorizeCaller(requireCaller(ctx), 'authz.read');
  const action = parseAction(input.action);
  const forProject = isProjectPermission(action);
  if (forProject && !input.projectId) {
    throw new AppError('invalid_request', `"${action}" is a project permission: name the project with project_id.`);
  }
  if (!forProject && input.projectId) {
    throw new AppError('invalid_request', `"${action}" is an org-wide permission: leave project_id out.`);
  }
  // The account (disabled or not) and its membership, read together: in the statement that
  // authenticated the service token when the request hook read it (this request, never cached),
  // else in one prepared statement of its own.
  const prefetched = ctx.prefetchedSubject?.userId === input.userId ? ctx.prefetchedSubject : undefined;
  const row = prefetched ? prefetched.row : await findSubject(ctx.db, input.userId);
  const role = row?.role ?? null;
  const orgId = row?.org_id ?? null;
  const subject = { userId: input.userId, role, disabled: row?.disabled === true };
  let project = undefined;
  if (forProject && orgId && role && !subject.disabled) {
    const row = await findProject(ctx.db, orgId, input.projectId!, input.userId);
    project = row ? { access: row.access, editorCount: row.editorCount } : null;
  }
  return { ...checkPermission(subject, action, project), role, orgId };
}

export type MembershipAnswer =
  | { org: null }
  | {
      org: { id: string; slug: string; name: string; tier: 'team' | 'enterprise' | null };
      role: Role;
      status: 'active' | 'disabled';
      usageLimit: { daily: number | null; monthly: number | null };
    };

/**
 * GET /users/{id}/membership. A user in no org and an id no user has both answer `{org: null}`: the
 * token learns nothing about which ids exist (only the host app's own users matter to it).
 */
export async function membershipOf(ctx: Ctx, input: { userId: string }): Promise<MembershipAnswer> {
  authorizeCaller(requireCaller(ctx), 'authz.read');
  const membership = await findMembershipOfUser(ctx.db, input.userId, { citus: await onCitusDb(ctx.db) });
  if (!membership) return { org: null };
  const [org, member] = await Promise.all([
    findOrg(ctx.db, membership.orgId),
    findMember(ctx.db, membership.orgId, input.userId),
  ]);
  // Removed between the reads: as if it had been before them.
  if (!org || !member) return { org: null };
  return {
    org: { id: org.id, slug: org.slug, name: org.name, tier: org.plan },
    role: member.role,
    status: member.status,
    usageLimit: member.usageLimit ?? { daily: null, monthly: null },
  };
}
