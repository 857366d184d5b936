import { sql, type SQL } from 'drizzle-orm';
import { deleteChunk, queryRows, type Db, type Queryable, type StatementPart } from '../db/client.ts';
import type { ClaimedJob, JobStore } from '../events/runtime.ts';
import { wakeWorkers } from '../events/wakeup.ts';

// The SQL of webhook_endpoints and webhook_deliveries, the tables the webhooks module owns.

/** The runtime queue that delivers webhook_deliveries; also the payload of its wake-ups. */
export const WEBHOOK_QUEUE = 'webhooks';

export interface EndpointRow {
  id: string;
  url: string;
  event_types: string[];
  org_id: string | null;
  created_at: Date | string;
  /** During a rotation: until when the previous secret still signs (null: no rotation under way). */
  previous_secret_expires_at: Date | string | null;
}

const endpointColumns = sql`id, url, event_types, org_id, created_at, previous_secret_expires_at`;

export async function insertEndpoint(
  db: Queryable,
  input: {
    id: string;
    url: string;
    eventTypes: string[];
    orgId: string | null;
    secretEncrypted: Buffer;
    createdBy: string;
    now: Date;
  },
): Promise<EndpointRow> {
  const [row] = await queryRows<EndpointRow>(
    db,
    sql`INSERT INTO webhook_endpoints (id, url, event_types, org_id, secret_encrypted, created_by, created_at)
        VALUES (${input.id}, ${input.url}, ${sql.param(input.eventTypes)}::text[], ${input.orgId}, ${input.secretEncrypted},
                ${input.createdBy}, ${input.now})
        RETURNING ${endpointColumns}`,
  );
  return row!;
}

export function listEndpoints(db: Queryable): Promise<EndpointRow[]> {
  return queryRows<EndpointRow>(db, sql`SELECT ${endpointColumns} FROM webhook_endpoints ORDER BY created_at, id`);
}

export async function findEndpoint(db: Queryable, id: string): Promise<EndpointRow | undefined> {
  const [row] = await queryRows<EndpointRow>(db, sql`SELECT ${endpointColumns} FROM webhook_endpoints WHERE id = ${id}`);
  return row;
}

/**
 * Rotates the endpoint's signing secret: the current one becomes the previous one, which keeps
 * signing until `previousExpiresAt` (a previous one still in its window is dropped: two at most).
 * Undefined when there is no such endpoint.
 */
export async function rotateEndpointSecret(
  db: Queryable,
  input: { id: string; secretEncrypted: Buffer; previousExpiresAt: Date },
): Promise<EndpointRow | undefined> {
  // The current ciphertext moves as it is: same key, same associated data (the endpoint id).
  const [row] = await queryRows<EndpointRow>(
    db,
    sql`UPDATE webhook_endpoints
        SET previous_secret_encrypted = secret_encrypted, previous_secret_expires_at = ${input.previousExpiresAt},
            secret_encrypted = ${input.secretEncrypted}
        WHERE id = ${input.id}
        RETURNING ${endpointColumns}`,
  );
  return row;
}

/** Deletes the endpoint and (ON DELETE CASCADE) its deliveries; false when there was none. */
/** Deletes the endpoint; its url, or undefined when no endpoint has the id. */
export async function deleteEndpoint(db: Queryable, id: string): Promise<{ url: string } | undefined> {
  const [row] = await queryRows<{ url: string }>(db, sql`DELETE FROM webhook_endpoints WHERE id = ${id} RETURNING url`);
  return row;
}

/**
 * The fan-out that the statement appending events carries (src/events/queries.ts): for each
 * appended event (the CTE named `appended`, with org_id, position, id, type, data, created_at), one
 * delivery per endpoint that wants it, and a wake-up of every process's delivery worker on commit.
 * A CTE of that statement: the deliveries exist exactly when their events commit, and an append
 * with no matching endpoint costs one empty join.
 */
