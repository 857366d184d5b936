import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config.ts';
import type { Database } from './db/client.ts';
import { createWorkerRuntime } from './events/runtime.ts';
import { createLocalMailboxTransport, createSmtpTransport } from './mail/transport.ts';
import { mailDelivery } from './mail/worker.ts';
import { webhookDelivery } from './webhooks/consumer.ts';
import { webhookKey } from './webhooks/key.ts';

export interface BackgroundWork {
  stop(): Promise<void>;
}

/**
 * Work that runs beside the HTTP server in every process: one worker runtime, its consumers
 * registered here (mail delivery and webhook delivery; Stripe events next).
 */
export async function startBackgroundWork(deps: {
  config: Config;
  database: Database;
  logger: FastifyBaseLogger;
}): Promise<BackgroundWork> {
  const { config, database, logger } = deps;
  const transport = config.smtpUrl ? createSmtpTransport(config) : createLocalMailboxTransport(logger);
  if (!config.smtpUrl) {
    if (config.isProduction) logger.warn('SMTP_URL is not set: emails are kept in the outbox and not delivered');
    else logger.info('SMTP_URL is not set: emails go to the local mailbox at /api/dev/mailbox');
  }
  const runtime = createWorkerRuntime({ db: database.db, listen: database.listen, logger });
  runtime.register(mailDelivery(transport));
  const key = webhookKey(config);
  if (key) runtime.register(webhookDelivery(key));
  else logger.warn('WEBHOOK_SECRET_KEY is not set: webhook endpoints cannot be added and deliveries wait until it is');
  await runtime.start();
  return {
    async stop() {
      await runtime.stop();
      transport.close();
    },
  };
}
