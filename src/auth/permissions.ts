import { serviceTokenRefused, type Actor, type Caller, type ServiceActor } from '../core/context.ts';
import type { ErrorCode } from '../core/error-codes.ts';
import { AppError } from '../core/errors.ts';
import type { ProjectAccess, ServiceScope } from '../core/domain.ts';
import type { Role } from '../db/schema.ts';

export type { ProjectAccess };

/**
 * The one policy: `authorize(actor, action, resource)` answers every permission question, and the
 * same rules fill the `permissions` lists that clients read (GET /me, GET /org, member rows), so
 * the dashboard shows exactly the controls the server will accept. Project roles and service-token
 * scopes plug in here as further resources and rules.
 */

const ADMINS: readonly Role[] = ['owner', 'admin'];
const EVERYONE: readonly Role[] = ['owner', 'admin', 'member'];

/** Which org roles may perform each action. The one place roles are listed. */
export const PERMISSIONS = {
  'org.rename': ADMINS,
  'members.list': EVERYONE,
  'members.view': ADMINS,
  'members.change_role': ADMINS,
  'members.remove': ADMINS,
  'members.disable': ADMINS,
  'org.leave': EVERYONE,
  'org.transfer_ownership': ['owner'],
  'invites.create': ADMINS,
  'invites.list': ADMINS,
  'invites.revoke': ADMINS,
  'invites.resend': ADMINS,
  'usage.set_limit': ADMINS,
  'usage.read_org': ADMINS,
  'usage.record': EVERYONE,
  'billing.read_org': ADMINS,
  'billing.manage_org': ADMINS,
  'storage.read': EVERYONE,
  'storage.reserve': EVERYONE,
  // Only a service token with storage:write sets the total after a recount (no member role may).
  'storage.write': [],
  'audit.read': ADMINS,
  // Webhook endpoints are the host app's integration, which receives every org's events: only a
  // service token with webhooks:manage manages them (no org role may).
  'webhooks.manage': [],
  // Projects: every member may act on a project, and the project rules below narrow it to its
  // team (editors edit, viewers read); `projects.manage_all` is who sees and manages every project.
  'projects.create': EVERYONE,
  'projects.list': EVERYONE,
  'projects.read': EVERYONE,
  'projects.edit': EVERYONE,
  'projects.manage_members': EVERYONE,
  'projects.leave': EVERYONE,
  'projects.delete': EVERYONE,
  'projects.manage_all': ADMINS,
  // The host app's questions about a member (GET /authz/check, GET /users/{id}/membership): only a
  // service token with authz:read asks them, never a member.
  'authz.read': [],
} as const satisfies Record<string, readonly Role[]>;

export type Action = keyof typeof PERMISSIONS;

/**
 * The scope a service token needs for each action. A service token is refused every action not
 * listed here, and every action whose scope it lacks: no org, member, invite, usage or billing route
 * accepts one unless its action is named.
 */
export const SERVICE_ACTION_SCOPES: Partial<Record<Action, ServiceScope>> = {
  'storage.write': 'storage:write',
  'storage.reserve': 'storage:write',
  'authz.read': 'authz:read',
  'usage.record': 'usage:write',
  'webhooks.manage': 'webhooks:manage',
};

/**
 * A service token's refusal names what is missing: the scope the action needs, or that no scope
 * allows it (the action acts as a person, or belongs to an org's members).
 */
function refuseService(action: Action): Decision {
  const scope = SERVICE_ACTION_SCOPES[action];
  return scope
    ? refuse('forbidden', `This service token lacks the scope "${scope}" that this needs.`)
    : refuse('forbidden', `${serviceTokenRefused().message} No scope allows a service token to do this.`);
}

/** The member an action is aimed at (role change, removal, disabling, transfer …). */
export interface MemberResource {
  userId: string;
  role: Role;
  status: 'active' | 'disabled';
}

/** A project as the policy sees it: the actor's own place on its team, and how many editors it has. */
export interface ProjectResource {
  /** The actor's flag on the project's team; null when the actor is not on it. */
  access: ProjectAccess | null;
  /** Editors on the team now (read after locking the project row, for the last-editor rule). */
  editorCount: number;
}

