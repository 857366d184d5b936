import type { Member, OrgRole } from '../../api/types';

export interface Viewer {
  userId: string;
  role: OrgRole | null;
}

/**
 * Which row actions to show. The server refuses anything a role may not do anyway; this
 * only hides controls that would certainly be refused (contract: owner and self rules).
 */
export function memberActionsFor(viewer: Viewer, member: Member) {
  const isAdmin = viewer.role === 'owner' || viewer.role === 'admin';
  const isSelf = viewer.userId === member.user_id;
  const isOwnerRow = member.role === 'owner';
  const isActive = member.status === 'active';
  return {
    canView: isAdmin,
    canChangeRole: isAdmin && !isSelf && !isOwnerRow && isActive,
    canSetUsageLimit: isAdmin && isActive,
    canTransferOwnership: viewer.role === 'owner' && !isSelf && isActive,
    canDisable: isAdmin && !isSelf && !isOwnerRow && isActive,
    canRemove: isAdmin && !isSelf && !isOwnerRow,
  };
}
