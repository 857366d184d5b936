import { sql, type SQL } from 'drizzle-orm';
import { prepareStatement, type Queryable } from './client.ts';

/** Most calls one statement answers; a turn with more runs several statements at once. */
const MAX_BATCH = 256;

export interface BatchedLookupOptions {
  /** Told the number of calls, and of distinct inputs, of each statement as it starts (tests, metrics). */
  observe?: (calls: number, distinct: number) => void;
}

/**
 * A read that every request makes (authenticating its credential), answered for all the calls
 * of one turn of the event loop by one prepared statement: `rule`, the query for one input, joined
 * LATERAL over the inputs of the batch. Each statement costs the server's one thread a socket
 * write and a read, and the database a round trip; under load a turn holds tens of requests, so
 * this takes most of a request's cost off both (bench/README.md, "Authentication per turn").
 *
 * Nothing is cached: a call is answered by a statement that starts after the call was made, from
 * the rows as they are then, exactly as a statement of its own would answer it. A lone call waits
 * only for the end of the current turn (setImmediate), not for a timer.
 *
 * `columns` name the inputs; each is passed as text and reaches `rule` as the column `r.<name>`,
 * which the rule casts. A call's answer is the rule's first row for its input, or undefined. A
 * failed statement rejects every call of its batch, and the next turn starts afresh.
 */
export function prepareBatchedLookup<Row, Column extends string>(
  db: Queryable,
  name: string,
  columns: readonly Column[],
  rule: (input: Record<Column, SQL>) => SQL,
  options: BatchedLookupOptions = {},
): (input: Record<Column, string>) => Promise<Row | undefined> {
  const input = Object.fromEntries(columns.map((column) => [column, sql.raw(`r.${column}`)])) as Record<Column, SQL>;
  // Each array is read through a sub-select, so that every plan, whatever the batch's size, counts
  // on the same rows (10): PostgreSQL then keeps one generic plan, planned once. Given the arrays
  // as constants, it planned a one-call batch afresh each time (1 ms) as cheaper than the generic.
  const arrays = sql.join(
    columns.map((column) => sql`(SELECT ${sql.placeholder(column)}::text[])`),
    sql`, `,
  );
  const statement = prepareStatement<Row & { batch_idx: number }>(
    db,
    name,
    sql`SELECT r.idx::int AS batch_idx, found.*
      FROM unnest(${arrays}) WITH ORDINALITY AS r(${sql.raw(columns.join(', '))}, idx)
      CROSS JOIN LATERAL (${rule(input)}) found`,
  );

  type Call = { input: Record<Column, string>; resolve: (row: Row | undefined) => void; reject: (error: unknown) => void };
  let queued: Call[] = [];

  async function run(calls: Call[]): Promise<void> {
    try {
      // Calls with the same input (a host app's one service token, a page's parallel requests)
      // share one row of the batch.
      const slotOf = new Map<string, number>();
      const distinct: Record<Column, string>[] = [];
      const slots = calls.map((call) => {
        const key = JSON.stringify(columns.map((column) => call.input[column]));
        let slot = slotOf.get(key);
        if (slot === undefined) {
          slot = distinct.push(call.input);
          slotOf.set(key, slot);
        }
        return slot;
      });
      options.observe?.(calls.length, distinct.length);
      const values = Object.fromEntries(columns.map((column) => [column, distinct.map((input) => input[column])]));
      const bySlot = new Map<number, Row>();
      for (const { batch_idx: slot, ...row } of await statement(values)) {
        if (!bySlot.has(Number(slot))) bySlot.set(Number(slot), row as Row);
      }
      calls.forEach((call, index) => call.resolve(bySlot.get(slots[index]!)));
    } catch (error) {
      for (const call of calls) call.reject(error);
    }
  }

  function flush(): void {
    const calls = queued;
    queued = [];
    for (let start = 0; start < calls.length; start += MAX_BATCH) void run(calls.slice(start, start + MAX_BATCH));
  }

  return (values) =>
    new Promise((resolve, reject) => {
      if (queued.length === 0) setImmediate(flush);
      queued.push({ input: values, resolve, reject });
    });
}
