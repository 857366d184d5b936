// The names of the actions the server lists in `permissions` (GET /me → org.permissions,
// GET /org → permissions, and each member's permissions). The dashboard shows or hides controls
// from these lists only; which role may do what is decided by the server's policy function.
import type { Member } from './types';

export type OrgAction =
  | 'rename_org'
  | 'invite'
  | 'manage_members'
  | 'disable_members'
  | 'set_usage_limits'
  | 'view_org_usage'
  | 'manage_billing'
  | 'view_audit'
  | 'transfer_ownership'
  | 'leave_org'
  | 'create_project';

export type MemberAction = 'view' | 'change_role' | 'remove' | 'disable' | 'set_usage_limit' | 'transfer_ownership';

/** Whether the server lets the caller take `action` on this member now. */
export function canActOn(member: Member & { permissions?: readonly string[] }, action: MemberAction): boolean {
  return member.permissions?.includes(action) ?? false;
}
