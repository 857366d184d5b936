import { z } from 'zod';
import { memberSchema } from '../orgs/schema.ts';
import { allocationSchema } from '../billing/schema-allocation.ts';

const limit = z.number().int().nullable().describe('null: no limit');
const byActivity = z.record(z.string(), z.number().int()).describe('Quantity per activity type');

export const recordUsageBody = z.strictObject({
  activity: z
    .string()
    .regex(/^[a-z0-9_.-]{1,64}$/)
    .describe('Activity type chosen by the host app: 1-64 characters of a-z, 0-9, "_", "." and "-"'),
  quantity: z.number().int().min(1).max(1_000_000_000),
  user_id: z
    .uuid()
    .optional()
    .describe('Service tokens (usage:write) only: the member to record for. A member records only for themselves.'),
  key: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe(
      'Makes a retry count once: the same key for the same member in the same UTC month answers the first receipt ' +
        '(409 idempotency_key_reused with another activity or quantity)',
    ),
});

export const usageReceiptReply = z.object({
  day: z.object({ used: z.number().int(), limit }),
  month: z.object({ used: z.number().int(), limit }),
});

export const ownUsageReply = z.object({
  day: z.object({ used: z.number().int(), limit, by_activity: byActivity }),
  month: z.object({ used: z.number().int(), limit, by_activity: byActivity }),
  allocation: allocationSchema.describe(
    "The organization's allocation this UTC month, which every member's usage draws from: at remaining 0, requests get 429 org_allocation_exhausted",
  ),
});

export const orgUsageQuery = z.strictObject({
  period: z.enum(['day', 'month']).default('month'),
  limit: z.coerce.number().int().min(1).max(200).default(50).describe('Members per page'),
  cursor: z.string().max(200).optional().describe('next_cursor of the previous page (the cursor of GET /org/members)'),
});

export const orgUsageReply = z.object({
  period: z.enum(['day', 'month']),
  start: z.string().describe('Start of the UTC period'),
  end: z.string().describe('End of the UTC period (exclusive): when the counters reset'),
  allocation: allocationSchema,
  members: z.array(
    z.object({
      user_id: z.string(),
      email: z.string(),
      display_name: z.string(),
      status: z.enum(['active', 'disabled']),
      total: z.number().int(),
      by_activity: byActivity,
      limits: z.object({ daily: limit, monthly: limit }),
    }),
  ),
  next_cursor: z.string().nullable().describe('Continues with ?cursor=; null when this page holds the last member'),
});

export const usageLimitBody = z.strictObject({
  daily: z.union([z.number(), z.null()]).describe('Whole number >= 0, or null for no daily limit'),
  monthly: z.union([z.number(), z.null()]).describe('Whole number >= 0, or null for no monthly limit'),
});

export const usageLimitReply = z.object({ member: memberSchema });