export function queueWebhookDeliveries(appended: SQL, now: Date): StatementPart {
  return {
    ctes: [
      sql`queued_webhooks AS (
    INSERT INTO webhook_deliveries (org_id, endpoint_id, event_position, event_id, event_type, event_data, event_created_at,
                                    next_attempt_at)
    SELECT appended.org_id, endpoint.id, appended.position, appended.id, appended.type, appended.data, appended.created_at, ${now}
    FROM ${appended} AS appended
    JOIN webhook_endpoints endpoint
      ON (endpoint.org_id IS NULL OR endpoint.org_id = appended.org_id)
     AND (appended.type = ANY (endpoint.event_types) OR '*' = ANY (endpoint.event_types))
    RETURNING 1)`,
    ],
    results: { webhooks_woken: sql`(SELECT ${wakeWorkers(WEBHOOK_QUEUE)}::text WHERE EXISTS (SELECT FROM queued_webhooks))` },
  };
}

export interface DeliveryRow {
  org_id: string;
  event_position: string;
  event_id: string;
  event_type: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: Date | string;
  last_status: number | null;
  last_error: string | null;
  delivered_at: Date | string | null;
  finished_at: Date | string | null;
  event_created_at: Date | string;
}

/** An endpoint's delivery log, newest event first, after the cursor's position. */
export function deliveriesOf(
  db: Queryable,
  input: { endpointId: string; beforePosition: string | null; limit: number },
): Promise<DeliveryRow[]> {
  return queryRows<DeliveryRow>(
    db,
    sql`SELECT org_id, event_position::text, event_id, event_type, status, attempts, next_attempt_at, last_status, last_error,
               delivered_at, finished_at, event_created_at
        FROM webhook_deliveries d
        WHERE endpoint_id = ${input.endpointId}
          AND (${input.beforePosition}::bigint IS NULL OR d.event_position < ${input.beforePosition}::bigint)
        -- The column, not the text it is answered as ("10" sorts before "9").
        ORDER BY d.event_position DESC
        LIMIT ${input.limit}`,
  );
}

// ---- the job store ------------------------------------------------------------------------------

export interface ClaimedDelivery extends ClaimedJob {
  org_id: string;
  endpoint_id: string;
  event_position: string;
  event_id: string;
  event_type: string;
  event_data: Record<string, unknown> | string;
  event_created_at: Date | string;
  url: string;
  secret_encrypted: Buffer | Uint8Array;
  /** During a rotation: the previous secret, which also signs until it expires. */
  previous_secret_encrypted: Buffer | Uint8Array | null;
  previous_secret_expires_at: Date | string | null;
  /** The receiver's HTTP status of this attempt, set by the consumer before the outcome is written. */
  httpStatus?: number | null;
}

/**
 * The orgs with a lane whose head is due, the longest-waiting first: the claim then runs per org.
 * Only heads count: an org whose heads are in flight or waiting out a backoff has nothing to
 * claim, and counting the due rows queued behind them would let such orgs fill every round and
 * starve the others.
 */
function dueOrgs(db: Db, now: Date, limit: number): Promise<{ org_id: string }[]> {
  return queryRows(
    db,
    sql`SELECT head.org_id FROM webhook_deliveries head
        WHERE head.status = 'pending' AND head.next_attempt_at <= ${now}
          AND NOT EXISTS (${earlierPendingInLane})
        GROUP BY head.org_id
        ORDER BY min(head.next_attempt_at)
        LIMIT ${limit}`,
  );
}

/** Another pending delivery ahead of `head` in its lane (org, endpoint): `head` must wait for it. */
const earlierPendingInLane = sql`SELECT FROM webhook_deliveries earlier
  WHERE earlier.org_id = head.org_id AND earlier.endpoint_id = head.endpoint_id
    AND earlier.status = 'pending' AND earlier.event_position < head.event_position`;

/**
 * Claims, within one org, the head of each lane (org, endpoint) that is due: the lowest pending
 * position, never one behind another pending delivery of the same lane. A claimed head stays
 * pending, its next_attempt_at moved past the lease, so its lane stays blocked until it is
 * delivered or given up: one delivery in flight per lane, in position order. `org_id = $1` with
 * SKIP LOCKED keeps the statement on one shard (Citus allows SKIP LOCKED only there). The id is
 * built from immutable casts and text concatenation: Citus refuses non-immutable functions (the
 * uuid || bigint form resolves to a stable one) in the RETURNING of a distributed UPDATE.
 */
