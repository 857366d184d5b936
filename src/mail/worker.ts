import { sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import { systemClock, type Clock } from '../core/context.ts';
import { queryRows, type Db } from '../db/client.ts';
import { redactSecrets } from '../core/tokens.ts';
import { onQueuedMail } from './outbox.ts';
import type { MailTransport } from './transport.ts';

export interface MailWorkerOptions {
  db: Db;
  transport: MailTransport;
  logger: FastifyBaseLogger;
  clock?: Clock;
  /** How often to look for due rows when nothing nudged the worker. */
  pollIntervalMs?: number;
  /** Rows claimed per round. */
  batchSize?: number;
  /** Sends in flight at once. */
  concurrency?: number;
  /** After this many failed attempts a row is marked failed and no longer retried. */
  maxAttempts?: number;
  /** Backoff after the first failure; doubles with each further one. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** How long a claim keeps other processes away from a row being sent. */
  leaseMs?: number;
}

export interface MailWorker {
  /** Looks for due mail now instead of at the next poll. */
  nudge(): void;
  /** One round (tests): claims and sends what is due; returns how many rows were claimed. */
  runOnce(): Promise<number>;
  /** Stops polling and waits for the sends in flight. */
  stop(): Promise<void>;
}

interface ClaimedMail {
  id: string;
  to_address: string;
  subject: string;
  text_body: string;
  html_body: string;
  attempts: number;
}

export const DEFAULT_MAX_ATTEMPTS = 10;

/**
 * Delivers the outbox. A round claims due rows with FOR UPDATE SKIP LOCKED and, in the same
 * statement, counts the attempt and moves next_attempt_at past a lease, then commits: the send
 * runs outside any transaction (no lock held across the network, and PGlite's single connection
 * stays free), and no other process claims the row while the lease runs. Success marks the row
 * sent; failure schedules a retry with exponential backoff, or marks it failed after maxAttempts.
 */
export function startMailWorker(options: MailWorkerOptions): MailWorker {
  const clock = options.clock ?? systemClock;
  const pollIntervalMs = options.pollIntervalMs ?? 500;
  const batchSize = options.batchSize ?? 50;
  const concurrency = options.concurrency ?? 4;
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const retryBaseMs = options.retryBaseMs ?? 5_000;
  const retryMaxMs = options.retryMaxMs ?? 3_600_000;
  const leaseMs = options.leaseMs ?? 120_000;
  const { db, transport, logger } = options;

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let nudged = false;

  async function claim(): Promise<ClaimedMail[]> {
    const now = clock.now();
    return queryRows<ClaimedMail>(
      db,
      sql`UPDATE mail_outbox SET attempts = attempts + 1,
                 next_attempt_at = ${now}::timestamptz + make_interval(secs => ${leaseMs / 1000})
          WHERE id IN (SELECT id FROM mail_outbox
                        WHERE status = 'pending' AND next_attempt_at <= ${now}
                        ORDER BY next_attempt_at, id
                        LIMIT ${batchSize}
                        FOR UPDATE SKIP LOCKED)
          RETURNING id, to_address, subject, text_body, html_body, attempts`,
    );
  }

  async function deliver(mail: ClaimedMail): Promise<void> {
    try {
      await transport.send({ id: mail.id, to: mail.to_address, subject: mail.subject, text: mail.text_body, html: mail.html_body });
    } catch (error) {
      await recordFailure(mail, error);
      return;
    }
    // Guarded by the attempt we claimed: a stale worker whose lease ran out cannot overwrite a newer attempt.
    await db.execute(
      sql`UPDATE mail_outbox SET status = 'sent', sent_at = ${clock.now()}, last_error = NULL
          WHERE id = ${mail.id} AND status = 'pending' AND attempts = ${mail.attempts}`,
    );
  }

  async function recordFailure(mail: ClaimedMail, error: unknown): Promise<void> {
    const message = redactSecrets(error instanceof Error ? error.message : String(error)).slice(0, 1000);
    const attempts = Number(mail.attempts);
    if (attempts >= maxAttempts) {
      await db.execute(
        sql`UPDATE mail_outbox SET status = 'failed', last_error = ${message}
            WHERE id = ${mail.id} AND status = 'pending' AND attempts = ${attempts}`,
      );
      logger.error({ mailId: mail.id, attempts, err: message }, 'mail delivery failed for good; giving up');
      return;
    }
    const backoffMs = Math.min(retryMaxMs, retryBaseMs * 2 ** (attempts - 1));
    const jitteredMs = Math.round(backoffMs * (0.8 + Math.random() * 0.4));
    const nextAttemptAt = new Date(clock.now().getTime() + jitteredMs);
    await db.execute(
      sql`UPDATE mail_outbox SET next_attempt_at = ${nextAttemptAt}, last_error = ${message}
          WHERE id = ${mail.id} AND status = 'pending' AND attempts = ${attempts}`,
    );
    logger.warn({ mailId: mail.id, attempts, retryInMs: jitteredMs, err: message }, 'mail delivery failed; will retry');
  }

  async function runRound(): Promise<number> {
    const claimed = await claim();
    const queue = [...claimed];
    const lanes = Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
      for (let mail = queue.shift(); mail; mail = queue.shift()) await deliver(mail);
    });
    await Promise.all(lanes);
    return claimed.length;
  }

  async function loop(): Promise<void> {
    do {
      nudged = false;
      try {
        // A full batch means more may be due: go again at once.
        while (!stopped && (await runRound()) === batchSize);
      } catch (error) {
        if (!stopped) logger.error({ err: error }, 'mail worker round failed');
      }
    } while (nudged && !stopped);
  }

  function schedule(delayMs: number): void {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(tick, delayMs);
    timer.unref?.();
  }

  function tick(): void {
    if (stopped) return;
    if (running) {
      nudged = true;
      return;
    }
    running = loop().finally(() => {
      running = undefined;
      schedule(pollIntervalMs);
    });
  }

  // Deferred a little: the request that queued the mail answers first. On PGlite every query runs
  // on the one thread, so a round started at once delays that reply (measured: a 1,000-address
  // bulk reply took 700 ms instead of 200 ms).
  const unsubscribe = onQueuedMail(() => {
    if (running) nudged = true;
    else schedule(20);
  });
  schedule(0);

  return {
    nudge: tick,
    async runOnce() {
      return runRound();
    },
    async stop() {
      stopped = true;
      unsubscribe();
      clearTimeout(timer);
      await running;
    },
  };
}
