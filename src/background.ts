import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config.ts';
import type { Database } from './db/client.ts';
import { systemClock } from './core/context.ts';
import { createWorkerRuntime } from './events/runtime.ts';
import type { Metrics } from './http/metrics.ts';
import { createLocalMailboxTransport, createSmtpTransport, type MailTransport } from './mail/transport.ts';
import { outboxKey } from './mail/sealing.ts';
import { mailDelivery } from './mail/worker.ts';
import { startRetention } from './retention/retention.ts';
import { startExpiryRecorder } from './invites/expiry.ts';
import { createBillingProvider } from './billing/select-provider.ts';
import { refusesPrivateReceivers } from './webhooks/address.ts';
import { webhookDelivery } from './webhooks/consumer.ts';
import { webhookKey } from './webhooks/key.ts';

export interface BackgroundWork {
  stop(): Promise<void>;
}

/**
 * How this process delivers email: over SMTP with SMTP_URL; without it, in development, to the
 * local mailbox (/api/dev/mailbox). In production without SMTP_URL not at all: emails stay pending
 * for a process that has it (regression: with SMTP_URL added to one process of several, the others
 * claimed most emails and marked them sent into a mailbox nobody could read).
 */
export function mailTransportFor(config: Config, logger: FastifyBaseLogger): MailTransport | undefined {
  if (config.smtpUrl) return createSmtpTransport(config);
  if (config.isProduction) {
    logger.warn('SMTP_URL is not set: this process delivers no email; emails wait in the outbox for a process with SMTP_URL');
    return undefined;
  }
  logger.info('SMTP_URL is not set: emails go to the local mailbox at /api/dev/mailbox');
  return createLocalMailboxTransport(logger);
}

/**
 * Production without LINK_SECRET runs, on keys kept in the database (server_keys): a copy of the
 * database, or a backup, then holds what rebuilds the admins' invitation links and opens the links
 * of emails waiting in the outbox (src/invites/link-token.ts, src/mail/sealing.ts). Said at start.
 */
export function linkSecretWarning(config: Config): string | undefined {
  if (!config.isProduction || config.linkSecret) return undefined;
  return 'LINK_SECRET is not set: the keys of invitation links and of the links in waiting emails are kept in the database, so a copy or backup of it can rebuild and open them; set LINK_SECRET (32+ characters) on every process';
}

/**
 * Work that runs beside the HTTP server in every process: one worker runtime, its consumers
 * registered here (mail delivery and webhook delivery), the retention sweep (src/retention) and the
 * record of invitation expiries (src/invites/expiry.ts).
 */
export async function startBackgroundWork(deps: {
  config: Config;
  database: Database;
  logger: FastifyBaseLogger;
  /** Job outcomes and queue backlogs feed these metrics (GET /metrics). */
  metrics?: Metrics;
}): Promise<BackgroundWork> {
  const { config, database, logger } = deps;
  const runtime = createWorkerRuntime({ db: database.db, listen: database.listen, logger });
  const linkWarning = linkSecretWarning(config);
  if (linkWarning) logger.warn(linkWarning);
  const transport = mailTransportFor(config, logger);
  if (transport) runtime.register(mailDelivery(transport, await outboxKey(config, database.db)));
  const key = await webhookKey(config, database.db);
  if (key) runtime.register(webhookDelivery(key, { allowPrivateNetworks: !refusesPrivateReceivers(config) }));
  else logger.warn('WEBHOOK_SECRET_KEY is not set: webhook endpoints cannot be added and deliveries wait until it is');
  if (deps.metrics) {
    runtime.onJob(deps.metrics.observeJob);
    deps.metrics.setQueueSource(() => runtime.queueStats());
  }
  await runtime.start();
  const retention = startRetention({ db: database.db, config, clock: systemClock, logger, onSweep: deps.metrics?.observeSweep });
  const expiries = startExpiryRecorder({
    ctx: {
      db: database.db,
      config,
      clock: systemClock,
      billing: createBillingProvider(config),
      requestId: 'invite-expiry',
      actor: null,
    },
    logger,
  });
  return {
    async stop() {
      await expiries.stop();
      await retention.stop();
      await runtime.stop();
      transport?.close();
    },
  };
}
