import { z } from 'zod';

export const auditQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
  action: z.string().max(100).optional().describe('Only entries with this action, e.g. member.role_changed'),
  actor: z.string().max(320).optional().describe('Only entries by this actor: a user id or an email address'),
  target_type: z
    .enum(['user', 'invitation', 'org', 'project'])
    .optional()
    .describe('Only entries about this kind of target (another value is refused: a typo would otherwise find nothing)'),
  target_id: z.string().max(200).optional().describe('Only entries about this target id (with target_type), e.g. one project'),
});

export const auditEntrySchema = z.object({
  id: z.string(),
  action: z.string(),
  actor: z
    .object({ user_id: z.string(), email: z.string().nullable() })
    .nullable()
    .describe('The acting user; null for the operator CLI and the system'),
  actor_label: z.string().describe('Who acted, as recorded at the time: an email, operator:<name> or system'),
  target_type: z.string().nullable(),
  target_id: z.string().nullable(),
  target_label: z
    .string()
    .nullable()
    .describe(
      "What a person knows the target by: a user's or invitation's email, a project's or the org's name, as it is now; for a target that is gone, the last one the log recorded",
    ),
  before: z.unknown().describe('Values before the change (null when created)'),
  after: z.unknown().describe('Values after the change (null when deleted)'),
  created_at: z.string(),
  request_id: z.string().nullable(),
});

export const auditReply = z.object({ entries: z.array(auditEntrySchema), next_cursor: z.string().nullable() });
