import type { Project, ProjectAccess } from '../../api/projects';

const accessLabels: Record<ProjectAccess, string> = { editor: 'Editor', viewer: 'Viewer', admin: 'Admin' };

export function accessLabel(access: ProjectAccess): string {
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
