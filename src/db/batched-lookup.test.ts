import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/kit/engine.ts';
import { prepareBatchedLookup } from './batched-lookup.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => database.close());

/** A lookup whose rule doubles a number and has no row for 0; `statements` records each statement's calls. */
function doubler(name: string) {
  const statements: { calls: number; distinct: number }[] = [];
  const lookup = prepareBatchedLookup<{ doubled: number }, 'n'>(
    database.db,
    name,
    ['n'],
    (input) => sql`SELECT ${input.n}::int * 2 AS doubled WHERE ${input.n}::int <> 0`,
    { observe: (calls, distinct) => statements.push({ calls, distinct }) },
  );
  return { statements, double: async (n: string) => (await lookup({ n }))?.doubled };
}

describe('a lookup batched per turn of the event loop', () => {
  it('answers every call of one turn with one statement, each call with the row of its own input', async () => {
    const { statements, double } = doubler('test_batch_one_turn');
    expect(await Promise.all(['1', '2', '0', '3', '4'].map(double))).toEqual([2, 4, undefined, 6, 8]);
    expect(statements).toEqual([{ calls: 5, distinct: 5 }]);
  });

  it('asks the database once for calls with the same input', async () => {
    const { statements, double } = doubler('test_batch_same_input');
    expect(await Promise.all(['7', '7', '5', '7'].map(double))).toEqual([14, 14, 10, 14]);
    expect(statements).toEqual([{ calls: 4, distinct: 2 }]);
  });

  it('answers a call made after a statement started with a statement of its own', async () => {
    const { statements, double } = doubler('test_batch_later_call');
    const first = double('1');
    await new Promise((resolve) => setImmediate(resolve)); // the first statement has started
    const second = double('2');
    expect([await first, await second]).toEqual([2, 4]);
    expect(statements).toEqual([
      { calls: 1, distinct: 1 },
      { calls: 1, distinct: 1 },
    ]);
  });

  it('rejects every call of a failed statement, and the next turn answers again', async () => {
    const { statements, double } = doubler('test_batch_failure');
    const failed = await Promise.allSettled([double('1'), double('not a number')]);
    expect(failed.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    expect(await double('3')).toBe(6);
    expect(statements.map((statement) => statement.calls)).toEqual([2, 1]);
  });

  it('splits a turn of more than 256 calls into several statements, each call still answered', async () => {
    const { statements, double } = doubler('test_batch_large_turn');
    const inputs = Array.from({ length: 600 }, (_, index) => String(index + 1));
    expect(await Promise.all(inputs.map(double))).toEqual(inputs.map((n) => Number(n) * 2));
    expect(statements.map((statement) => statement.calls)).toEqual([256, 256, 88]);
  });
});
