import type { FastifyBaseLogger } from 'fastify';
import { LOGIN_WINDOW_SECONDS } from '../auth/service.ts';
import { deleteEndedRateLimits, deleteExpiredEmailVerifications, deleteExpiredSessions } from '../auth/queries.ts';
import type { Config } from '../core/config.ts';
import type { Clock } from '../core/context.ts';
import type { Db } from '../db/client.ts';
import { startPeriodic } from '../core/periodic.ts';
import { RESEND_WINDOW_SECONDS } from '../invites/service.ts';
import { deleteFinishedMails, deleteUnusedMailTemplates } from '../mail/queries.ts';
import { deleteFinishedDeliveries } from '../webhooks/queries.ts';

// Retention: what only piles up is deleted by a sweep that every process runs beside its server
// (src/background.ts), at start and then every RETENTION_SWEEP_MS. Sent and failed emails (their
// bodies carry invitation and verification links) and finished webhook deliveries after the
// configured days; expired sessions and email verifications, and rate-limit counters whose window
// has long ended, as soon as the sweep finds them. Pending mails and deliveries are never deleted.
// Each kind is deleted in chunks of RETENTION_CHUNK rows, one short statement each, so a first
// sweep over a large backlog holds no long transaction. Several processes may sweep at once: a
// row is deleted once, and a process that finds nothing left stops.

const DAY_MS = 24 * 60 * 60 * 1000;

/** How often each process sweeps. */
export const RETENTION_SWEEP_MS = 60 * 60 * 1000;

/** Rows deleted per statement. */
export const RETENTION_CHUNK = 1_000;

/** A rate-limit key is deleted this long after its oldest kept event: longer than every window in use. */
export const RATE_LIMIT_KEEP_MS = DAY_MS;

/** Windows of the sliding-window limits in rate_limits (each must end within RATE_LIMIT_KEEP_MS). */
export const RATE_LIMIT_WINDOWS_SECONDS = [LOGIN_WINDOW_SECONDS, RESEND_WINDOW_SECONDS];

type Deletes = (db: Db, input: { before: Date; limit: number }) => Promise<number>;

/** One kind of row the sweep deletes: what, by which query, and the time before which it goes (null: kept). */
export interface RetentionRule {
  name: string;
  deletes: Deletes;
  before: (now: Date) => Date | null;
}

const daysBefore = (days: number) => (now: Date) => (days === 0 ? null : new Date(now.getTime() - days * DAY_MS));

/** The rules in the order the sweep runs them (a mail template after the mails that name it). */
export function retentionRules(config: Pick<Config, 'mailRetentionDays' | 'webhookRetentionDays'>): RetentionRule[] {
  return [
    { name: 'mails', deletes: deleteFinishedMails, before: daysBefore(config.mailRetentionDays) },
    { name: 'mail_templates', deletes: deleteUnusedMailTemplates, before: daysBefore(config.mailRetentionDays) },
    { name: 'webhook_deliveries', deletes: deleteFinishedDeliveries, before: daysBefore(config.webhookRetentionDays) },
    { name: 'sessions', deletes: deleteExpiredSessions, before: (now) => now },
    { name: 'email_verifications', deletes: deleteExpiredEmailVerifications, before: (now) => now },
    { name: 'rate_limits', deletes: deleteEndedRateLimits, before: (now) => new Date(now.getTime() - RATE_LIMIT_KEEP_MS) },
  ];
}

export interface SweepReport {
  /** Rows deleted, by rule name (rules that deleted nothing included, as 0). */
  deleted: Record<string, number>;
  /** Rules that failed (the database was unreachable, …), with their error; the others still ran. */
  failed: { name: string; error: unknown }[];
}

/**
 * Runs every rule once, each until it finds fewer than `chunk` rows left. A failing rule does not
 * stop the others. Once `signal` aborts (the process is stopping) no further chunk starts: the
 * rest waits for the next sweep.
 */
export async function sweep(
  db: Db,
  rules: RetentionRule[],
  options: { now: Date; chunk?: number; signal?: AbortSignal },
): Promise<SweepReport> {
  const chunk = options.chunk ?? RETENTION_CHUNK;
  const report: SweepReport = { deleted: {}, failed: [] };
  for (const rule of rules) {
    const before = rule.before(options.now);
    report.deleted[rule.name] = 0;
    if (!before) continue;
    try {
      for (let deleted = chunk; deleted === chunk && !options.signal?.aborted;) {
        deleted = await rule.deletes(db, { before, limit: chunk });
        report.deleted[rule.name]! += deleted;
      }
    } catch (error) {
      report.failed.push({ name: rule.name, error });
    }
  }
  return report;
}

export interface RetentionSweeper {
  /** Resolves with the report of the next sweep to finish (tests wait on it, not on time). */
  nextSweep(): Promise<SweepReport>;
  /** Stops the timer, and waits for a sweep in flight to finish the chunk it is deleting. */
  stop(): Promise<void>;
}

/**
 * Sweeps now and then every `intervalMs`, logging what it deleted and what failed and telling
 * `onSweep` (the metrics); never throws.
 */
export function startRetention(deps: {
  db: Db;
  config: Config;
  clock: Clock;
  logger: FastifyBaseLogger;
  intervalMs?: number;
  onSweep?: ((report: SweepReport) => void) | undefined;
}): RetentionSweeper {
  const rules = retentionRules(deps.config);
  const periodic = startPeriodic({
    intervalMs: deps.intervalMs ?? RETENTION_SWEEP_MS,
    run: async (signal) => {
      const report = await sweep(deps.db, rules, { now: deps.clock.now(), signal });
      const deleted = Object.fromEntries(Object.entries(report.deleted).filter(([, count]) => count > 0));
      if (Object.keys(deleted).length > 0) deps.logger.info({ deleted }, 'retention sweep deleted old rows');
      for (const { name, error } of report.failed) {
        deps.logger.warn({ err: error, rule: name }, 'retention sweep failed; retrying at the next sweep');
      }
      deps.onSweep?.(report);
      return report;
    },
    onError: (error) => deps.logger.error({ err: error }, 'retention sweep failed'),
  });
  return { nextSweep: periodic.nextRun, stop: periodic.stop };
}
