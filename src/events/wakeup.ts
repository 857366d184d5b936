import { sql, type SQL } from 'drizzle-orm';

/** The one channel every Roster process LISTENs on; the payload names the queue that has work. */
export const WORK_CHANNEL = 'roster_work';

/**
 * `pg_notify(…)` for the statement that queues work, so that the wake-up is part of the enqueuing
 * transaction: PostgreSQL (and PGlite) deliver a NOTIFY only when that transaction commits, to every
 * listening process, and never for a rollback. No service has to remember a nudge after commit.
 */
export function wakeWorkers(queue: string): SQL {
  return sql`pg_notify(${WORK_CHANNEL}, ${queue})`;
}
