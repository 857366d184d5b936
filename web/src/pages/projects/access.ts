import type { Project, ProjectAccess } from '../../api/projects';

const accessLabels: Record<ProjectAccess, string> = { editor: 'Editor', viewer: 'Viewer', admin: 'Admin' };

/**
 * The badge of the caller's access. The server reports org owners and admins alike as `admin`
 * access (both manage every project); the org role, for display only, names the owner as such.
 */
export function accessLabel(access: ProjectAccess, orgRole?: string | null): string {
  if (access === 'admin' && orgRole === 'owner') return 'Owner';
  return accessLabels[access] ?? access;
}

/** Why the settings are read-only, from the access the server reports. */
export function readOnlyReason(project: Project): string {
  if (project.my_access === 'viewer') {
    return 'You are a viewer of this project: only editors and admins can change it.';
  }
  return 'You cannot change this project.';
}

export function describeMember(member: { display_name: string; email: string }): string {
  return member.display_name || member.email;
}
