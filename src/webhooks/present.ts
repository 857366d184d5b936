import type { z } from 'zod';
import type { DeliveryRow, EndpointRow } from './queries.ts';
import type { deliverySchema, endpointSchema } from './schema.ts';

const iso = (value: Date | string) => new Date(value).toISOString();
const isoOrNull = (value: Date | string | null) => (value === null ? null : iso(value));

/**
 * An endpoint as the API shows it: never its secret (the row read here does not even hold it).
 * `previous_secret_expires_at` only while a rotation's window is open (regression: a past time).
 */
export function presentEndpoint(row: EndpointRow, now: Date): z.infer<typeof endpointSchema> {
  const previousExpiresAt = row.previous_secret_expires_at === null ? null : new Date(row.previous_secret_expires_at);
  return {
    id: row.id,
    url: row.url,
    events: row.event_types,
    org_id: row.org_id,
    created_at: iso(row.created_at),
    previous_secret_expires_at: previousExpiresAt && previousExpiresAt > now ? previousExpiresAt.toISOString() : null,
  };
}

export function presentDelivery(row: DeliveryRow): z.infer<typeof deliverySchema> {
  return {
    event_id: row.event_id,
    event_type: row.event_type,
    org_id: row.org_id,
    status: row.status,
    attempts: Number(row.attempts),
    last_status: row.last_status === null ? null : Number(row.last_status),
    last_error: row.last_error,
    next_attempt_at: row.status === 'pending' ? iso(row.next_attempt_at) : null,
    delivered_at: isoOrNull(row.delivered_at),
    failed_at: row.status === 'failed' ? isoOrNull(row.finished_at) : null,
    created_at: iso(row.event_created_at),
  };
}