/** A change to one person's place on a project's team (add, change the flag, remove). */
export interface ProjectMemberChange {
  userId: string;
  /** Their account's state; a disabled member cannot be added (removal does not need it). */
  status?: 'active' | 'disabled';
  /** Their flag now; null when they are not on the team. */
  editor: boolean | null;
  /** Their flag after the change; null removes them from the team. */
  to: boolean | null;
}

export type Resource = { member: MemberResource } | { project: ProjectResource; target?: ProjectMemberChange };

export type Decision = { allowed: true } | { allowed: false; code: ErrorCode; message: string };

const ALLOWED: Decision = { allowed: true };
const refuse = (code: ErrorCode, message: string): Decision => ({ allowed: false, code, message });

/** Who is asking: the user and their current role (re-read under the org lock by the services). */
export interface PolicyActor {
  userId: string;
  role: Role | null | undefined;
}

/** A service token as the policy sees it: its scopes only (no user, no org, no role). */
export interface ServicePolicyActor {
  scopes: readonly ServiceScope[];
}

/** Rules about the target member, after the role check passed. */
const MEMBER_RULES: Partial<Record<Action, (actor: PolicyActor, member: MemberResource) => Decision>> = {
  'members.change_role': (actor, member) => {
    if (member.userId === actor.userId)
      return refuse('cannot_change_own_role', 'You cannot change your own role. Ask another admin.');
    if (member.role === 'owner') return refuse('cannot_change_owner', "The owner's role changes only by transferring ownership.");
    // A disabled member cannot be made an admin (a disabled admin can still be made a member, so
    // that enabling them later does not bring admin rights back).
    if (member.status === 'disabled' && member.role === 'member') {
      return refuse('member_disabled', 'A disabled member cannot be made an admin. Support must enable the account first.');
    }
    return ALLOWED;
  },
  'members.remove': (actor, member) => {
    if (member.userId === actor.userId) {
      return refuse('cannot_remove_self', 'You cannot remove yourself. Use "Leave organization" instead.');
    }
    if (member.role === 'owner') return refuse('cannot_remove_owner', 'The owner cannot be removed. Transfer ownership first.');
    return ALLOWED;
  },
  'members.disable': (actor, member) => {
    if (member.userId === actor.userId)
      return refuse('cannot_disable_self', 'You cannot disable your own account. Ask another admin.');
    if (member.role === 'owner') return refuse('cannot_disable_owner', 'The owner cannot be disabled. Transfer ownership first.');
    return ALLOWED;
  },
  'org.transfer_ownership': (actor, member) => {
    if (member.userId === actor.userId)
      return refuse('already_owner', 'You already own this organization. Choose another member.');
    if (member.status === 'disabled') return refuse('member_disabled', 'Ownership cannot go to a disabled member.');
    return ALLOWED;
  },
};

/** Rules about the actor themselves, after the role check passed. */
const SELF_RULES: Partial<Record<Action, (actor: PolicyActor) => Decision>> = {
  'org.leave': (actor) =>
    actor.role === 'owner' ? refuse('owner_must_transfer', 'Transfer ownership to another member before you leave.') : ALLOWED,
};

// ---- projects ---------------------------------------------------------------------------------

const PROJECT_NOT_FOUND = refuse('project_not_found', 'No project with this id in your organization.');
const PROJECT_READ_ONLY = refuse('project_read_only', 'You can view this project but not change it. Ask one of its editors.');
/** Actions that change a project or its team: editors and owners/admins, never viewers. */
const PROJECT_WRITES: readonly Action[] = ['projects.edit', 'projects.manage_members', 'projects.delete'];

/**
 * Project access. Someone who may not see the project is answered as if it did not exist (404,
 * never a 403 that reveals it); viewers read; editors and org owners/admins change it. A project
 * keeps at least one editor unless an owner/admin manages it.
 */
