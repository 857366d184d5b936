import type { FastifyInstance } from 'fastify';
import { buildApp, type AppOptions } from './http/app.ts';
import type { Config } from './config.ts';
import { openDatabase, type Database } from './db/client.ts';
import { migrate } from './db/migrate.ts';
import { startBackgroundWork } from './background.ts';
import { createMetrics, joinClusterMetrics } from './http/metrics.ts';

export interface RunningServer {
  app: FastifyInstance;
  database: Database;
  url: string;
  /** Stops accepting, finishes in-flight requests and background work, closes the database. */
  stop(): Promise<void>;
}

export async function startServer(config: Config, options: Pick<AppOptions, 'extraRoutes'> = {}): Promise<RunningServer> {
  // The app's logger exists only once the app is built; until then a lost connection goes to stderr.
  let reportConnectionError = (error: Error) => console.warn(`database connection error: ${error.message}`);
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    idleInTransactionTimeoutMs: config.databaseIdleTxTimeoutMs,
    onConnectionError: (error) => reportConnectionError(error),
  });
  try {
    await migrate(database);
  } catch (error) {
    await database.close();
    throw error;
  }
  const metrics = config.metricsToken ? createMetrics({ database }) : undefined;
  if (metrics) joinClusterMetrics(metrics);
  const app = await buildApp({ config, database, metrics, extraRoutes: options.extraRoutes });
  reportConnectionError = (error) => app.log.warn({ err: error.message }, 'database connection lost; the pool replaces it');
  const background = await startBackgroundWork({ config, database, logger: app.log, metrics });
  let address: string;
  try {
    address = await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    // The port is taken or the host not this machine's: stop what started, so the database (and
    // an embedded engine's DATA_DIR lock) is released before the caller learns why.
    await app.close();
    await background.stop();
    await database.close();
    throw error;
  }
  app.log.info(
    { engine: database.engine, publicUrl: config.publicUrl },
    database.engine === 'pglite' ? `Roster is running on embedded PGlite (${config.dataDir})` : 'Roster is running on PostgreSQL',
  );
  let stopping: Promise<void> | undefined;
  return {
    app,
    database,
    url: address,
    stop() {
      stopping ??= (async () => {
        // Requests in flight when closing began finish on kept-alive connections that would then
        // idle until keepAliveTimeout (72 s) and hold the drain: close each as soon as it idles.
        const reaper = setInterval(() => app.server.closeIdleConnections(), 100);
        await app.close().finally(() => clearInterval(reaper));
        await background.stop();
        await database.close();
      })();
      return stopping;
    },
  };
}
