import { sql } from 'drizzle-orm';
import type { Db } from './client.ts';
import { isMigrated } from './migrate.ts';

/** Readiness: the database answers and every migration is applied. */
export async function isReady(db: Db): Promise<boolean> {
  const reachable = await db.execute(sql`SELECT 1`).then(
    () => true,
    () => false,
  );
  return reachable && (await isMigrated(db));
}
