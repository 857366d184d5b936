// The dashboard shows or hides controls only from the `permissions` lists the server sends
// (GET /me → org.permissions, GET /org → permissions, and each member's permissions). Which
// role may do what is decided by the server's policy function; the action names come from
// the generated OpenAPI types (OrgAction, MemberAction in types.ts).
import type { Member, MemberAction } from './types';

/** Whether the server lets the caller take `action` on this member now. */
export function canActOn(member: Member, action: MemberAction): boolean {
  return member.permissions.includes(action);
}