function decideProject(actor: PolicyActor, action: Action, project: ProjectResource, target?: ProjectMemberChange): Decision {
  if (!can(actor.role, action)) return PROJECT_NOT_FOUND;
  const managesAll = can(actor.role, 'projects.manage_all');
  if (project.access === null && !managesAll) return PROJECT_NOT_FOUND;
  if (PROJECT_WRITES.includes(action) && project.access === 'viewer' && !managesAll) return PROJECT_READ_ONLY;
  if (action === 'projects.leave' && project.access === null) {
    return refuse('not_a_project_member', "You are not on this project's team.");
  }
  if (!target || (action !== 'projects.manage_members' && action !== 'projects.leave')) return ALLOWED;
  if (target.editor === null && target.to === null) {
    return refuse('not_a_project_member', "This person is not on the project's team.");
  }
  if (target.to !== null && target.status === 'disabled') {
    return refuse('member_disabled', 'A disabled member cannot join a project. Ask an admin to re-enable them first.');
  }
  const removesAnEditor = target.editor === true && target.to !== true;
  if (removesAnEditor && project.editorCount <= 1 && !managesAll) {
    return refuse('last_editor', 'This is the last editor of the project. Make someone else an editor first.');
  }
  return ALLOWED;
}

/** The refusal of an action that no role may take, only a service token (undefined for any other). */
export function serviceOnly(action: Action): Decision | undefined {
  if ((PERMISSIONS[action] as readonly Role[]).length > 0) return undefined;
  // No role may: asking an admin would not help (regression: an owner was told to).
  const scope = SERVICE_ACTION_SCOPES[action];
  return refuse(
    'forbidden',
    `Only the host app, with a service token${scope ? ` that has the scope "${scope}"` : ''}, can do this.`,
  );
}

/** The decision, with the stable code of the refusal. */
export function decide(actor: PolicyActor | ServicePolicyActor, action: Action, resource?: Resource): Decision {
  if ('scopes' in actor) {
    const scope = SERVICE_ACTION_SCOPES[action];
    return scope && actor.scopes.includes(scope) ? ALLOWED : refuseService(action);
  }
  if (resource && 'project' in resource) return decideProject(actor, action, resource.project, resource.target);
  if (!actor.role) return refuse('forbidden', 'You are not a member of an organization.');
  const onlyService = serviceOnly(action);
  if (onlyService) return onlyService;
  const roles = PERMISSIONS[action] as readonly Role[];
  if (!roles.includes(actor.role)) {
    return refuse('forbidden', 'Your role in this organization does not allow this. Ask an admin.');
  }
  const self = SELF_RULES[action]?.(actor) ?? ALLOWED;
  if (!self.allowed) return self;
  const memberRule = resource ? MEMBER_RULES[action] : undefined;
  return memberRule && resource ? memberRule(actor, resource.member) : ALLOWED;
}

export function can(role: Role | null | undefined, action: Action): boolean {
  return role !== null && role !== undefined && (PERMISSIONS[action] as readonly Role[]).includes(role);
}

/** The org roles that `can` perform `action`, for a rule that runs in SQL (the usage batch function). */
export function rolesThatCan(action: Action): Role[] {
  return EVERYONE.filter((role) => can(role, action));
}

/** The service token scopes that allow `action` (the usage batch checks a token's scopes in SQL against them). */
export function scopesThatCan(action: Action): ServiceScope[] {
  const scope = SERVICE_ACTION_SCOPES[action];
  return scope ? [scope] : [];
}

export type OrgActor = Actor & { membership: NonNullable<Actor['membership']> };

/** The acting member of an org, allowed to perform `action` (on `resource`); otherwise the refusal's error. */
export function authorize(caller: Caller, action: Action, resource?: Resource): OrgActor {
  const allowed = authorizeCaller(caller, action, resource);
  // An action a service token may take, asked by a route that acts for a member's own org.
  if (allowed.via === 'service_token') throw serviceTokenRefused();
  return allowed;
}

/**
 * As `authorize`, for the actions a service token may also take (its scopes decide): the member of
 * an org, or the service token (which names the org it acts on in its request).
 */
export function authorizeCaller(caller: Caller, action: Action, resource?: Resource): OrgActor | ServiceActor {
  if (caller.via === 'service_token') {
    const decision = decide({ scopes: caller.scopes }, action, resource);
    if (!decision.allowed) throw new AppError(decision.code, decision.message);
    return caller;
  }
  const actor = caller;
  const membership = actor.membership;
  const decision = decide({ userId: actor.userId, role: membership?.role }, action, resource);
  if (!decision.allowed) throw new AppError(decision.code, decision.message);
  if (!membership) throw new AppError('forbidden', 'You are not a member of an organization.');
  return { ...actor, membership };
}

