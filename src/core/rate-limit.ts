import { sql } from 'drizzle-orm';
import { queryRows, type Queryable } from '../db/client.ts';

/**
 * Counts one event against `key` in a fixed window and returns whether it is within `limit`.
 * One atomic upsert, so concurrent requests on any number of processes count exactly.
 */
export async function consumeRateLimit(
  db: Queryable,
  input: { key: string; limit: number; windowSeconds: number; now: Date },
): Promise<{ allowed: boolean; retryAfterSeconds: number }> {
  const rows = await queryRows<{ count: number; window_start: Date | string }>(
    db,
    sql`INSERT INTO rate_limits (key, window_start, count) VALUES (${input.key}, ${input.now}, 1)
        ON CONFLICT (key) DO UPDATE SET
          count = CASE WHEN rate_limits.window_start <= ${input.now}::timestamptz - make_interval(secs => ${input.windowSeconds})
                       THEN 1 ELSE rate_limits.count + 1 END,
          window_start = CASE WHEN rate_limits.window_start <= ${input.now}::timestamptz - make_interval(secs => ${input.windowSeconds})
                       THEN ${input.now} ELSE rate_limits.window_start END
        RETURNING count, window_start`,
  );
  const row = rows[0];
  const count = Number(row?.count ?? 1);
  const windowStart = row ? new Date(row.window_start) : input.now;
  const resetsAt = windowStart.getTime() + input.windowSeconds * 1000;
  return {
    allowed: count <= input.limit,
    retryAfterSeconds: Math.max(1, Math.ceil((resetsAt - input.now.getTime()) / 1000)),
  };
}

/** Whether `key` is already over `limit` in its current window, without counting. */
export async function isRateLimited(
  db: Queryable,
  input: { key: string; limit: number; windowSeconds: number; now: Date },
): Promise<boolean> {
  const rows = await queryRows<{ count: number }>(
    db,
    sql`SELECT count FROM rate_limits
        WHERE key = ${input.key}
          AND window_start > ${input.now}::timestamptz - make_interval(secs => ${input.windowSeconds})`,
  );
  return Number(rows[0]?.count ?? 0) >= input.limit;
}

export async function clearRateLimit(db: Queryable, key: string): Promise<void> {
  await db.execute(sql`DELETE FROM rate_limits WHERE key = ${key}`);
}
