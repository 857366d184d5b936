import type { FastifyBaseLogger } from 'fastify';
import { systemClock, type Clock } from '../core/context.ts';
import { safeMessage } from '../core/logging.ts';
import type { Database, Db, Listening } from '../db/client.ts';
import { WORK_CHANNEL } from './wakeup.ts';

// One worker runtime for every consumer of background work (ARCHITECTURE principle 11): mail
// delivery today, outgoing webhooks and Stripe event processing next.
//
// Why not graphile-worker or pg-boss: both drive PostgreSQL through their own `pg` Pool (a
// connection string or a pg.Pool) and LISTEN on a dedicated `pg` client. Embedded PGlite, Roster's
// default engine, is a WebAssembly PostgreSQL inside this process with no socket to connect to,
// so neither runs on it; graphile-worker also installs its schema with functions and triggers that
// a Citus-distributed deployment refuses. A runtime of our own over the Db handle runs the same code
// on both engines, and each consumer keeps its jobs in the table its module owns.

/** What every claimed job carries: its row id and the attempt this claim counted. */
export interface ClaimedJob {
  id: string;
  attempts: number;
}

/**
 * A consumer's table, seen by the runtime. Each method is one guarded statement in the owning
 * module's queries.ts; `claim` selects due rows FOR UPDATE SKIP LOCKED and, in the same statement,
 * counts the attempt and leases them until `leaseUntil`, so the job runs outside any transaction
 * and no other process claims it while the lease runs (a crashed worker's jobs come back then).
 */
export interface JobStore<Job extends ClaimedJob> {
  claim(db: Db, input: { now: Date; leaseUntil: Date; limit: number }): Promise<Job[]>;
  succeeded(db: Db, job: Job, now: Date): Promise<void>;
  /**
   * Records the success of several jobs in one guarded statement. With it, the runtime groups the
   * successes of jobs that finish together (the lanes of a round) into one statement; each lane
   * still waits for its job's record before it takes the next job, so no more jobs are done but
   * unrecorded at any moment than without it (at most `concurrency`: what a crash can repeat).
   */
  succeededMany?(db: Db, jobs: Job[], now: Date): Promise<void>;
  retryAt(db: Db, job: Job, at: Date, error: string): Promise<void>;
  failed(db: Db, job: Job, error: string): Promise<void>;
  /** Jobs waiting (pending, due or not) and the creation time of the oldest: queue metrics. */
  stats?(db: Db): Promise<{ depth: number; oldestAt: Date | null }>;
}

/** A queue's backlog at scrape time (metrics): read from the consumer's table through its store. */
export interface QueueStats {
  queue: string;
  depth: number;
  oldestAgeSeconds: number;
}

/** Thrown by a consumer's run() for a failure that retrying cannot fix (an SMTP 5xx): failed at once. */
export class PermanentJobError extends Error {
  override name = 'PermanentJobError';
}

export interface RetryPolicy {
  /** After this many failed attempts a job is marked failed and no longer retried. */
  maxAttempts: number;
  /** Delay after the first failure; doubles with each further one, with ±20% jitter. */
  retryBaseMs: number;
  retryMaxMs: number;
}

export interface Consumer<Job extends ClaimedJob> extends Partial<RetryPolicy> {
  /** The queue's name: the payload of its wake-ups and the `queue` of its log lines. */
  queue: string;
  store: JobStore<Job>;
  /** Does the work; throwing schedules a retry. `signal` aborts when the runtime starts stopping. */
  run(job: Job, context: { signal: AbortSignal }): Promise<void>;
  /** Extra fields for this job's log lines (e.g. `{ mailId }`). */
  logFields?(job: Job): Record<string, unknown>;
  /** How long a claim keeps other processes away from a job; longer than one run may take. */
  leaseMs?: number;
  /** Jobs claimed per round. */
  batchSize?: number;
  /** Jobs running at once. */
  concurrency?: number;
  /**
   * Jobs outlive their round: a round claims only as many jobs as `concurrency` has free slots,
   * starts them and ends, and each finished job wakes the queue. One slow job (a webhook receiver
   * that hangs until its timeout) then never holds back the jobs that become due meanwhile.
   * `roundFinished` no longer means that the round's jobs are done (watch `onJob` for that).
   */
  detached?: boolean;
}

export interface RoundReport {
  queue: string;
  /** Jobs claimed by the round (all its batches). */
  claimed: number;
  /** Set when the round failed (the database was unreachable, …); the runtime retries soon. */
  error?: unknown;
}

