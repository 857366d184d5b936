import { sql, type SQL } from 'drizzle-orm';
import { newRowId } from '../core/ids.ts';
import {
  jsonRecordset,
  queryRows,
  queryRowsPrepared,
  queryRowsPreparedLast,
  rowsFrom,
  statementOf,
  type Queryable,
  type StatementPart,
} from '../db/client.ts';
import { queueWebhookDeliveries } from '../webhooks/queries.ts';
import type { EventType, OrgEvent } from './types.ts';

/**
 * Appends events in the caller's transaction: they exist exactly when the change they describe
 * commits. One statement with the events as one JSON parameter (jsonRecordset), however many (a
 * bulk invitation); the same statement queues their webhook deliveries (src/webhooks) and wakes the
 * delivery workers.
 *
 * First, a per-org lock held until commit: an org's events are appended one transaction at a
 * time, so their positions follow commit order. Without it two transactions of one org could take
 * positions 5 and 6 and commit 6 first; a consumer that delivered 6 would then see 5 appear behind
 * it. With it, a committed position means every lower position of that org is committed or
 * rolled back, and the webhook lanes deliver in position order without waiting on anything.
 * Deadlock-free because every writer of an org takes this lock after its other locks on that org
 * (the org row, org_usage): a change that locks more after appending already holds the org row,
 * which serializes it with every other such change.
 *
 * The lock is taken in the same statement, before any position: the insert reads its rows through
 * a join with `locked` (one row, produced once every lock is held), and a row's identity value is
 * drawn only when that row reaches the insert. `alongside` are other modules' shares of the same
 * statement (the change's audit entries, src/audit/record.ts; an invitation's rows and emails,
 * src/invites/batch-writes.ts), and `name` the name of that shape of the prepared statement. The
 * events are values, or a query over rows that an `alongside` part defines (a bulk invitation's).
 * Returns the statement's row: the values the parts read back.
 */
export async function appendEvents(
  tx: Queryable,
  events: OrgEvent[] | { orgIds: string[]; query: SQL },
  now: Date,
  options: { name?: string; alongside?: StatementPart[]; last?: boolean } = {},
): Promise<Record<string, unknown>> {
  // A query over rows of the statement (RowSource): its (id, org_id, type, data, ordinal), of `orgIds`.
  const orgIds = Array.isArray(events) ? [...new Set(events.map((event) => event.orgId))].sort() : [...events.orgIds].sort();
  if (orgIds.length === 0) return {};
  const locked = sql`locked AS (
          SELECT count(pg_advisory_xact_lock(${EVENT_APPEND_LOCK}::int, hashtext(org.org_id))) AS held
          FROM ${jsonRecordset(
            orgIds.map((orgId) => ({ org_id: orgId })),
            { org_id: 'text' },
          )} AS org(org_id))`;
  const appended: StatementPart = {
    ctes: [
      sql`appended AS (
          INSERT INTO events (id, org_id, type, data, created_at)
          SELECT event.id, event.org_id, event.type, event.data, ${now}
          FROM ${rowsFrom(Array.isArray(events) ? events : { query: events.query }, (values) =>
            jsonRecordset(
              // Time-ordered ids: an org's (org_id, id) index takes them at its right edge.
              values.map((event) => ({ id: newRowId(), org_id: event.orgId, type: event.type, data: event.data })),
              { id: 'uuid', org_id: 'uuid', type: 'text', data: 'jsonb' },
            ),
          )} AS event(id, org_id, type, data, ordinal)
          CROSS JOIN locked
          WHERE locked.held = ${orgIds.length}
          ORDER BY event.ordinal
          RETURNING org_id, position, id, type, data, created_at)`,
    ],
    results: {},
  };
  // Prepared: one name per shape of the statement (its text never varies for a name).
  // `last`: the transaction's last statement, its COMMIT in the same round trip (queryRowsPreparedLast).
  const rows = await (options.last ? queryRowsPreparedLast : queryRowsPrepared)<Record<string, unknown>>(
    tx,
    options.name ?? 'roster_append_events',
    statementOf([...(options.alongside ?? []), appended, queueWebhookDeliveries(sql`appended`, now)], [locked]),
  );
  return rows[0] ?? {};
}

/** The class of the per-org advisory lock that orders event appends (two-key form: its own space). */
const EVENT_APPEND_LOCK = 5;

export interface StoredEvent {
  id: string;
  orgId: string;
  position: string;
  type: EventType;
  data: Record<string, unknown>;
  createdAt: Date;
}

/** An org's events in the order they were written (tests, and the webhook consumer to come). */
export async function eventsOfOrg(db: Queryable, orgId: string): Promise<StoredEvent[]> {
  const rows = await queryRows<{
    id: string;
    org_id: string;
    position: string;
    type: EventType;
    data: Record<string, unknown>;
    created_at: Date | string;
  }>(db, sql`SELECT id, org_id, position, type, data, created_at FROM events WHERE org_id = ${orgId} ORDER BY position`);
  return rows.map((row) => ({
    id: row.id,
    orgId: row.org_id,
    position: String(row.position),
    type: row.type,
    data: typeof row.data === 'string' ? JSON.parse(row.data) : row.data,
    createdAt: new Date(row.created_at),
  }));
}
