import { z } from 'zod';
import { memberPermissionSchema, orgPermissionSchema } from '../auth/schema.ts';

const role = z.enum(['owner', 'admin', 'member']);

export const memberSchema = z.object({
  user_id: z.string(),
  email: z.string(),
  display_name: z.string(),
  role,
  status: z.enum(['active', 'disabled']),
  joined_at: z.string(),
  usage_limit: z
    .object({ daily: z.number().int().nullable(), monthly: z.number().int().nullable() })
    .optional()
    .describe('Daily and monthly usage limits; null means no limit'),
  permissions: z
    .array(memberPermissionSchema)
    .describe('What the caller may do to this member now (decided by the same policy that answers the requests)'),
});

export const orgSchema = z.object({
  id: z.string(),
  name: z.string(),
  slug: z.string(),
  tier: z.enum(['team', 'enterprise']).nullable(),
  seats: z.object({
    used: z.number().int(),
    limit: z.number().int(),
    active_members: z.number().int(),
    pending_invites: z.number().int(),
  }),
  storage_used_bytes: z.number().int(),
  storage_limit_bytes: z.number().int().nullable().describe('null means unlimited (Enterprise)'),
  members_without_limit: z
    .number()
    .int()
    .describe('Active members with neither a daily nor a monthly usage limit: any of them could use the whole allocation'),
});

export const createOrgBody = z.strictObject({ name: z.string().max(200), slug: z.string().max(200) });
export const renameOrgBody = z.strictObject({ name: z.string().max(200) });
export const orgReply = z.object({ org: orgSchema });
export const ownOrgReply = z.union([
  z.object({
    org: orgSchema,
    members: z.array(memberSchema).describe('The first 100 members by join date'),
    members_total: z.number().int(),
    members_next_cursor: z.string().nullable().describe('Continues with GET /org/members?cursor=; null when all are shown'),
    role,
    permissions: z.array(orgPermissionSchema).describe('What the caller may do in the organization now'),
  }),
  z.object({}).strict().describe('The caller belongs to no organization'),
]);

export const membersQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
  q: z.string().max(200).optional(),
  role: role.optional(),
  status: z.enum(['active', 'disabled']).optional(),
});
export const membersReply = z.object({ members: z.array(memberSchema), next_cursor: z.string().nullable() });

export const userIdParams = z.object({ user_id: z.string() });
export const changeRoleBody = z.strictObject({ role: z.enum(['admin', 'member']) });
export const memberReply = z.object({ member: memberSchema });
export const transferBody = z.strictObject({ user_id: z.string() });
export const transferReply = z.object({ owner: memberSchema, previous_owner: memberSchema });