export interface JobOutcome {
  queue: string;
  id: string;
  attempts: number;
  outcome: 'succeeded' | 'retrying' | 'failed';
  error?: string;
  retryInMs?: number;
}

export interface WorkerRuntime {
  /** Adds a consumer; call before start(). Adding one is this call and its JobStore. */
  register<Job extends ClaimedJob>(consumer: Consumer<Job>): void;
  /** Starts listening for wake-ups and runs a first round of every queue. */
  start(): Promise<void>;
  /** Looks for due work of `queue` now (after wakeDelayMs) instead of at the next poll. */
  wake(queue: string): void;
  /**
   * Resolves when a round of `queue` that starts after this call has finished: a test awaits one
   * complete round, then asserts what did not happen. Does not wake the queue by itself.
   */
  roundFinished(queue: string): Promise<RoundReport>;
  /** Every job's outcome as it is recorded (tests, metrics). Returns the unsubscribe function. */
  onJob(listener: (outcome: JobOutcome) => void): () => void;
  /** Backlog of every queue whose store has stats() (metrics; one query per queue). */
  queueStats(): Promise<QueueStats[]>;
  /** Stops listening and polling, then waits for the rounds in flight to finish. */
  stop(): Promise<void>;
}

export interface RuntimeOptions {
  db: Db;
  /** Wake-ups from commits in any process (Database.listen); without it the runtime only polls. */
  listen?: Database['listen'];
  logger: FastifyBaseLogger;
  clock?: Clock;
  /** How often each queue looks for due work when nothing woke it: the fallback for lost wake-ups. */
  pollIntervalMs?: number;
  /**
   * How long a wake-up waits before its round starts. On PGlite every query runs on the one thread,
   * and the NOTIFY arrives while the enqueuing request is still answering: a round started at once
   * delays that reply (measured: a 1,000-address bulk reply took 700 ms instead of 200 ms).
   */
  wakeDelayMs?: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 10, retryBaseMs: 5_000, retryMaxMs: 3_600_000 };

/** Exponential backoff with ±20% jitter, so jobs that failed together do not retry together. */
export function retryDelayMs(
  failedAttempts: number,
  policy: Pick<RetryPolicy, 'retryBaseMs' | 'retryMaxMs'>,
  random = Math.random,
): number {
  const backoffMs = Math.min(policy.retryMaxMs, policy.retryBaseMs * 2 ** (failedAttempts - 1));
  return Math.round(backoffMs * (0.8 + random() * 0.4));
}

interface Queue {
  name: string;
  stats?: () => Promise<{ depth: number; oldestAt: Date | null }>;
  runRound(): Promise<number>;
  /** Resolves when the detached jobs still running have finished. */
  jobsInFlight(): Promise<void>;
  batchSize: number;
  timer?: NodeJS.Timeout;
  dueAt: number;
  /** The pending timer is a wake-up's (not a poll's). */
  dueIsWake: boolean;
  running?: Promise<void>;
  again: boolean;
  failedRounds: number;
  waiters: ((report: RoundReport) => void)[];
}

/**
 * Records successes in groups: the jobs that finish within one event-loop turn of each other (the
 * lanes of a round over a fast transport) are recorded by one statement, started on the next turn.
 * Each caller's promise settles when its own job's record is written (or fails), so a lane never
 * runs its next job before the last one is recorded.
 */
function groupedSuccesses<Job>(record: (jobs: Job[]) => Promise<void>): (job: Job) => Promise<void> {
  let waiting: { job: Job; resolve: () => void; reject: (error: unknown) => void }[] = [];
  let scheduled = false;
  async function flush(): Promise<void> {
    const group = waiting;
    waiting = [];
    scheduled = false;
    try {
      await record(group.map((entry) => entry.job));
      for (const entry of group) entry.resolve();
    } catch (error) {
      for (const entry of group) entry.reject(error);
    }
  }
  return (job) =>
    new Promise<void>((resolve, reject) => {
      waiting.push({ job, resolve, reject });
      if (scheduled) return;
      scheduled = true;
      setImmediate(() => void flush());
    });
}

