import { myProjectAccess, projectPermissions, type PolicyActor } from '../auth/permissions.ts';
import type { ProjectMemberRow, ProjectRow } from './queries.ts';

/** A project as the API shows it to `viewer`, with what the viewer may do to it now. */
export function presentProject(project: ProjectRow, viewer: PolicyActor) {
  const resource = { access: project.access, editorCount: project.editorCount };
  // Only a viewer who may see the project is shown it, so the access is never null here.
  const access = myProjectAccess(viewer, resource) ?? 'viewer';
  return {
    id: project.id,
    name: project.name,
    description: project.description,
    settings: project.settings,
    created_at: project.createdAt.toISOString(),
    updated_at: project.updatedAt.toISOString(),
    my_access: access,
    permissions: projectPermissions(viewer, resource),
  };
}

export function presentProjectMember(member: ProjectMemberRow) {
  return {
    user_id: member.userId,
    email: member.email,
    display_name: member.displayName,
    editor: member.editor,
    added_at: member.addedAt.toISOString(),
  };
}
