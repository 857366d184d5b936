-- Projects with per-project editor/viewer access (issue 11). A project belongs to one org; its
-- team is org members with an `editor` flag (false = viewer, read-only). Org owners and admins
-- see and manage every project without being on its team.

CREATE TABLE projects (
  org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  description text CHECK (char_length(description) <= 2000),
  -- Stored for the host app; the 64 KiB bound (serialized UTF-8 JSON) is checked by
  -- src/projects/service.ts, because jsonb's own text form differs from the client's bytes.
  settings jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(settings) = 'object'),
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, id)
);
-- GET /org/projects for owners and admins: keyset pages by (created_at, id) within the org.
CREATE INDEX projects_org_created_idx ON projects (org_id, created_at, id);

-- The team. Both foreign keys lead with org_id (distribution by org). The one to memberships
-- makes a member removed from the org leave every project in the same statement, and a
-- re-joined member comes back with no project access.
CREATE TABLE project_members (
  org_id uuid NOT NULL,
  project_id uuid NOT NULL,
  user_id uuid NOT NULL,
  editor boolean NOT NULL,
  added_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, project_id, user_id),
  FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, id) ON DELETE CASCADE,
  FOREIGN KEY (org_id, user_id) REFERENCES memberships (org_id, user_id) ON DELETE CASCADE
);
-- "Projects of a member" (GET /org/projects for members, leaving every project on removal).
CREATE INDEX project_members_org_user_idx ON project_members (org_id, user_id);

-- GET /api/v1/org/audit?target_type=project&target_id=…: one project's history, newest first.
CREATE INDEX audit_log_org_target_idx ON audit_log (org_id, target_type, target_id, id);
