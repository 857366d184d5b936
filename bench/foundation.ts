// Issue 2's benchmark: the cost of authentication and of reading an org, against floors
// measured in the same run on the same pool.
import pg from 'pg';
import { newToken } from '../src/core/tokens.ts';
import { openDatabase } from '../src/db/client.ts';
import { migrate } from '../src/db/migrate.ts';
import { load, peakRssMb, resetPeakRss, startBenchServer, table, withBenchDatabase, type LoadResult } from './harness.ts';

export interface SeededOrg {
  ownerToken: string;
  ownerId: string;
}

export async function seedOrg(client: pg.Client, slug: string, members: number): Promise<SeededOrg> {
  const domain = `${slug}.bench.example`;
  const owner = await client.query<{ id: string }>(
    `INSERT INTO users (email, email_normalized, name, password_hash) VALUES ($1, $1, 'Owner', 'x') RETURNING id`,
    [`owner@${domain}`],
  );
  const ownerId = owner.rows[0]!.id;
  const org = await client.query<{ id: string }>(`INSERT INTO orgs (name, slug) VALUES ($1, $1) RETURNING id`, [slug]);
  const orgId = org.rows[0]!.id;
  await client.query(
    `INSERT INTO subscriptions (org_id, plan, seats, status, provider) VALUES ($1, 'team', $2, 'active', 'local')`,
    [orgId, members + 10],
  );
  await client.query(`INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, 'owner')`, [orgId, ownerId]);
  await client.query(
    `WITH created AS (
       INSERT INTO users (email, email_normalized, name, password_hash)
       SELECT 'member' || i || '@' || $2, 'member' || i || '@' || $2, 'Member ' || i, 'x'
       FROM generate_series(1, $3::int) AS i RETURNING id)
     INSERT INTO memberships (org_id, user_id, role, joined_at)
     SELECT $1, id, 'member', now() - random() * interval '365 days' FROM created`,
    [orgId, domain, members - 1],
  );
  // One org per user: every membership has its user_orgs row, as the product writes them.
  await client.query(`INSERT INTO user_orgs (user_id, org_id) SELECT user_id, org_id FROM memberships WHERE org_id = $1`, [
    orgId,
  ]);
  const { token, hash } = newToken('session');
  await client.query(`INSERT INTO sessions (user_id, token_hash, expires_at) VALUES ($1, $2, now() + interval '1 day')`, [
    ownerId,
    hash,
  ]);
  return { ownerToken: token, ownerId };
}

/** `count` sessions spread over the members of `ownerId`'s org, in turn. */
async function sessionsOfMembers(client: pg.Client, ownerId: string, count: number): Promise<string[]> {
  const members = await client.query<{ user_id: string }>(
    `SELECT user_id FROM memberships WHERE org_id = (SELECT org_id FROM memberships WHERE user_id = $1) ORDER BY user_id`,
    [ownerId],
  );
  const tokens: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const { token, hash } = newToken('session');
    await client.query(`INSERT INTO sessions (user_id, token_hash, expires_at) VALUES ($1, $2, now() + interval '1 day')`, [
      members.rows[index % members.rows.length]!.user_id,
      hash,
    ]);
    tokens.push(token);
  }
  return tokens;
}

export async function benchFoundation(): Promise<string> {
  return withBenchDatabase('foundation', async (databaseUrl) => {
    const database = await openDatabase({ databaseUrl });
    await migrate(database);
    await database.close();
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    const small = await seedOrg(client, 'small', 10);
    const thousand = await seedOrg(client, 'thousand', 1000);
    const sixty = await seedOrg(client, 'sixty', 60);
    const huge = await seedOrg(client, 'huge', 100_000);
    const smallSessions = await sessionsOfMembers(client, small.ownerId, 32);
    await client.query('ANALYZE');
    await client.end();

    const server = await startBenchServer({ DATABASE_URL: databaseUrl });
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    const targets: [string, string, Record<string, string> | Record<string, string>[] | undefined][] = [
      ['(a) bare route, constant', '/bench/constant', undefined],
      ['(b) one indexed SELECT of a user row (prepared)', `/bench/one-select?id=${small.ownerId}`, undefined],
      // Each connection its own session (10 members, 32 sessions): no two requests share a lookup.
      ['(c) GET /api/v1/me, a session per connection', '/api/v1/me', smallSessions.map(bearer)],
      ['(d) GET /api/v1/org, 1,000-member org (first 100 inline)', '/api/v1/org', bearer(thousand.ownerToken)],
      ['(e) GET /api/v1/org/members page of 50, 10-member org', '/api/v1/org/members?limit=50', bearer(small.ownerToken)],
      ['(f) GET /api/v1/org/members page of 50, 100,000-member org', '/api/v1/org/members?limit=50', bearer(huge.ownerToken)],
      ['(g) GET /api/v1/org/members page of 50, 60-member org', '/api/v1/org/members?limit=50', bearer(sixty.ownerToken)],
    ];
    // Two interleaved rounds, averaged: two cores shared by server, database and load generator
    // drift over a minute, and interleaving spreads that drift over every target alike.
    const sums = new Map<string, LoadResult>();
    const peaks = new Map<string, number>();
    try {
      for (let round = 0; round < 2; round += 1) {
        for (const [name, path, headers] of targets) {
          resetPeakRss(server.pid);
          const result = await load(name, {
            url: `${server.url}${path}`,
            ...(Array.isArray(headers) ? { connectionRequests: headers.map((each) => ({ headers: each })) } : { headers }),
            seconds: 5,
          });
          peaks.set(name, Math.max(peaks.get(name) ?? 0, peakRssMb(server.pid)));
          const sum = sums.get(name);
          sums.set(name, {
            name,
            requestsPerSecond: (sum?.requestsPerSecond ?? 0) + result.requestsPerSecond / 2,
            p50Ms: Math.max(sum?.p50Ms ?? 0, result.p50Ms),
            p99Ms: Math.max(sum?.p99Ms ?? 0, result.p99Ms),
            non2xx: (sum?.non2xx ?? 0) + result.non2xx,
          });
        }
      }
    } finally {
      await server.stop();
    }
    const results = targets.map(([name]) => sums.get(name)!);
    const floor = results[1]!.requestsPerSecond;
    const rows = results.map((result) => [
      result.name,
      Math.round(result.requestsPerSecond),
      result.p99Ms,
      (result.requestsPerSecond / floor).toFixed(2),
      result.non2xx,
      `${peaks.get(result.name) ?? 0} MB`,
    ]);
    const pageRatio = results[5]!.requestsPerSecond / results[4]!.requestsPerSecond;
    const fullPageRatio = results[5]!.requestsPerSecond / results[6]!.requestsPerSecond;
    return [
      table(['route (PostgreSQL)', 'req/s', 'p99 ms', 'ratio to (b)', 'non-2xx', 'server peak RSS'], rows),
      '',
      `c/b = ${(results[2]!.requestsPerSecond / floor).toFixed(2)} (goal ≥ 0.8); d/b = ${(results[3]!.requestsPerSecond / floor).toFixed(2)}; ` +
        `100,000-member page / 10-member page = ${pageRatio.toFixed(2)} (goal ≥ 0.8; the small org's page holds 10 members, not 50); ` +
        `100,000-member page / 60-member org's full page of 50 = ${fullPageRatio.toFixed(2)}`,
    ].join('\n');
  });
}
