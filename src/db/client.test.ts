import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../core/errors.ts';
import { serverPostgresUrl } from '../../test/kit/postgres.ts';
import { DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS, openDatabase, queryRows } from './client.ts';

const serverUrl = serverPostgresUrl();

describe.skipIf(!serverUrl)('PostgreSQL pool connections', () => {
  it('bound transactions left idle: every pooled connection has idle_in_transaction_session_timeout', async () => {
    const database = await openDatabase({ databaseUrl: serverUrl, poolSize: 2, idleInTransactionTimeoutMs: 1234 });
    try {
      const rows = await queryRows<{ timeout: string }>(
        database.db,
        sql`SELECT current_setting('idle_in_transaction_session_timeout') AS timeout`,
      );
      expect(rows[0]?.timeout).toBe('1234ms');
    } finally {
      await database.close();
    }
    const defaults = await openDatabase({ databaseUrl: serverUrl, poolSize: 1 });
    try {
      const rows = await queryRows<{ timeout: string }>(
        defaults.db,
        sql`SELECT current_setting('idle_in_transaction_session_timeout') AS timeout`,
      );
      expect(rows[0]?.timeout).toBe(`${DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS / 1000}s`);
    } finally {
      await defaults.close();
    }
  });

  it('a transaction idle past the bound is ended by the server and fails as database_unavailable', async () => {
    const errors: Error[] = [];
    const handled = await openDatabase({
      databaseUrl: serverUrl,
      poolSize: 1,
      idleInTransactionTimeoutMs: 50,
      onConnectionError: (error) => errors.push(error),
    });
    try {
      const failure = await handled.db
        .transaction(async (tx) => {
          await tx.execute(sql`SELECT 1`);
          // Idle inside the transaction until the server ends the session (a signal: the error).
          for (;;) {
            if (errors.length > 0) break;
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          await tx.execute(sql`SELECT 1`);
        })
        .then(
          () => null,
          (error: unknown) => error,
        );
      expect(failure).not.toBeNull();
      expect(isDatabaseUnavailable(failure)).toBe(true);
      // The broken client was discarded: the pool serves the next query on a new connection.
      const rows = await queryRows<{ one: number }>(handled.db, sql`SELECT 1 AS one`);
      expect(Number(rows[0]?.one)).toBe(1);
    } finally {
      await handled.close();
    }
  });
});
