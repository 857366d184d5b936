import { z } from 'zod';
import { PROJECT_PERMISSION_NAMES } from '../auth/permissions.ts';

export const projectPermissionSchema = z.enum(PROJECT_PERMISSION_NAMES);

const settings = z
  .record(z.string(), z.unknown())
  .describe('A JSON object stored for the host app, at most 64 KiB serialized (UTF-8); larger: 400 invalid_settings');

export const projectSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  settings,
  created_at: z.string(),
  updated_at: z.string(),
  my_access: z
    .enum(['editor', 'viewer', 'admin'])
    .describe('Your access: editor or viewer on the team, or admin as an org owner/admin (whether on the team or not)'),
  permissions: z
    .array(projectPermissionSchema)
    .describe('What you may do to this project now (decided by the same policy that answers the requests)'),
});

export const projectMemberSchema = z.object({
  user_id: z.string(),
  email: z.string(),
  display_name: z.string(),
  editor: z.boolean().describe('true: edits the project and its team; false: viewer (read-only)'),
  added_at: z.string(),
});

const name = z.string().max(200).describe('1 to 200 characters after trimming');
const description = z.string().max(2000).nullable().describe('At most 2,000 characters; empty or null clears it');

export const createProjectBody = z.strictObject({ name, description: description.optional() });
export const updateProjectBody = z.strictObject({
  name: name.optional(),
  description: description.optional(),
  settings: settings.optional().describe('Replaces the whole settings object'),
});
export const projectMemberBody = z.strictObject({ editor: z.boolean() });

export const projectIdParams = z.object({ id: z.string() });
export const projectMemberParams = z.object({ id: z.string(), user_id: z.string() });
export const projectsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});

export const projectReply = z.object({ project: projectSchema });
export const projectDetailReply = z.object({ project: projectSchema, members: z.array(projectMemberSchema) });
export const projectsReply = z.object({
  projects: z.array(projectSchema),
  next_cursor: z.string().nullable().describe('Continues with ?cursor=; null on the last page'),
});
export const projectMemberReply = z.object({ member: projectMemberSchema });
