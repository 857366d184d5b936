import cluster, { type Worker } from 'node:cluster';
import { lookup } from 'node:dns/promises';
import { loadConfig } from '../config.ts';
import { openDatabase } from '../db/client.ts';
import { migrate } from '../db/migrate.ts';
import { serveClusterMetrics } from '../http/metrics.ts';
import { startServer } from '../server.ts';
import { ensureDashboardBuilt } from './dashboard-build.ts';
import { CliError, EXIT_CONFIG, EXIT_USAGE } from './errors.ts';

export interface StartOptions {
  build: boolean;
  /** Parsed as a whole number by the command's option (src/cli/numbers.ts). */
  workers: number;
}

/**
 * `roster start [--workers N]`. One process by default. With N > 1 (PostgreSQL only) the primary
 * runs the migrations once, forks N workers that share the port (node:cluster), restarts a worker
 * that dies, and on SIGTERM/SIGINT forwards the signal so each worker drains its in-flight requests
 * and background work before the primary exits.
 */
export async function runStart(options: StartOptions): Promise<void> {
  const { workers } = options;
  if (workers < 1 || workers > 64) {
    throw new CliError(`--workers must be a whole number from 1 to 64, got "${workers}"`, EXIT_USAGE);
  }
  const config = loadConfig();
  await requireResolvableHost(config.host);
  if (cluster.isWorker || workers === 1) return runOneProcess(options);
  if (!config.databaseUrl) {
    throw new CliError(
      `--workers ${workers} needs PostgreSQL: the embedded engine's DATA_DIR (${config.dataDir}) serves one process. ` +
        'Set DATABASE_URL, or start with --workers 1.',
      EXIT_USAGE,
    );
  }
  if (options.build) ensureDashboardBuilt((message) => console.log(message));
  // Once here, so that N workers do not queue on the migration lock at start-up.
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await migrate(database);
  } finally {
    await database.close();
  }
  runPrimary(workers);
}

/**
 * Before the database opens (creating an embedded one takes seconds): a HOST that does not resolve
 * would otherwise fail only at listen. Exit 78 like the other configuration errors (the primary of
 * --workers stops on it instead of restarting workers).
 */
async function requireResolvableHost(host: string): Promise<void> {
  try {
    await lookup(host);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new CliError(
      `HOST ${host} does not resolve to an address (${code}): set HOST to an address or name of this machine.`,
      EXIT_CONFIG,
    );
  }
}

/**
 * What a process does on each stop signal: the first SIGTERM or SIGINT drains (the requests in
 * flight, the background work), a second SIGINT (Ctrl-C again) exits at once, and any other
 * signal while draining is ignored. A repeated SIGTERM must not cut the drain short: systemd's
 * default KillMode (control-group) sends it to every process of the unit, so a `--workers` worker
 * gets it from systemd and again from its primary, and a process under `npm start` from systemd and
 * again from npm where /bin/sh hands the command over to node (bash does). To force an exit,
 * Ctrl-C twice or SIGKILL (systemd sends SIGKILL after TimeoutStopSec).
 */
export function stopSignals(): (signal: NodeJS.Signals) => 'drain' | 'ignore' | 'exit' {
  let draining = false;
  let interrupts = 0;
  return (signal) => {
    if (signal === 'SIGINT') interrupts += 1;
    if (interrupts > 1) return 'exit';
    if (draining) return 'ignore';
    draining = true;
    return 'drain';
  };
}

async function runOneProcess(options: StartOptions): Promise<void> {
  const config = loadConfig();
  if (options.build && !cluster.isWorker) ensureDashboardBuilt((message) => console.log(message));
  const server = await startServer(config);
  if (!cluster.isWorker) console.log(`Roster is listening on ${server.url} — open ${config.publicUrl}`);
  const signals = stopSignals();
  const shutdown = (signal: NodeJS.Signals) => {
    const action = signals(signal);
    if (action === 'exit') process.exit(1);
    if (action === 'ignore') return;
    server.app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    server.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

function runPrimary(count: number): void {
  serveClusterMetrics();
  let stopping = false;
  let listening = 0;
  const recentCrashes: number[] = [];

  const fork = () => {
    const worker = cluster.fork({ ROSTER_WORKER: '1' });
    worker.once('listening', (address) => {
      listening += 1;
      if (listening === count) {
        console.log(
          `Roster is listening on http://${address.address}:${address.port} with ${count} workers (primary ${process.pid})`,
        );
      }
    });
    return worker;
  };

  /**
   * Workers that did not drain (exited with a code other than 0) while stopping: the primary then
   * exits 1. A worker killed by the SIGTERM itself was still starting (its handler not yet set), so
   * it held nothing.
   */
  let failedDrains = 0;
  cluster.on('exit', (worker: Worker, code, signal) => {
    if (stopping) {
      if (code !== 0 && signal !== 'SIGTERM') {
        failedDrains += 1;
        console.error(`roster: worker ${worker.process.pid} did not drain (${signal ?? `code ${code}`})`);
      }
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(failedDrains > 0 ? 1 : 0);
      return;
    }
    if (code === EXIT_CONFIG) {
      console.error(`roster: worker ${worker.process.pid} refused its configuration; stopping`);
      process.exit(EXIT_CONFIG);
    }
    // A crash loop (a bad deploy, a database that refuses connections) backs off up to 30 s.
    const now = Date.now();
    recentCrashes.push(now);
    while (recentCrashes.length > 0 && recentCrashes[0]! < now - 60_000) recentCrashes.shift();
    const delayMs = Math.min(30_000, 100 * 2 ** Math.max(0, recentCrashes.length - 1));
    console.error(
      `roster: worker ${worker.process.pid} exited (${signal ?? `code ${code}`}); starting a new one in ${delayMs} ms`,
    );
    setTimeout(() => {
      if (!stopping) fork();
    }, delayMs);
  });

  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`roster: ${signal}: draining ${Object.keys(cluster.workers ?? {}).length} workers`);
    const alive = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => Boolean(worker));
    if (alive.length === 0) process.exit(0);
    for (const worker of alive) worker.process.kill('SIGTERM');
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  for (let index = 0; index < count; index += 1) fork();
}