function claimInOrg(db: Db, input: { orgId: string; now: Date; leaseUntil: Date; limit: number }): Promise<ClaimedDelivery[]> {
  return queryRows<ClaimedDelivery>(
    db,
    sql`UPDATE webhook_deliveries delivery
        SET attempts = delivery.attempts + 1, next_attempt_at = ${input.leaseUntil}
        FROM (SELECT head.org_id, head.endpoint_id, head.event_position
              FROM webhook_deliveries head
              WHERE head.org_id = ${input.orgId} AND head.status = 'pending' AND head.next_attempt_at <= ${input.now}
                AND NOT EXISTS (${earlierPendingInLane})
              ORDER BY head.event_position
              LIMIT ${input.limit}
              FOR UPDATE SKIP LOCKED) due,
             webhook_endpoints endpoint
        WHERE delivery.org_id = due.org_id AND delivery.endpoint_id = due.endpoint_id
          AND delivery.event_position = due.event_position AND endpoint.id = delivery.endpoint_id
        RETURNING delivery.endpoint_id::text || '/' || delivery.event_position::text AS id, delivery.attempts, delivery.org_id,
                  delivery.endpoint_id, delivery.event_position::text, delivery.event_id, delivery.event_type,
                  delivery.event_data, delivery.event_created_at, endpoint.url, endpoint.secret_encrypted,
                  endpoint.previous_secret_encrypted, endpoint.previous_secret_expires_at`,
  );
}

const guard = (delivery: ClaimedDelivery) =>
  sql`org_id = ${delivery.org_id} AND endpoint_id = ${delivery.endpoint_id} AND event_position = ${delivery.event_position}
      AND status = 'pending' AND attempts = ${delivery.attempts}`;

/**
 * webhook_deliveries as a runtime job store: claims count the attempt and lease the row in one
 * statement; every later write is guarded by the attempt it claimed (a stale worker whose lease
 * ran out cannot overwrite a newer attempt).
 */
export const webhookDeliveryStore: JobStore<ClaimedDelivery> = {
  // The backlog for GET /metrics: deliveries not yet delivered or given up, and the oldest event among them.
  async stats(db: Db) {
    const [row] = await queryRows<{ depth: number; oldest_at: Date | string | null }>(
      db,
      sql`SELECT count(*)::int AS depth, min(event_created_at) AS oldest_at FROM webhook_deliveries WHERE status = 'pending'`,
    );
    return { depth: Number(row?.depth ?? 0), oldestAt: row?.oldest_at ? new Date(row.oldest_at) : null };
  },
  async claim(db, { now, leaseUntil, limit }) {
    const claimed: ClaimedDelivery[] = [];
    for (const { org_id: orgId } of await dueOrgs(db, now, limit)) {
      if (claimed.length >= limit) break;
      claimed.push(...(await claimInOrg(db, { orgId, now, leaseUntil, limit: limit - claimed.length })));
    }
    return claimed;
  },
  async succeeded(db, delivery, now) {
    await db.execute(
      sql`UPDATE webhook_deliveries
          SET status = 'delivered', delivered_at = ${now}, finished_at = ${now}, last_status = ${delivery.httpStatus ?? null},
              last_error = NULL
          WHERE ${guard(delivery)}`,
    );
  },
  async retryAt(db, delivery, at, error) {
    await db.execute(
      sql`UPDATE webhook_deliveries SET next_attempt_at = ${at}, last_status = ${delivery.httpStatus ?? null}, last_error = ${error}
          WHERE ${guard(delivery)}`,
    );
  },
  async failed(db, delivery, error) {
    // Given up: the lane's next event becomes claimable (the org's queue moves on).
    await db.execute(
      sql`UPDATE webhook_deliveries
          SET status = 'failed', finished_at = now(), last_status = ${delivery.httpStatus ?? null}, last_error = ${error}
          WHERE ${guard(delivery)}`,
    );
  },
};

/**
 * Retention (src/retention): deletes up to `limit` deliveries that finished (delivered or given
 * up) before `before`, and answers how many. A pending delivery is never deleted, however old.
 */
export function deleteFinishedDeliveries(db: Queryable, input: { before: Date; limit: number }): Promise<number> {
  return deleteChunk(db, {
    table: sql`webhook_deliveries`,
    key: sql`org_id, endpoint_id, event_position`,
    where: sql`status <> 'pending' AND finished_at < ${input.before}`,
    limit: input.limit,
  });
}
