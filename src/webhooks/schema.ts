import { z } from 'zod';
import type { EventType } from '../events/types.ts';

// Every event type an endpoint may subscribe to. A Record over EventType: a new event type does not
// compile until it is listed here, so an endpoint can always ask for it.
const EVENT_TYPES: Record<EventType, true> = {
  'org.created': true,
  'org.updated': true,
  'org.ownership_transferred': true,
  'member.joined': true,
  'member.removed': true,
  'member.role_changed': true,
  'member.disabled': true,
  'member.enabled': true,
  'invite.created': true,
  'invite.resent': true,
  'invite.revoked': true,
  'invite.expired': true,
  'invite.accepted': true,
  'billing.seats_changed': true,
  'billing.plan_changed': true,
  'billing.status_changed': true,
  'usage.limit_changed': true,
  'usage.allocation_changed': true,
  'usage.allocation_low': true,
  'usage.allocation_exhausted': true,
  'usage.limit_exceeded': true,
  'storage.recounted': true,
  'project.created': true,
  'project.updated': true,
  'project.member_changed': true,
  'project.member_removed': true,
  'project.deleted': true,
};

export const WEBHOOK_EVENT_TYPES = Object.keys(EVENT_TYPES) as EventType[];

export function isEventType(value: string): value is EventType {
  return Object.hasOwn(EVENT_TYPES, value);
}

export const createEndpointBody = z.strictObject({
  url: z.string().max(2000).describe('http(s) URL that receives the POSTs; https only in production'),
  events: z
    .array(z.string().max(100))
    .min(1)
    .max(100)
    .describe(`Event types to receive, or ["*"] for all: ${WEBHOOK_EVENT_TYPES.join(', ')}`),
  org_id: z
    .string()
    .max(100)
    .optional()
    .describe("Only this org's events; omitted: the events of every org (the usual choice for a host app)"),
});

export const endpointSchema = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.string()),
  org_id: z.string().nullable().describe('null: receives the events of every org'),
  created_at: z.string(),
  previous_secret_expires_at: z
    .string()
    .nullable()
    .describe('After a rotation: until when deliveries are also signed with the previous secret (null: none)'),
});

export const createdEndpointSchema = z.object({
  webhook: endpointSchema,
  secret: z.string().describe('The signing secret (whsec_…): shown only in this reply, stored encrypted'),
});

export const endpointParams = z.object({ id: z.string().max(100) });

export const rotateSecretBody = z
  .strictObject({
    previous_secret_seconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 86_400)
      .optional()
      .describe('How long deliveries are also signed with the previous secret: 0 to 604800 seconds, default 86400 (a day)'),
  })
  .nullish()
  .describe('Optional: without a body the previous secret signs for a day');

export const deliveriesQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(100).optional(),
});

export const deliverySchema = z.object({
  event_id: z.string().describe('Also the webhook-id header: receivers deduplicate on it'),
  event_type: z.string(),
  org_id: z.string(),
  status: z.enum(['pending', 'delivered', 'failed']).describe('failed: given up after retrying for more than a day'),
  attempts: z.number().int(),
  last_status: z.number().int().nullable().describe("The receiver's HTTP status at the last attempt (null: no answer)"),
  last_error: z.string().nullable(),
  next_attempt_at: z.string().nullable().describe('When it is tried next (pending only)'),
  delivered_at: z.string().nullable(),
  failed_at: z.string().nullable(),
  created_at: z.string().describe('When the event happened'),
});

export const deliveriesReply = z.object({ deliveries: z.array(deliverySchema), next_cursor: z.string().nullable() });