/**
 * Re-checks inside a transaction, with the role re-read under the org lock (a role checked before
 * the lock could have changed by a concurrent demotion or transfer), against the same rules.
 */
export function assertAllowed(actor: PolicyActor, action: Action, resource?: Resource): void {
  const decision = decide(actor, action, resource);
  if (!decision.allowed) throw new AppError(decision.code, decision.message);
}

/** Role-only re-check (kept for callers that have no resource). */
export function assertRoleCan(role: Role | null | undefined, action: Action): void {
  if (!can(role, action)) {
    throw new AppError('forbidden', 'Your role in this organization does not allow this. Ask an admin.');
  }
}

// ---- the lists clients read ------------------------------------------------------------------

/** Org-wide permission names (contract: GET /me, GET /org) and the action each one stands for. */
const ORG_PERMISSIONS = {
  rename_org: 'org.rename',
  invite: 'invites.create',
  manage_members: 'members.change_role',
  disable_members: 'members.disable',
  set_usage_limits: 'usage.set_limit',
  view_org_usage: 'usage.read_org',
  manage_billing: 'billing.manage_org',
  view_audit: 'audit.read',
  create_project: 'projects.create',
  transfer_ownership: 'org.transfer_ownership',
  leave_org: 'org.leave',
} as const satisfies Record<string, Action>;

/** Per-member permission names (each member row of GET /org and GET /org/members). */
const MEMBER_PERMISSIONS = {
  view: 'members.view',
  change_role: 'members.change_role',
  remove: 'members.remove',
  disable: 'members.disable',
  set_usage_limit: 'usage.set_limit',
  transfer_ownership: 'org.transfer_ownership',
} as const satisfies Record<string, Action>;

/** Per-project permission names (every project reply). */
const PROJECT_PERMISSIONS = {
  edit_project: 'projects.edit',
  manage_project_members: 'projects.manage_members',
  delete_project: 'projects.delete',
  leave_project: 'projects.leave',
} as const satisfies Record<string, Action>;

export type OrgPermission = keyof typeof ORG_PERMISSIONS;
export type ProjectPermission = keyof typeof PROJECT_PERMISSIONS;
export const PROJECT_PERMISSION_NAMES = Object.keys(PROJECT_PERMISSIONS) as [ProjectPermission, ...ProjectPermission[]];
export type MemberPermission = keyof typeof MEMBER_PERMISSIONS;
export const ORG_PERMISSION_NAMES = Object.keys(ORG_PERMISSIONS) as [OrgPermission, ...OrgPermission[]];
export const MEMBER_PERMISSION_NAMES = Object.keys(MEMBER_PERMISSIONS) as [MemberPermission, ...MemberPermission[]];

function allowedNames<Name extends string>(table: Record<Name, Action>, check: (action: Action) => boolean): Name[] {
  return (Object.keys(table) as Name[]).filter((name) => check(table[name]));
}

/** What the actor may do in their org now. */
export function orgPermissions(actor: Actor): OrgPermission[] {
  const policyActor = { userId: actor.userId, role: actor.membership?.role };
  return allowedNames(ORG_PERMISSIONS, (action) => decide(policyActor, action).allowed);
}

/**
 * What the actor may do to one member now. `disable` is left out for a member already disabled:
 * the route stays an idempotent 200 for a retry, but offering it would be a control that changes
 * nothing (regression: the dashboard offered "Disable user" on disabled members).
 */
export function memberPermissions(actor: Actor, member: MemberResource): MemberPermission[] {
  const policyActor = { userId: actor.userId, role: actor.membership?.role };
  return allowedNames(
    MEMBER_PERMISSIONS,
    (action) =>
      !(action === 'members.disable' && member.status === 'disabled') && decide(policyActor, action, { member }).allowed,
  );
}

/** What the actor may do to one project now (`leave_project` already counts the last-editor rule). */
export function projectPermissions(actor: PolicyActor, project: ProjectResource): ProjectPermission[] {
  const leaving: ProjectMemberChange | undefined = project.access
    ? { userId: actor.userId, status: 'active', editor: project.access === 'editor', to: null }
    : undefined;
  return allowedNames(
    PROJECT_PERMISSIONS,
    (action) => decide(actor, action, { project, target: action === 'projects.leave' ? leaving : undefined }).allowed,
  );
}

