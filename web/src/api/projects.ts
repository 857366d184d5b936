// Request and reply shapes of the Projects routes (api-v1.md, "Projects"), written by hand until
// the dashboard's types are generated from the OpenAPI: this file is the one place to swap.
// Field names are the contract's snake_case on purpose: these objects are the wire format.

/** The caller's access to a project, as the server computes it. */
export type ProjectAccess = 'editor' | 'viewer' | 'admin';

/** What the caller may do on a project now; the dashboard shows controls only from this list. */
export type ProjectPermission = 'edit_project' | 'manage_project_members' | 'delete_project' | 'leave_project';

/** A JSON object of at most 64 KiB that Roster stores for the host app. */
export type ProjectSettings = Record<string, unknown>;

export interface Project {
  id: string;
  name: string;
  description: string | null;
  settings: ProjectSettings;
  created_at: string;
  my_access: ProjectAccess;
  permissions: ProjectPermission[];
}

export interface ProjectMember {
  user_id: string;
  email: string;
  display_name: string;
  /** `true`: edits the project and its team; `false`: viewer (read-only). */
  editor: boolean;
  added_at: string;
}

export interface ProjectsPage {
  projects: Project[];
  next_cursor: string | null;
}

export interface ProjectsQuery {
  cursor?: string;
  limit?: number;
}

/** `GET /api/v1/org/projects/{id}` */
export interface ProjectDetails {
  project: Project;
  members: ProjectMember[];
}

export interface CreateProjectInput {
  name: string;
  description?: string;
}

export interface UpdateProjectInput {
  name?: string;
  description?: string;
  settings?: ProjectSettings;
}
