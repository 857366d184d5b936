// The real app plus the benchmark's baseline routes, in its own process so the load generator
// does not share its event loop. Prints "listening <url>" when ready.
import cluster from 'node:cluster';
import { createServer } from 'node:net';
import { eq, sql } from 'drizzle-orm';
import { loadConfig } from '../src/config.ts';
import { openDatabase, type Db } from '../src/db/client.ts';
import { migrate } from '../src/db/migrate.ts';
import { users } from '../src/db/schema.ts';
import { buildApp } from '../src/http/app.ts';
import { mailOutboxStore } from '../src/mail/queries.ts';
import { startServer } from '../src/server.ts';

// PORT must name a port (1-65535, src/config.ts): without one, a port free on loopback now.
const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn', PORT: process.env.PORT ?? String(await freePort()) });
const workers = Number(process.env.BENCH_WORKERS ?? '1');

if (workers > 1 && cluster.isPrimary) {
  // BENCH_WORKERS=N: N processes serving one port (node:cluster), as `roster start --workers N`
  // runs them; each migrates at start-up (the migration lock makes that safe) and has its own pool.
  const port = await freePort();
  cluster.setupPrimary({ silent: true });
  const listening = Array.from({ length: workers }, () => {
    const worker = cluster.fork({ PORT: String(port) });
    worker.process.stderr?.pipe(process.stderr);
    return new Promise<void>((resolve, reject) => {
      worker.process.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('listening ')) resolve();
      });
      worker.once('exit', (code) => reject(new Error(`bench worker exited with ${code}`)));
    });
  });
  await Promise.all(listening);
  console.log(`listening http://127.0.0.1:${port}`);
  process.on('SIGTERM', () => {
    const all = Object.values(cluster.workers ?? {});
    let left = all.length;
    for (const worker of all) {
      worker?.once('exit', () => (--left === 0 ? process.exit(0) : undefined));
      worker?.kill('SIGTERM');
    }
  });
} else if (process.env.BENCH_BACKGROUND === '1') {
  // As `npm start` runs it (src/server.ts: the app, the mail worker and the other background work),
  // for benchmarks whose requests queue mail; `/bench/outbox-pending` tells when the worker is done.
  // The server's own handle, known once it has started (the route is only called after that).
  const opened: { db?: Db } = {};
  const server = await startServer(config, {
    extraRoutes: (instance) => {
      instance.get('/bench/outbox-pending', async () => ({ pending: (await mailOutboxStore.stats!(opened.db!)).depth }));
    },
  });
  opened.db = server.database.db;
  console.log(`listening ${server.url}`);
  process.on('SIGTERM', () => void server.stop().then(() => process.exit(0)));
} else {
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 10 });
  await migrate(database);
  const oneSelect = database.db
    .select({ id: users.id, email: users.email, name: users.name })
    .from(users)
    .where(eq(users.id, sql.placeholder('id')))
    .prepare('bench_one_indexed_select');

  const app = await buildApp({
    config,
    database,
    logger: false,
    extraRoutes: (instance) => {
      // (a) the floor of the HTTP stack; (b) the floor of any request that touches the database.
      instance.get('/bench/constant', async () => ({ ok: true }));
      instance.get('/bench/auth-only', async (request) => ({ ok: request.ctx.actor !== null }));
      instance.get<{ Querystring: { id: string } }>('/bench/one-select', async (request) => {
        const [row] = await oneSelect.execute({ id: request.query.id });
        return { id: row?.id ?? null, email: row?.email ?? null, name: row?.name ?? null };
      });
    },
  });
  const address = await app.listen({ port: config.port, host: '127.0.0.1' });
  console.log(`listening ${address}`);
  process.on('SIGTERM', () => {
    void app
      .close()
      .then(() => database.close())
      .then(() => process.exit(0));
  });
}

/** A port free on loopback now, for the workers to share. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
