// Verifies a Roster webhook delivery (Standard Webhooks 1.0: `webhook-id`, `webhook-timestamp`,
// `webhook-signature` over "id.timestamp.body", secret `whsec_…`) with the `standardwebhooks`
// package, and returns the event. Verify the raw body exactly as received: re-serialized JSON
// does not match the signature.
import { Webhook, WebhookVerificationError } from 'standardwebhooks';

/** The event types Roster sends (src/events/types.ts); new ones may be added, so any string is accepted too. */
export type RosterEventType =
  | 'org.created'
  | 'org.updated'
  | 'org.ownership_transferred'
  | 'member.joined'
  | 'member.removed'
  | 'member.role_changed'
  | 'member.disabled'
  | 'member.enabled'
  | 'invite.created'
  | 'invite.resent'
  | 'invite.revoked'
  | 'invite.expired'
  | 'invite.accepted'
  | 'billing.seats_changed'
  | 'billing.plan_changed'
  | 'billing.status_changed'
  | 'usage.limit_changed'
  | 'usage.limit_exceeded'
  | 'usage.allocation_changed'
  | 'usage.allocation_low'
  | 'usage.allocation_exhausted'
  | 'project.created'
  | 'project.updated'
  | 'project.member_changed'
  | 'project.member_removed'
  | 'project.deleted'
  | (string & {});

/** One delivery's body: `{id, type, created_at, org_id, data}`. Deduplicate on `id` (also `webhook-id`). */
export interface RosterWebhookEvent<Type extends RosterEventType = RosterEventType> {
  id: string;
  type: Type;
  created_at: string;
  org_id: string;
  data: Record<string, unknown>;
}

export { WebhookVerificationError };

/**
 * The verified event of a delivery, or throws WebhookVerificationError (bad or missing signature,
 * timestamp outside the 5-minute tolerance) — answer such a request with 400 and ignore it.
 */
export function verifyWebhook(
  secret: string,
  headers: Record<string, string | string[] | undefined> | Headers,
  rawBody: string | Buffer,
): RosterWebhookEvent {
  const flat: Record<string, string> = {};
  if (headers instanceof Headers) headers.forEach((value, name) => (flat[name.toLowerCase()] = value));
  else {
    for (const [name, value] of Object.entries(headers)) {
      const text = Array.isArray(value) ? value.join(', ') : value;
      if (text !== undefined) flat[name.toLowerCase()] = text;
    }
  }
  const payload = typeof rawBody === 'string' ? rawBody : rawBody.toString('utf8');
  const event = new Webhook(secret).verify(payload, flat) as RosterWebhookEvent;
  if (!event || typeof event !== 'object' || typeof event.type !== 'string' || typeof event.id !== 'string') {
    throw new WebhookVerificationError('The body is not a Roster event');
  }
  return event;
}
