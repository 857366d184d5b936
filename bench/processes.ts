// Throughput of 1 vs 2 server processes behind a real HAProxy (issue 14): `npm run bench -- processes`.
// Each configuration is `roster start --workers N` on one fresh PostgreSQL database, loaded
// through HAProxy on loopback with GET /api/v1/me (session, membership, role and org: one query).
// Needs haproxy (apt-get install haproxy).
import buildServerBundle from '../test/kit/build-server.ts';
import { startHaproxy } from '../test/kit/haproxy.ts';
import { createScratchDatabase } from '../test/kit/postgres.ts';
import { startServerProcess } from '../test/kit/server.ts';
import { load, table } from './harness.ts';

const SERVER = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);

export async function benchProcesses(): Promise<string> {
  // The kit spawns the server bundle (what npm start runs): build it as the test run's setup does.
  buildServerBundle();
  const rows: (string | number)[][] = [];
  for (const workers of [1, 2]) {
    const scratch = await createScratchDatabase(SERVER, 'roster_bench_procs');
    const server = await startServerProcess({
      env: { DATABASE_URL: scratch.url, LOG_LEVEL: 'warn', TRUST_PROXY: '127.0.0.1' },
      args: ['--workers', String(workers)],
    });
    const lb = await startHaproxy([server.url]);
    try {
      const signup = await fetch(`${lb.url}/api/v1/auth/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `bench-${workers}@example.com`, password: 'correct horse battery staple', name: 'B' }),
      });
      const { token } = (await signup.json()) as { token: string };
      const auth = { authorization: `Bearer ${token}` };
      const me = await load(`GET /api/v1/me, ${workers} process(es)`, {
        url: `${lb.url}/api/v1/me`,
        headers: auth,
        seconds: SECONDS,
      });
      rows.push([workers, 'GET /api/v1/me', Math.round(me.requestsPerSecond), me.p99Ms, me.non2xx]);
    } finally {
      await lb.stop();
      await server.stop();
      await scratch.drop();
    }
  }
  return table(['processes (--workers)', 'route', 'req/s', 'p99 ms', 'non-2xx'], rows);
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await benchProcesses());
