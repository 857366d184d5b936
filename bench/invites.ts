import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peakRssMb, resetPeakRss, startBenchServer, withBenchDatabase } from './harness.ts';
import { addresses, httpClient, median, orgWithSeats } from './peers.ts';

/**
 * Bulk invitations against single ones, over real HTTP on loopback: one POST /org/invites/bulk
 * of 1,000 addresses vs 1,000 sequential POST /org/invite calls, each on a fresh org with 2,000
 * seats, on PostgreSQL and on embedded PGlite. The server runs in a child process as `npm start`
 * runs it (bench/server.ts with BENCH_BACKGROUND=1: the mail worker delivers to the local mailbox),
 * so its peak RSS is its own; the outbox is drained between phases so one phase's mail does not
 * slow the next.
 */
const ADDRESSES = 1000;
const SEATS = 2000;
const BULK_RUNS = 5;
const WARM_BULKS = 3;

interface EngineResult {
  engine: string;
  bulkMs: number[];
  singlesMs: number;
  /** The server's peak RSS (MB) during the measured bulks, and during the 1,000 singles. */
  bulkPeakRssMb: number;
  singlesPeakRssMb: number;
}

export async function benchInvites(): Promise<string> {
  const results: EngineResult[] = [];
  results.push(await onPostgres());
  results.push(await onPglite());
  return table(results);
}

function onPostgres(): Promise<EngineResult> {
  return withBenchDatabase('invites', (url) => measure('PostgreSQL', { DATABASE_URL: url }));
}

async function onPglite(): Promise<EngineResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'roster-bench-invites-'));
  try {
    return await measure('PGlite (embedded)', { DATA_DIR: dataDir });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function measure(engine: string, env: Record<string, string>): Promise<EngineResult> {
  const server = await startBenchServer({
    ...env,
    BENCH_BACKGROUND: '1',
    HOST: '127.0.0.1',
    PUBLIC_URL: 'http://localhost:3000',
    BULK_INVITE_MAX: String(ADDRESSES),
  });
  try {
    const client = httpClient(server.url);
    const drainOutbox = async () => {
      while ((await client.get('/bench/outbox-pending')).body.pending > 0) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    // Warm-up: JIT, connection pool, prepared statements, as on a server that has been serving a
    // while. Bulks of the measured size: the first bulks of 1,000 on a fresh server run 20-50% slower
    // (code paths compiled for 1,000 rows, tables growing into new pages) and the 1,000 singles
    // measured below are warm after their first few (bench/README.md).
    for (let run = 0; run < WARM_BULKS; run += 1) {
      const warm = await orgWithSeats(client, SEATS);
      await client.post('/api/v1/org/invites/bulk', warm, { emails: addresses('warm', ADDRESSES) });
      await drainOutbox();
    }
    const warm = await orgWithSeats(client, SEATS);
    for (const email of addresses('warm-one', 50)) await client.post('/api/v1/org/invite', warm, { email });
    await drainOutbox();

    const bulkMs: number[] = [];
    resetPeakRss(server.pid);
    for (let run = 0; run < BULK_RUNS; run += 1) {
      const token = await orgWithSeats(client, SEATS);
      const emails = addresses(`bulk${run}`, ADDRESSES);
      const started = performance.now();
      const reply = await client.post('/api/v1/org/invites/bulk', token, { emails });
      bulkMs.push(performance.now() - started);
      if (reply.status !== 200 || reply.body.invited !== ADDRESSES) {
        throw new Error(`bulk failed: ${reply.status} ${JSON.stringify(reply.body).slice(0, 300)}`);
      }
      await drainOutbox();
    }
    const bulkPeakRssMb = peakRssMb(server.pid);

    const token = await orgWithSeats(client, SEATS);
    const emails = addresses('single', ADDRESSES);
    resetPeakRss(server.pid);
    const started = performance.now();
    for (const email of emails) {
      const reply = await client.post('/api/v1/org/invite', token, { email });
      if (reply.status !== 201) throw new Error(`single invite failed: ${reply.status} ${JSON.stringify(reply.body)}`);
    }
    const singlesMs = performance.now() - started;
    return { engine, bulkMs, singlesMs, bulkPeakRssMb, singlesPeakRssMb: peakRssMb(server.pid) };
  } finally {
    await server.stop();
  }
}

function table(results: EngineResult[]): string {
  const lines = [
    `Invitations: one bulk request of ${ADDRESSES} addresses vs ${ADDRESSES} single requests (HTTP on loopback, sequential)`,
    '',
    '| engine | bulk, 1,000 addresses (median of 5, after 3 warm-up bulks) | bulk runs | 1,000 single invites | single, per request | bulk speed-up | server peak RSS: bulks / singles |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const result of results) {
    const bulk = median(result.bulkMs);
    lines.push(
      `| ${result.engine} | ${bulk.toFixed(0)} ms | ${result.bulkMs.map((ms) => ms.toFixed(0)).join(' / ')} ms | ` +
        `${(result.singlesMs / 1000).toFixed(2)} s | ${(result.singlesMs / ADDRESSES).toFixed(2)} ms | ${(result.singlesMs / bulk).toFixed(1)}× | ` +
        `${result.bulkPeakRssMb} / ${result.singlesPeakRssMb} MB |`,
    );
  }
  lines.push('', 'Goals: bulk under 200 ms on PostgreSQL; at least 60× faster than the single calls (issue 13), in one run.');
  return lines.join('\n');
}
