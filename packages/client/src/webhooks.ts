// Verifies a Roster webhook delivery (Standard Webhooks 1.0: `webhook-id`, `webhook-timestamp`,
// `webhook-signature` over "id.timestamp.body", secret `whsec_…`) with the `standardwebhooks`
// package, and returns the event. Verify the raw body exactly as received: re-serialized JSON
// does not match the signature.
import { Webhook, WebhookVerificationError } from 'standardwebhooks';

/**
 * The event types Roster sends (the server's list: WEBHOOK_EVENT_TYPES in src/webhooks/schema.ts;
 * webhooks.test.ts fails when the two differ).
 */
export const ROSTER_EVENT_TYPES = [
  'org.created',
  'org.updated',
  'org.ownership_transferred',
  'member.joined',
  'member.removed',
  'member.role_changed',
  'member.disabled',
  'member.enabled',
  'invite.created',
  'invite.resent',
  'invite.revoked',
  'invite.expired',
  'invite.accepted',
  'billing.seats_changed',
  'billing.plan_changed',
  'billing.status_changed',
  'usage.limit_changed',
  'usage.limit_exceeded',
  'usage.allocation_changed',
  'usage.allocation_low',
  'usage.allocation_exhausted',
  'storage.recounted',
  'project.created',
  'project.updated',
  'project.member_changed',
  'project.member_removed',
  'project.deleted',
] as const;

/** An event type Roster sends today. */
export type KnownRosterEventType = (typeof ROSTER_EVENT_TYPES)[number];

/** An event's type: one of today's, or a newer one (new types may be added, so any string is accepted too). */
export type RosterEventType = KnownRosterEventType | (string & {});

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
 * timestamp outside the 5-minute tolerance, a body that is not a Roster event): answer such a
 * request with 400 and ignore it. Throws a TypeError when `rawBody` is not the raw body (a string,
 * Buffer or Uint8Array) but, say, the object a JSON body parser made of it: a host bug, not a forgery.
 */
const SIGNATURE_HEADERS = ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const;

export function verifyWebhook(
  secret: string,
  headers: Record<string, string | string[] | undefined> | Headers,
  rawBody: string | Uint8Array,
): RosterWebhookEvent {
  const flat: Record<string, string> = {};
  if (headers instanceof Headers) headers.forEach((value, name) => (flat[name.toLowerCase()] = value));
  else {
    for (const [name, value] of Object.entries(headers)) {
      const text = Array.isArray(value) ? value.join(', ') : value;
      if (text !== undefined) flat[name.toLowerCase()] = text;
    }
  }
  // A request without the signature headers, or with no body and another content type than
  // Roster's JSON (a raw parser for JSON took nothing), is not a delivery: refused (400) before
  // the body is looked at (regression: junk requests answered 500, logged as the host's bug).
  const missing = SIGNATURE_HEADERS.filter((name) => !flat[name]);
  if (missing.length > 0) throw new WebhookVerificationError(`Missing required headers: ${missing.join(', ')}`);
  const isJson = /^application\/json\s*(;|$)/i.test(flat['content-type'] ?? '');
  if ((rawBody === undefined || rawBody === null) && !isJson) {
    throw new WebhookVerificationError('The body is not application/json: not a Roster delivery');
  }
  const payload = rawBodyText(rawBody);
  // Signature first; the body is parsed here, after it, so a signed body that is not JSON is a
  // WebhookVerificationError like any other that is not a Roster event (not the parser's SyntaxError).
  new Webhook(secret).verify(payload, flat, { jsonParse: false });
  const event = parseEvent(payload);
  if (!event) throw new WebhookVerificationError('The body is not a Roster event');
  return event;
}

function rawBodyText(rawBody: unknown): string {
  if (typeof rawBody === 'string') return rawBody;
  // ignoreBOM keeps a leading BOM, as Buffer's toString does: the signature covers it.
  if (rawBody instanceof Uint8Array) return new TextDecoder('utf-8', { ignoreBOM: true }).decode(rawBody);
  const what = rawBody === null ? 'null' : typeof rawBody;
  throw new TypeError(
    `verifyWebhook needs the raw body as received (a string, Buffer or Uint8Array), not ${what === 'object' ? 'a parsed object' : what}: ` +
      'the signature covers the exact bytes. Take it before any JSON parser runs: with Fastify, ' +
      "addContentTypeParser('application/json', { parseAs: 'string' }, …) in the webhook route's scope; " +
      "with Express, express.raw({ type: 'application/json' }) on the webhook route.",
  );
}

function parseEvent(payload: string): RosterWebhookEvent | undefined {
  let event: unknown;
  try {
    event = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (!event || typeof event !== 'object') return undefined;
  const { id, type } = event as { id?: unknown; type?: unknown };
  return typeof id === 'string' && typeof type === 'string' ? (event as RosterWebhookEvent) : undefined;
}
