// `npm run bench -- growth`: how cost grows with the org and the batch. Member pages (first and
// a deep one) of orgs of 10, 1,000, 10,000 and 100,000 members, seeded set-based; bulk
// invitations of 10, 100 and 1,000 addresses; the server's peak RSS for each shape, and under
// 50 connections.
import pg from 'pg';
import { openDatabase } from '../src/db/client.ts';
import { migrate } from '../src/db/migrate.ts';
import { seedOrg } from './foundation.ts';
import { load, peakRssMb, resetPeakRss, startBenchServer, table, withBenchDatabase } from './harness.ts';
import { addresses, httpClient, median, orgWithSeats } from './peers.ts';

const SIZES = [10, 1_000, 10_000, 100_000];
const BATCHES = [10, 100, 1_000];

export async function benchGrowth(): Promise<string> {
  return withBenchDatabase('growth', async (url) => {
    const database = await openDatabase({ databaseUrl: url });
    await migrate(database);
    await database.close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const orgs: { size: number; token: string; deepCursor: string; seedSeconds: number }[] = [];
    for (const size of SIZES) {
      const started = performance.now();
      const seeded = await seedOrg(client, `growth-${size}`, size);
      const seedSeconds = (performance.now() - started) / 1000;
      // The cursor of the member in the middle of the org: a page as deep as it gets on average.
      const middle = await client.query<{ key: string; user_id: string }>(
        `SELECT to_char(m.joined_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS key, m.user_id
         FROM memberships m WHERE m.org_id = (SELECT org_id FROM memberships WHERE user_id = $1)
         ORDER BY m.joined_at, m.user_id OFFSET $2 LIMIT 1`,
        [seeded.ownerId, Math.floor(size / 2)],
      );
      const row = middle.rows[0]!;
      orgs.push({
        size,
        token: seeded.ownerToken,
        deepCursor: Buffer.from(`${row.key}|${row.user_id}`).toString('base64url'),
        seedSeconds,
      });
    }
    await client.query('ANALYZE');
    await client.end();

    const server = await startBenchServer({ DATABASE_URL: url, BULK_INVITE_MAX: '1000', PUBLIC_URL: 'http://localhost:3000' });
    const pageRows: (string | number)[][] = [];
    let memory50: number;
    try {
      for (const org of orgs) {
        for (const [label, query] of [
          ['first page', ''],
          ['deep page (middle of the org)', `&cursor=${org.deepCursor}`],
        ] as const) {
          resetPeakRss(server.pid);
          const result = await load(label, {
            url: `${server.url}/api/v1/org/members?limit=50${query}`,
            headers: { authorization: `Bearer ${org.token}` },
            connections: 10,
            seconds: 3,
            warmupSeconds: 1,
          });
          if (result.non2xx > 0) throw new Error(`member page: ${result.non2xx} non-2xx replies`);
          pageRows.push([
            org.size.toLocaleString('en-US'),
            label,
            result.p50Ms,
            result.p99Ms,
            Math.round(result.requestsPerSecond),
            `${peakRssMb(server.pid)} MB`,
          ]);
        }
      }
      // Memory under 50 connections, on the largest org: the first page and the usage page.
      const huge = orgs[orgs.length - 1]!;
      resetPeakRss(server.pid);
      for (const path of ['/api/v1/org/members?limit=200', '/api/v1/org/usage?limit=200']) {
        await load(path, {
          url: `${server.url}${path}`,
          headers: { authorization: `Bearer ${huge.token}` },
          connections: 50,
          seconds: 3,
          warmupSeconds: 1,
        });
      }
      memory50 = peakRssMb(server.pid);
      // Let the requests still queued after the load finish before timing single requests.
      await new Promise((resolve) => setTimeout(resolve, 2000));

      const http = httpClient(server.url);
      const warm = await orgWithSeats(http, 200);
      await http.post('/api/v1/org/invites/bulk', warm, { emails: addresses('warm', 100) });
      const bulkRows: (string | number)[][] = [];
      for (const batch of BATCHES) {
        resetPeakRss(server.pid);
        const runs: number[] = [];
        for (let run = 0; run < 3; run += 1) {
          const token = await orgWithSeats(http, batch + 10);
          const started = performance.now();
          const reply = await http.post('/api/v1/org/invites/bulk', token, { emails: addresses(`g${batch}`, batch) });
          runs.push(performance.now() - started);
          if (reply.status !== 200 || reply.body.invited !== batch) throw new Error(`bulk of ${batch} failed: ${reply.status}`);
        }
        const ms = median(runs);
        bulkRows.push([
          batch.toLocaleString('en-US'),
          `${ms.toFixed(1)} ms`,
          runs.map((value) => value.toFixed(0)).join(' / '),
          `${((ms * 1000) / batch).toFixed(0)} µs`,
          `${peakRssMb(server.pid)} MB`,
        ]);
      }
      return [
        'Member pages, GET /api/v1/org/members?limit=50 (10 connections, 3 s each, PostgreSQL):',
        '',
        table(['org members', 'page', 'p50 ms', 'p99 ms', 'req/s', 'server peak RSS'], pageRows),
        '',
        `Seeding (set-based SQL): ${orgs.map((org) => `${org.size.toLocaleString('en-US')} in ${org.seedSeconds.toFixed(1)} s`).join(', ')}.`,
        '',
        'Bulk invitations over HTTP, each on a fresh org (median of 3):',
        '',
        table(['addresses', 'bulk request', 'runs (ms)', 'per address', 'server peak RSS'], bulkRows),
        '',
        `Server peak RSS under 50 connections on the 100,000-member org (member and usage pages of 200): ${memory50} MB (goal ≤ 300 MB).`,
      ].join('\n');
    } finally {
      await server.stop();
    }
  });
}
