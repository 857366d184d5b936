import { z } from 'zod';
import { orgSchema } from '../orgs/schema.ts';

const inviteRole = z.enum(['admin', 'member']);

export const inviteSchema = z.object({
  id: z.string(),
  email: z.string(),
  role: inviteRole,
  status: z.enum(['pending', 'expired', 'accepted', 'revoked']),
  created_at: z.string(),
  expires_at: z.string(),
  link: z
    .string()
    .nullable()
    .describe(
      'PUBLIC_URL/invite/<token>: the live link (a resend replaces it). The token is rebuilt from a nonce with the server key, never stored; null only for invitations created before links could be rebuilt.',
    ),
  invited_by: z.object({ user_id: z.string().nullable(), name: z.string().nullable(), email: z.string().nullable() }),
});

export const createInviteBody = z.strictObject({
  email: z.string().max(320),
  role: inviteRole.default('member'),
});
export const inviteReply = z.object({ invite: inviteSchema });
export const inviteListReply = z.object({ invites: z.array(inviteSchema) });

export const bulkInviteBody = z
  .strictObject({
    text: z
      .string()
      .max(400_000)
      .optional()
      .describe('Free text: addresses separated by commas, semicolons, whitespace or newlines, `Name <addr>`, or prose'),
    emails: z.array(z.string().max(1000)).max(20_000).optional().describe('One address (or `Name <addr>`) per entry'),
    role: inviteRole.default('member'),
    dry_run: z.boolean().default(false).describe('Answer the same results and write nothing'),
  })
  .refine((body) => (body.text === undefined) !== (body.emails === undefined), {
    message: 'Give either text or emails, not both.',
  });

export const bulkResultSchema = z.union([
  z.object({
    email: z.string(),
    ok: z.literal(true),
    invite_id: z.string().nullable().describe('null in a dry run'),
  }),
  z.object({
    email: z.string(),
    ok: z.literal(false),
    error: z.object({ code: z.string(), message: z.string() }),
  }),
]);
export const bulkInviteReply = z.object({
  results: z.array(bulkResultSchema),
  invited: z.number().int(),
  failed: z.number().int(),
});

export const inviteIdParams = z.object({ id: z.string().max(100) });
export const acceptByIdParams = z.object({ invite_id: z.string().max(100) });
export const tokenParams = z.object({ token: z.string().max(200) });

export const publicInviteReply = z.object({
  org: z.object({ name: z.string() }),
  inviter: z.object({ name: z.string() }).nullable().describe('null when the inviter no longer has an account'),
  email: z.string(),
  role: inviteRole,
  status: z.enum(['pending', 'expired', 'revoked', 'accepted']),
});

export const acceptReply = z.object({ org: orgSchema, role: inviteRole });
