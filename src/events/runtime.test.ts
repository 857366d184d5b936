import { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/kit/engine.ts';
import type { Clock } from '../core/context.ts';
import { openDatabase, queryRows, type Db } from '../db/client.ts';
import {
  createWorkerRuntime,
  retryDelayMs,
  type ClaimedJob,
  type JobOutcome,
  type JobStore,
  type WorkerRuntime,
} from './runtime.ts';
import { wakeWorkers } from './wakeup.ts';

// A consumer of its own table, as webhooks will add one: a JobStore of four guarded statements,
// and a run function. The table exists only in this file's database.
const QUEUE = 'test_jobs';

const testJobs: JobStore<ClaimedJob & { payload: string }> = {
  claim: (db, { now, leaseUntil, limit }) =>
    queryRows(
      db,
      sql`UPDATE test_jobs SET attempts = attempts + 1, next_attempt_at = ${leaseUntil}
          WHERE id IN (SELECT id FROM test_jobs WHERE status = 'pending' AND next_attempt_at <= ${now}
                       ORDER BY next_attempt_at, id LIMIT ${limit} FOR UPDATE SKIP LOCKED)
          RETURNING id::text, attempts, payload`,
    ),
  succeeded: async (db, job) => {
    await db.execute(sql`UPDATE test_jobs SET status = 'done' WHERE id = ${job.id} AND attempts = ${job.attempts}`);
  },
  retryAt: async (db, job, at, error) => {
    await db.execute(
      sql`UPDATE test_jobs SET next_attempt_at = ${at}, last_error = ${error} WHERE id = ${job.id} AND attempts = ${job.attempts}`,
    );
  },
  failed: async (db, job, error) => {
    await db.execute(
      sql`UPDATE test_jobs SET status = 'failed', last_error = ${error} WHERE id = ${job.id} AND attempts = ${job.attempts}`,
    );
  },
};

async function addJob(db: Db, payload: string, dueAt: Date): Promise<string> {
  // Queued as a product enqueue does it: the row and its wake-up in one transaction.
  return db.transaction(async (tx) => {
    const [row] = await queryRows<{ id: string }>(
      tx,
      sql`INSERT INTO test_jobs (payload, next_attempt_at) VALUES (${payload}, ${dueAt}) RETURNING id::text`,
    );
    await tx.execute(sql`SELECT ${wakeWorkers(QUEUE)}`);
    return row!.id;
  });
}

async function jobRow(id: string) {
  const [row] = await queryRows<{ status: string; attempts: number; next_attempt_at: Date | string; last_error: string | null }>(
    database.db,
    sql`SELECT status, attempts, next_attempt_at, last_error FROM test_jobs WHERE id = ${id}`,
  );
  return { ...row!, nextAttemptAt: new Date(row!.next_attempt_at) };
}

let database: TestDatabase;
const cleanups: (() => Promise<void>)[] = [];
beforeAll(async () => {
  database = await createTestDatabase();
  await database.db.execute(
    sql`CREATE TABLE test_jobs (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload text NOT NULL,
          status text NOT NULL DEFAULT 'pending', attempts integer NOT NULL DEFAULT 0,
          next_attempt_at timestamptz NOT NULL, last_error text)`,
  );
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await database.close();
});

function captureLogger() {
  const lines: { level: number; msg: string; [key: string]: unknown }[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

/** Time that moves only when the test says so, so a stored retry time reads back as the exact delay. */
class FrozenClock implements Clock {
  private at = Date.now();
  now(): Date {
    return new Date(this.at);
  }
  advance(seconds: number): void {
    this.at += seconds * 1000;
  }
}

/** A runtime that never polls within a test: only wake-ups (NOTIFY or wake()) start rounds. */
async function runtimeWith(
  run: (job: ClaimedJob & { payload: string }) => Promise<void>,
  options: { clock?: Clock; logger?: pino.Logger; maxAttempts?: number; retryBaseMs?: number } = {},
): Promise<WorkerRuntime> {
  const runtime = createWorkerRuntime({
    db: database.db,
    listen: database.listen,
    logger: options.logger ?? pino({ level: 'silent' }),
    clock: options.clock,
    pollIntervalMs: 3_600_000,
  });
  runtime.register({ queue: QUEUE, store: testJobs, run, maxAttempts: options.maxAttempts, retryBaseMs: options.retryBaseMs });
  const firstRound = runtime.roundFinished(QUEUE);
  await runtime.start();
  await firstRound;
  cleanups.push(() => runtime.stop());
  return runtime;
}

function nextOutcome(runtime: WorkerRuntime, jobId: () => string | undefined): Promise<JobOutcome> {
  return new Promise((resolve) => {
    const unsubscribe = runtime.onJob((outcome) => {
      if (outcome.id !== jobId()) return;
      unsubscribe();
      resolve(outcome);
    });
  });
}

async function fullRound(runtime: WorkerRuntime) {
  const round = runtime.roundFinished(QUEUE);
  runtime.wake(QUEUE);
  return round;
}

describe('retry delays', () => {
  it('double with each failed attempt, stay within ±20% jitter, and stop growing at the maximum', () => {
    const policy = { retryBaseMs: 1_000, retryMaxMs: 30_000 };
    expect([1, 2, 3, 4].map((attempt) => retryDelayMs(attempt, policy, () => 0.5))).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(retryDelayMs(3, policy, () => 0)).toBe(3_200);
    expect(retryDelayMs(3, policy, () => 0.999_999)).toBe(4_800);
    expect(retryDelayMs(20, policy, () => 0.5)).toBe(30_000);
  });
});

describe('the worker runtime', () => {
  it('retries a failing job with exponential backoff, then gives up visibly after maxAttempts', async () => {
    const clock = new FrozenClock();
    const { logger, lines } = captureLogger();
    const runtime = await runtimeWith(async () => Promise.reject(new Error('receiver said no')), {
      clock,
      logger,
      maxAttempts: 3,
      retryBaseMs: 60_000,
    });
    const job: { id?: string } = {};
    const failures: { outcome: JobOutcome; delayMs: number }[] = [];
    const failedAttempt = async () => {
      const outcome = await nextOutcome(runtime, () => job.id);
      const row = await jobRow(job.id!);
      failures.push({ outcome, delayMs: row.nextAttemptAt.getTime() - clock.now().getTime() });
      return row;
    };

    let attempt = failedAttempt();
    const id = await addJob(database.db, 'always fails', clock.now());
    job.id = id;
    expect(await attempt).toMatchObject({ status: 'pending', attempts: 1, last_error: 'receiver said no' });
    // Not due yet: a complete round claims nothing.
    expect((await fullRound(runtime)).claimed).toBe(0);

    clock.advance(73);
    attempt = failedAttempt();
    runtime.wake(QUEUE);
    expect(await attempt).toMatchObject({ status: 'pending', attempts: 2 });
    clock.advance(145);
    attempt = failedAttempt();
    runtime.wake(QUEUE);
    expect(await attempt).toMatchObject({ status: 'failed', attempts: 3, last_error: 'receiver said no' });

    expect(failures.map(({ outcome }) => outcome.outcome)).toEqual(['retrying', 'retrying', 'failed']);
    expect(failures[0]!.delayMs).toBeGreaterThanOrEqual(48_000);
    expect(failures[0]!.delayMs).toBeLessThanOrEqual(72_000);
    expect(failures[1]!.delayMs).toBeGreaterThanOrEqual(96_000);
    expect(failures[1]!.delayMs).toBeLessThanOrEqual(144_000);
    const about = lines.filter((line) => line.jobId === id);
    expect(about.filter((line) => line.level === 40 && /will retry/.test(line.msg))).toHaveLength(2);
    expect(about.filter((line) => line.level === 50 && /giving up/.test(line.msg))).toHaveLength(1);

    // Given up means given up: however late it gets, no round claims the job again.
    clock.advance(365 * 86_400);
    expect((await fullRound(runtime)).claimed).toBe(0);
    expect(await jobRow(id)).toMatchObject({ status: 'failed', attempts: 3 });
  });

  it('passes an abort signal that fires when stopping begins, and finishes the job before stop() resolves', async () => {
    const order: string[] = [];
    let started: () => void = () => {};
    const running = new Promise<void>((resolve) => (started = resolve));
    const runtime = createWorkerRuntime({
      db: database.db,
      listen: database.listen,
      logger: pino({ level: 'silent' }),
      pollIntervalMs: 3_600_000,
    });
    runtime.register({
      queue: QUEUE,
      store: testJobs,
      run: async (_job, { signal }) => {
        started();
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        order.push('saw stop');
        // Real work after the signal: one more database round trip before the job is done.
        await database.db.execute(sql`SELECT 1`);
        order.push('finished');
      },
    });
    await runtime.start();
    const id = await addJob(database.db, 'slow', new Date());
    await running;
    await runtime.stop().then(() => order.push('stopped'));
    expect(order).toEqual(['saw stop', 'finished', 'stopped']);
    expect(await jobRow(id)).toMatchObject({ status: 'done', attempts: 1 });
  });

  it('is woken by a commit on another connection without waiting for its poll interval', async () => {
    const done = new Set<string>();
    let delivered: () => void = () => {};
    const runtime = await runtimeWith(async (job) => {
      done.add(job.payload);
      if (job.payload === 'from elsewhere') delivered();
    });
    // Like a second server process: its own pool on the same PostgreSQL (PGlite has one session).
    const elsewhere = database.url ? await openDatabase({ databaseUrl: database.url, poolSize: 1 }) : database;
    if (elsewhere !== database) cleanups.push(() => elsewhere.close());
    const signalled = new Promise<void>((resolve) => (delivered = resolve));
    // A rolled-back enqueue wakes nobody and leaves nothing to run.
    await expect(
      elsewhere.db.transaction(async (tx) => {
        await tx.execute(sql`INSERT INTO test_jobs (payload, next_attempt_at) VALUES ('rolled back', now())`);
        await tx.execute(sql`SELECT ${wakeWorkers(QUEUE)}`);
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    await addJob(elsewhere.db, 'from elsewhere', new Date());
    await signalled; // the poll interval is an hour: only the NOTIFY can have started this round
    expect(done).toEqual(new Set(['from elsewhere']));
    expect((await fullRound(runtime)).claimed).toBe(0);
  });
});
