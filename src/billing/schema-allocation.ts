import { z } from 'zod';

/** `allocation` in GET /org/billing and GET /org/usage: the org's usage allocation this UTC month. */
export const allocationSchema = z
  .object({
    monthly: z.number().int().nullable().describe('Credits per UTC month; null: unlimited'),
    used: z.number().int().describe('Used this UTC month by all members'),
    remaining: z.number().int().nullable().describe('null: unlimited'),
  })
  .describe('Organization allocation (credits)');