/** The access a project reply shows: `admin` for org owners/admins, otherwise the team flag. */
export function myProjectAccess(actor: PolicyActor, project: ProjectResource): ProjectAccess | 'admin' | null {
  return can(actor.role, 'projects.manage_all') ? 'admin' : project.access;
}

// ---- the host app's question "may this user do X?" (GET /authz/check) -------------------------

/**
 * The names GET /authz/check answers: the org-wide names of GET /me and GET /org, and the
 * per-project names of project replies plus `view_project` (which a project reply implies, so
 * its list omits it). Each stands for the action the API itself checks.
 */
const CHECKABLE_PROJECT_PERMISSIONS = {
  view_project: 'projects.read',
  ...PROJECT_PERMISSIONS,
} as const satisfies Record<string, Action>;

export type CheckableProjectPermission = keyof typeof CHECKABLE_PROJECT_PERMISSIONS;
export type CheckablePermission = OrgPermission | CheckableProjectPermission;
export const CHECKABLE_PERMISSION_NAMES = [
  ...ORG_PERMISSION_NAMES,
  ...(Object.keys(CHECKABLE_PROJECT_PERMISSIONS) as CheckableProjectPermission[]),
] as [CheckablePermission, ...CheckablePermission[]];

/**
 * Why a check is refused: a small, stable set (documented in docs/api.md and the OpenAPI).
 * `owner_must_transfer` (the owner cannot leave) and `last_editor` (the last editor cannot leave
 * the project) are the policy's own refusals, passed on.
 */
export const CHECK_REASONS = [
  'not_a_member',
  'user_disabled',
  'insufficient_role',
  'owner_must_transfer',
  'project_not_found',
  'not_on_project',
  'project_read_only',
  'last_editor',
] as const;
export type CheckReason = (typeof CHECK_REASONS)[number];

export function isProjectPermission(name: CheckablePermission): name is CheckableProjectPermission {
  return Object.hasOwn(CHECKABLE_PROJECT_PERMISSIONS, name);
}

/** The user as the database shows them now: their account's state and their current role. */
export interface CheckSubject {
  userId: string;
  /** Null: the user belongs to no org (or does not exist). */
  role: Role | null;
  disabled: boolean;
}

export type CheckResult = { allowed: true; reason: null } | { allowed: false; reason: CheckReason };

function reasonOf(decision: Extract<Decision, { allowed: false }>): CheckReason {
  switch (decision.code) {
    case 'forbidden':
      return 'insufficient_role';
    // The API answers "not found" to someone not on the project so as not to reveal it; the
    // project is known to exist here (the caller found it in the user's org).
    case 'project_not_found':
    case 'not_a_project_member':
      return 'not_on_project';
    case 'owner_must_transfer':
    case 'project_read_only':
    case 'last_editor':
      return decision.code;
    default:
      throw new AppError('internal', `The policy refused with "${decision.code}", which no check reason names.`);
  }
}

/**
 * May `subject` do `name` now? The same `decide` the API runs, for the subject's current role: a
 * disabled user is never allowed, a user in no org is not a member, and a project permission needs
 * the project (null: no such project in the user's org).
 */
export function checkPermission(subject: CheckSubject, name: CheckablePermission, project?: ProjectResource | null): CheckResult {
  if (subject.disabled) return { allowed: false, reason: 'user_disabled' };
  if (!subject.role) return { allowed: false, reason: 'not_a_member' };
  const actor: PolicyActor = { userId: subject.userId, role: subject.role };
  let decision: Decision;
  if (isProjectPermission(name)) {
    if (!project) return { allowed: false, reason: 'project_not_found' };
    const action = CHECKABLE_PROJECT_PERMISSIONS[name];
    const leaving: ProjectMemberChange | undefined =
      action === 'projects.leave' && project.access
        ? { userId: subject.userId, status: 'active', editor: project.access === 'editor', to: null }
        : undefined;
    decision = decide(actor, action, { project, target: leaving });
  } else {
    decision = decide(actor, ORG_PERMISSIONS[name]);
  }
  return decision.allowed ? { allowed: true, reason: null } : { allowed: false, reason: reasonOf(decision) };
}
