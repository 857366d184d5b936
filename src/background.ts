import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config.ts';
import type { Database } from './db/client.ts';
import { createLocalMailboxTransport, createSmtpTransport } from './mail/transport.ts';
import { startMailWorker } from './mail/worker.ts';

export interface BackgroundWork {
  stop(): Promise<void>;
}

/** Work that runs beside the HTTP server in every process (mail delivery). */
export function startBackgroundWork(deps: { config: Config; database: Database; logger: FastifyBaseLogger }): BackgroundWork {
  const { config, logger } = deps;
  const transport = config.smtpUrl ? createSmtpTransport(config) : createLocalMailboxTransport(logger);
  if (!config.smtpUrl) {
    if (config.isProduction) logger.warn('SMTP_URL is not set: emails are kept in the outbox and not delivered');
    else logger.info('SMTP_URL is not set: emails go to the local mailbox at /api/dev/mailbox');
  }
  const worker = startMailWorker({ db: deps.database.db, transport, logger });
  return {
    async stop() {
      await worker.stop();
      transport.close();
    },
  };
}
