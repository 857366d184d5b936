import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config.ts';
import type { Database } from './db/client.ts';

export interface BackgroundWork {
  stop(): Promise<void>;
}

/** Work that runs beside the HTTP server in every process (mail delivery). */
export function startBackgroundWork(_deps: { config: Config; database: Database; logger: FastifyBaseLogger }): BackgroundWork {
  return { stop: async () => {} };
}
