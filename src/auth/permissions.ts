import type { Actor } from '../core/context.ts';
import { AppError } from '../core/errors.ts';
import type { Role } from '../db/schema.ts';

const ADMINS: readonly Role[] = ['owner', 'admin'];
const EVERYONE: readonly Role[] = ['owner', 'admin', 'member'];

/** Which org roles may perform each action. The one place roles are listed. */
export const PERMISSIONS = {
  'org.read': EVERYONE,
  'org.rename': ADMINS,
  'members.list': EVERYONE,
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
  'audit.read': ADMINS,
  'projects.create': EVERYONE,
  'projects.manage_all': ADMINS,
} as const satisfies Record<string, readonly Role[]>;

export type Action = keyof typeof PERMISSIONS;

export function can(role: Role | null | undefined, action: Action): boolean {
  return role !== null && role !== undefined && (PERMISSIONS[action] as readonly Role[]).includes(role);
}

export type OrgActor = Actor & { membership: NonNullable<Actor['membership']> };

/** The acting member of an org, allowed to perform `action`; otherwise 403 `forbidden`. */
export function authorize(actor: Actor, action: Action): OrgActor {
  const membership = actor.membership;
  if (!membership) throw new AppError('forbidden', 'You are not a member of an organization.');
  if (!can(membership.role, action)) {
    throw new AppError('forbidden', 'Your role in this organization does not allow this. Ask an admin.');
  }
  return { ...actor, membership };
}

/** Re-checks a role read inside a transaction (after locking), against the same table. */
export function assertRoleCan(role: Role | null | undefined, action: Action): void {
  if (!can(role, action)) {
    throw new AppError('forbidden', 'Your role in this organization does not allow this. Ask an admin.');
  }
}
