import { sql } from 'drizzle-orm';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchDatabase, serverPostgresUrl, type ScratchDatabase } from '../../test/kit/postgres.ts';
import { autocommitQuery, openDatabase, queryRows, queryRowsPrepared, queryRowsPreparedLast, type Database } from './client.ts';

const serverUrl = serverPostgresUrl();

describe.skipIf(!serverUrl)('PostgreSQL transactions: BEGIN and COMMIT travel with statements (src/db/pipeline.ts)', () => {
  let scratch: ScratchDatabase;
  let database: Database;
  let other: Database;
  /** Round trips, counted as the server's ReadyForQuery answers on the pool's one connection. */
  let roundTrips = 0;

  beforeAll(async () => {
    scratch = await createScratchDatabase(serverUrl!, 'roster_pipeline');
    database = await openDatabase({ databaseUrl: scratch.url, poolSize: 1 });
    other = await openDatabase({ databaseUrl: scratch.url, poolSize: 1 });
    await database.db.execute(sql`CREATE TABLE probe (n int NOT NULL CHECK (n >= 0))`);
    const pool = (database.db as unknown as { $client: pg.Pool }).$client;
    const watched = new WeakSet<object>();
    pool.on('acquire', (client) => {
      if (watched.has(client)) return;
      watched.add(client);
      (client as unknown as { connection: { on(event: string, listener: () => void): void } }).connection.on(
        'readyForQuery',
        () => (roundTrips += 1),
      );
    });
  });
  afterAll(async () => {
    await database?.close();
    await other?.close();
    await scratch?.drop();
  });

  /** null when `work` succeeds, else its error's message and its cause's (drizzle wraps the driver's error). */
  function failureOf(work: Promise<unknown>): Promise<string | null> {
    return work.then(
      () => null,
      (error: unknown) => `${String(error)} ${String((error as { cause?: unknown })?.cause)}`,
    );
  }

  async function committed(): Promise<number[]> {
    const rows = await queryRows<{ n: number }>(other.db, sql`SELECT n FROM probe ORDER BY n`);
    return rows.map((row) => Number(row.n));
  }

  async function counted<T>(work: () => Promise<T>): Promise<{ result: T; roundTrips: number }> {
    const before = roundTrips;
    const result = await work();
    return { result, roundTrips: roundTrips - before };
  }

  it('two statements: BEGIN travels with the first, one transaction, committed', async () => {
    await database.db.execute(sql`DELETE FROM probe`);
    const { result, roundTrips: trips } = await counted(() =>
      database.db.transaction(async (tx) => {
        const first = await queryRowsPrepared<{ n: number }>(
          tx,
          'pipeline_test_insert',
          sql`INSERT INTO probe VALUES (${1}) RETURNING n`,
        );
        // Inside the transaction that the first statement opened: a transaction id, not yet visible elsewhere.
        expect(await committed()).toEqual([]);
        const second = await queryRowsPrepared<{ n: number }>(
          tx,
          'pipeline_test_insert_second',
          sql`INSERT INTO probe VALUES (${2}) RETURNING n`,
        );
        return [...first, ...second].map((row) => Number(row.n));
      }),
    );
    expect(result).toEqual([1, 2]);
    expect(await committed()).toEqual([1, 2]);
    // The first run parses the statements on this connection, so BEGIN went ahead on its own (a
    // Parse must open its pipeline): BEGIN, the two statements, COMMIT. Parsed, three.
    expect(trips).toBe(4);
    await database.db.execute(sql`DELETE FROM probe`);
    const again = await counted(() =>
      database.db.transaction(async (tx) => {
        await queryRowsPrepared(tx, 'pipeline_test_insert', sql`INSERT INTO probe VALUES (${3}) RETURNING n`);
        await queryRowsPrepared(tx, 'pipeline_test_insert_second', sql`INSERT INTO probe VALUES (${4}) RETURNING n`);
      }),
    );
    expect(again.roundTrips).toBe(3);
    expect(await committed()).toEqual([3, 4]);
  });

  it('the statement that carries BEGIN is inside the transaction: a later failure rolls it back', async () => {
    await database.db.execute(sql`DELETE FROM probe`);
    const failure = await failureOf(
      database.db.transaction(async (tx) => {
        await queryRowsPrepared(tx, 'pipeline_test_insert', sql`INSERT INTO probe VALUES (${5}) RETURNING n`);
        await tx.execute(sql`INSERT INTO probe VALUES (${-1})`);
      }),
    );
    expect(failure).toMatch(/check constraint/);
    expect(await committed()).toEqual([]);
    // The connection is out of the failed transaction: the next one works.
    await database.db.transaction(async (tx) => {
      await tx.execute(sql`INSERT INTO probe VALUES (${6})`);
    });
    expect(await committed()).toEqual([6]);
  });

  it('a last statement (queryRowsPreparedLast) carries the COMMIT: two round trips for two statements, committed', async () => {
    await database.db.execute(sql`DELETE FROM probe`);
    const transaction = () =>
      database.db.transaction(async (tx) => {
        const first = await queryRowsPrepared<{ n: number }>(
          tx,
          'pipeline_test_insert',
          sql`INSERT INTO probe VALUES (${21}) RETURNING n`,
        );
        expect(await committed()).toEqual([]);
        const last = await queryRowsPreparedLast<{ n: number }>(
          tx,
          'pipeline_test_insert_last',
          sql`INSERT INTO probe VALUES (${22}) RETURNING n`,
        );
        return [...first, ...last].map((row) => Number(row.n));
      });
    // The first run parses the last statement on this connection; its COMMIT rides along all the same.
    expect((await transaction()).length).toBe(2);
    expect(await committed()).toEqual([21, 22]);
    await database.db.execute(sql`DELETE FROM probe`);
    const again = await counted(transaction);
    expect(again.result).toEqual([21, 22]);
    // BEGIN with the first statement, COMMIT with the last: no round trip of their own.
    expect(again.roundTrips).toBe(2);
    expect(await committed()).toEqual([21, 22]);
  });

  it('a last statement that fails: its COMMIT is skipped, the whole transaction rolls back, the connection recovers', async () => {
    await database.db.execute(sql`DELETE FROM probe`);
    const failure = await failureOf(
      database.db.transaction(async (tx) => {
        await queryRowsPrepared(tx, 'pipeline_test_insert', sql`INSERT INTO probe VALUES (${23}) RETURNING n`);
        await queryRowsPreparedLast(tx, 'pipeline_test_insert_last', sql`INSERT INTO probe VALUES (${-2}) RETURNING n`);
      }),
    );
    expect(failure).toMatch(/check constraint/);
    expect(await committed()).toEqual([]);
    await database.db.transaction(async (tx) => {
      await queryRowsPreparedLast(tx, 'pipeline_test_insert_last', sql`INSERT INTO probe VALUES (${24}) RETURNING n`);
    });
    expect(await committed()).toEqual([24]);
  });

  it('refuses a statement after the last one (it would run outside the transaction), and rolls nothing half back', async () => {
    await database.db.execute(sql`DELETE FROM probe`);
    const failure = await failureOf(
      database.db.transaction(async (tx) => {
        await queryRowsPreparedLast(tx, 'pipeline_test_insert_last', sql`INSERT INTO probe VALUES (${25}) RETURNING n`);
        await tx.execute(sql`INSERT INTO probe VALUES (${26})`);
      }),
    );
    expect(failure).toMatch(/after the last statement/);
    // The last statement committed with its COMMIT; the refused one never ran.
    expect(await committed()).toEqual([25]);
    await database.db.transaction(async (tx) => {
      await queryRowsPrepared(tx, 'pipeline_test_insert', sql`INSERT INTO probe VALUES (${27}) RETURNING n`);
    });
    expect(await committed()).toEqual([25, 27]);
  });

  it('in a nested transaction (a savepoint) a last statement leaves the COMMIT to the outer transaction', async () => {
    await database.db.execute(sql`DELETE FROM probe`);
    const failure = await failureOf(
      database.db.transaction(async (tx) => {
        await tx.transaction(async (inner) => {
          await queryRowsPreparedLast(inner, 'pipeline_test_insert_last', sql`INSERT INTO probe VALUES (${28}) RETURNING n`);
        });
        expect(await committed()).toEqual([]);
        await tx.execute(sql`INSERT INTO probe VALUES (${-1})`);
      }),
    );
    // The outer transaction failed after the inner one: nothing of either stays.
    expect(failure).toMatch(/check constraint/);
    expect(await committed()).toEqual([]);
    // Outside any transaction the statement runs as any other, and the connection takes the next.
    await queryRowsPreparedLast(database.db, 'pipeline_test_insert_last', sql`INSERT INTO probe VALUES (${29}) RETURNING n`);
    await database.db.execute(sql`INSERT INTO probe VALUES (${30})`);
    expect(await committed()).toEqual([29, 30]);
  });

  it('autocommitQuery: one statement as a transaction of its own, one round trip; a failure leaves nothing', async () => {
    await database.db.execute(sql`DELETE FROM probe`);
    const text = 'INSERT INTO probe SELECT unnest($1::int[]) RETURNING n';
    const first = await counted(() => autocommitQuery<{ n: number }>(database.db, 'pipeline_test_alone', text, [[7, 8]])!);
    expect(first.result.map((row) => Number(row.n))).toEqual([7, 8]);
    expect(first.roundTrips).toBe(1);
    expect(await committed()).toEqual([7, 8]);
    // The CHECK refuses the second row: the statement, and so its transaction, leaves nothing.
    expect(await failureOf(autocommitQuery(database.db, 'pipeline_test_alone', text, [[9, -1]])!)).toMatch(/check constraint/);
    expect(await committed()).toEqual([7, 8]);
    // The connection recovers, and a transaction handle is not taken for a statement of its own.
    await autocommitQuery(database.db, 'pipeline_test_alone', text, [[10]]);
    expect(await committed()).toEqual([7, 8, 10]);
    await database.db.transaction(async (tx) => expect(autocommitQuery(tx, 'pipeline_test_alone', text, [[11]])).toBeUndefined());
  });

  it('a transaction without statements sends nothing; a rolled-back one leaves nothing', async () => {
    const empty = await counted(() => database.db.transaction(async () => 'nothing'));
    expect(empty).toEqual({ result: 'nothing', roundTrips: 0 });
    await database.db.execute(sql`DELETE FROM probe`);
    const rolledBack = await failureOf(
      database.db.transaction(async (tx) => {
        await tx.execute(sql`INSERT INTO probe VALUES (${9})`);
        throw new Error('changed my mind');
      }),
    );
    expect(rolledBack).toMatch(/changed my mind/);
    expect(await committed()).toEqual([]);
  });

  it('multi-statement scripts (migrations) still run in their transaction', async () => {
    await database.db.execute(sql`DELETE FROM probe`);
    await database.inScriptTransaction(async (run) => {
      await run('INSERT INTO probe VALUES (13); INSERT INTO probe VALUES (14);');
    });
    expect(await committed()).toEqual([13, 14]);
    const failure = await failureOf(
      database.inScriptTransaction(async (run) => {
        await run('INSERT INTO probe VALUES (15); INSERT INTO probe VALUES (-3);');
      }),
    );
    expect(failure).toMatch(/check constraint/);
    expect(await committed()).toEqual([13, 14]);
  });
});