export function createWorkerRuntime(options: RuntimeOptions): WorkerRuntime {
  const clock = options.clock ?? systemClock;
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const wakeDelayMs = options.wakeDelayMs ?? 20;
  const { db, logger } = options;
  const queues = new Map<string, Queue>();
  const jobListeners = new Set<(outcome: JobOutcome) => void>();
  const stopping = new AbortController();
  let listening: Listening | undefined;
  let started = false;

  function emit(outcome: JobOutcome): void {
    for (const listener of jobListeners) listener(outcome);
  }

  function register<Job extends ClaimedJob>(consumer: Consumer<Job>): void {
    if (started) throw new Error('Register consumers before starting the worker runtime.');
    if (queues.has(consumer.queue)) throw new Error(`A consumer of queue "${consumer.queue}" is already registered.`);
    const policy: RetryPolicy = {
      maxAttempts: consumer.maxAttempts ?? DEFAULT_RETRY_POLICY.maxAttempts,
      retryBaseMs: consumer.retryBaseMs ?? DEFAULT_RETRY_POLICY.retryBaseMs,
      retryMaxMs: consumer.retryMaxMs ?? DEFAULT_RETRY_POLICY.retryMaxMs,
    };
    const leaseMs = consumer.leaseMs ?? 120_000;
    const batchSize = consumer.batchSize ?? 50;
    const concurrency = consumer.concurrency ?? 4;
    const { store, queue } = consumer;

    async function recordFailure(job: Job, error: unknown): Promise<void> {
      const message = safeMessage(error).slice(0, 1000);
      const attempts = Number(job.attempts);
      const fields = { queue, jobId: job.id, ...consumer.logFields?.(job), attempts, err: message };
      if (attempts >= policy.maxAttempts || error instanceof PermanentJobError) {
        await store.failed(db, job, message);
        logger.error(
          fields,
          error instanceof PermanentJobError
            ? `${queue} job failed permanently; not retried`
            : `${queue} job failed ${attempts} times; giving up`,
        );
        emit({ queue, id: job.id, attempts, outcome: 'failed', error: message });
        return;
      }
      const retryInMs = retryDelayMs(attempts, policy);
      await store.retryAt(db, job, new Date(clock.now().getTime() + retryInMs), message);
      logger.warn({ ...fields, retryInMs }, `${queue} job failed; will retry`);
      emit({ queue, id: job.id, attempts, outcome: 'retrying', error: message, retryInMs });
    }

    const recordSuccess = store.succeededMany
      ? groupedSuccesses<Job>((jobs) => store.succeededMany!(db, jobs, clock.now()))
      : (job: Job) => store.succeeded(db, job, clock.now());

    async function runJob(job: Job): Promise<void> {
      try {
        await consumer.run(job, { signal: stopping.signal });
      } catch (error) {
        await recordFailure(job, error);
        return;
      }
      await recordSuccess(job);
      emit({ queue, id: job.id, attempts: Number(job.attempts), outcome: 'succeeded' });
    }

    const detachedJobs = new Set<Promise<void>>();
    async function runDetachedRound(): Promise<number> {
      const free = concurrency - detachedJobs.size;
      if (free <= 0) return 0;
      const now = clock.now();
      const claimed = await store.claim(db, {
        now,
        leaseUntil: new Date(now.getTime() + leaseMs),
        limit: Math.min(batchSize, free),
      });
      for (const job of claimed) {
        const running: Promise<void> = runJob(job)
          .catch((error: unknown) => logger.error({ err: error, queue, jobId: job.id }, `${queue} job outcome not recorded`))
          .finally(() => {
            detachedJobs.delete(running);
            wake(queue);
          });
        detachedJobs.add(running);
      }
      return claimed.length;
    }

    async function runRound(): Promise<number> {
      if (consumer.detached) return runDetachedRound();
      const now = clock.now();
      const claimed = await store.claim(db, { now, leaseUntil: new Date(now.getTime() + leaseMs), limit: batchSize });
      // A claimed batch is work in flight: it is finished even when stop() is called meanwhile.
      const pending = [...claimed];
      const lanes = Array.from({ length: Math.min(concurrency, pending.length) }, async () => {
        for (let job = pending.shift(); job; job = pending.shift()) await runJob(job);
      });
      await Promise.all(lanes);
      return claimed.length;
    }

    queues.set(queue, {
      name: queue,
      stats: store.stats ? () => store.stats!(db) : undefined,
      runRound,
      jobsInFlight: async () => {
        while (detachedJobs.size > 0) await Promise.all([...detachedJobs]);
      },
      batchSize,
      dueAt: Infinity,
      dueIsWake: false,
      again: false,
      failedRounds: 0,
      waiters: [],
    });
  }

  async function loop(queue: Queue): Promise<void> {
    do {
      queue.again = false;
      const waiters = queue.waiters.splice(0);
      let report: RoundReport;
      try {
        let claimed = 0;
        let batch: number;
        // A full batch means more may be due: go again at once.
        do {
          batch = await queue.runRound();
          claimed += batch;
        } while (!stopping.signal.aborted && batch === queue.batchSize);
        queue.failedRounds = 0;
        report = { queue: queue.name, claimed };
      } catch (error) {
        queue.failedRounds += 1;
        report = { queue: queue.name, claimed: 0, error };
        if (!stopping.signal.aborted) logger.error({ err: error, queue: queue.name }, 'worker round failed; retrying soon');
      }
      for (const resolve of waiters) resolve(report);
    } while (queue.again && !stopping.signal.aborted);
  }

  /** Runs a round at `delayMs` from now unless one is already due sooner. */
  function schedule(queue: Queue, delayMs: number): void {
    if (stopping.signal.aborted) return;
    const dueAt = Date.now() + delayMs;
    if (queue.timer && queue.dueAt <= dueAt) return;
    setTimer(queue, delayMs, dueAt, false);
  }

  function setTimer(queue: Queue, delayMs: number, dueAt: number, isWake: boolean): void {
    clearTimeout(queue.timer);
    queue.dueAt = dueAt;
    queue.dueIsWake = isWake;
    queue.timer = setTimeout(() => runNow(queue), delayMs);
    queue.timer.unref?.();
  }

  function runNow(queue: Queue): void {
    queue.timer = undefined;
    queue.dueAt = Infinity;
    if (stopping.signal.aborted) return;
    if (queue.running) {
      queue.again = true;
      return;
    }
    queue.running = loop(queue).finally(() => {
      queue.running = undefined;
      // After a failed round (database unreachable) retry sooner than the poll, backing off.
      const failed = queue.failedRounds;
      schedule(queue, failed > 0 ? Math.min(pollIntervalMs, 100 * 2 ** Math.min(failed - 1, 8)) : pollIntervalMs);
    });
  }

  function wake(name: string): void {
    const queue = queues.get(name);
    if (!queue || stopping.signal.aborted) return;
    if (queue.running) {
      queue.again = true;
      return;
    }
    // A pending wake-up stands (a stream of wake-ups must not starve the queue); a poll due sooner
    // is moved to wakeDelayMs, so that the request whose commit woke us answers before the round.
    if (queue.timer && queue.dueIsWake) return;
    setTimer(queue, wakeDelayMs, Date.now() + wakeDelayMs, true);
  }

  return {
    register,
    wake,
    async start() {
      started = true;
      if (options.listen) {
        try {
          listening = await options.listen(WORK_CHANNEL, {
            onNotification: wake,
            // Wake-ups sent while the connection was down are lost: look at every queue.
            onReconnect: () => {
              for (const name of queues.keys()) wake(name);
            },
          });
        } catch (error) {
          logger.error({ err: error }, 'could not listen for work wake-ups; polling only');
        }
      }
      for (const queue of queues.values()) schedule(queue, 0);
    },
    roundFinished(name) {
      const queue = queues.get(name);
      if (!queue) return Promise.reject(new Error(`No consumer of queue "${name}" is registered.`));
      return new Promise((resolve) => queue.waiters.push(resolve));
    },
    onJob(listener) {
      jobListeners.add(listener);
      return () => jobListeners.delete(listener);
    },
    async queueStats() {
      const now = clock.now().getTime();
      const withStats = [...queues.values()].filter((queue) => queue.stats);
      return Promise.all(
        withStats.map(async (queue) => {
          const { depth, oldestAt } = await queue.stats!();
          const oldestAgeSeconds = oldestAt ? Math.max(0, (now - new Date(oldestAt).getTime()) / 1000) : 0;
          return { queue: queue.name, depth: Number(depth), oldestAgeSeconds };
        }),
      );
    },
    async stop() {
      stopping.abort();
      for (const queue of queues.values()) clearTimeout(queue.timer);
      await listening?.close();
      await Promise.all([...queues.values()].flatMap((queue) => (queue.running ? [queue.running] : [])));
      await Promise.all([...queues.values()].map((queue) => queue.jobsInFlight()));
    },
  };
}
