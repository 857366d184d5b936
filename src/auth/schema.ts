import { z } from 'zod';
import { MEMBER_PERMISSION_NAMES, ORG_PERMISSION_NAMES } from './permissions.ts';

export const userSchema = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  email_verified: z.boolean(),
});

export const signupBody = z.strictObject({
  email: z.string().max(2000),
  password: z.string().max(1000),
  name: z.string().min(1).max(200),
  invite_token: z.string().max(200).optional(),
});

export const loginBody = z.strictObject({
  email: z.string().max(2000),
  password: z.string().max(1000),
});

export const sessionReply = z.object({ user: userSchema, token: z.string() });

export const verifyEmailBody = z.strictObject({ token: z.string().max(200) });

export const passwordResetBody = z.strictObject({ email: z.string().max(2000) });
export const changePasswordBody = z.strictObject({
  current_password: z.string().max(1000),
  new_password: z.string().max(1000),
});
export const passwordResetConfirmBody = z.strictObject({ token: z.string().max(200), password: z.string().max(1000) });

export const orgPermissionSchema = z.enum(ORG_PERMISSION_NAMES);
export const memberPermissionSchema = z.enum(MEMBER_PERMISSION_NAMES);

export const meReply = z.object({
  user: userSchema,
  org: z
    .object({
      id: z.string(),
      slug: z.string(),
      name: z.string(),
      role: z.enum(['owner', 'admin', 'member']),
      permissions: z.array(orgPermissionSchema).describe('What you may do in the organization now'),
    })
    .nullable(),
});

export const createTokenBody = z.strictObject({ name: z.string().trim().min(1).max(100) });
export const tokenSchema = z.object({ id: z.string(), name: z.string(), created_at: z.string() });
export const createdTokenReply = tokenSchema.extend({ token: z.string().describe('Shown once; store it now.') });
export const tokenListReply = z.object({ tokens: z.array(tokenSchema) });
export const tokenIdParams = z.object({ id: z.string() });

export const updateProfileBody = z.strictObject({ name: z.string().max(200) });
