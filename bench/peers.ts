// `npm run bench -- peers`: Roster against better-auth's organization plugin, in one run on the
// same PostgreSQL server (one scratch database each). better-auth runs in this process and is
// called through its server API (`auth.api.*`, no HTTP); Roster is the real server in a child
// process, called over HTTP on loopback, so every Roster figure includes HTTP.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import { organization } from 'better-auth/plugins';
import pg from 'pg';
import { openDatabase } from '../src/db/client.ts';
import { newToken } from '../src/core/tokens.ts';
import { migrate } from '../src/db/migrate.ts';
import { seedOrg } from './foundation.ts';
import { load, peakRssMb, resetPeakRss, startBenchServer, table, withBenchDatabase } from './harness.ts';

const BULK = 1000;
const BULK_RUNS = 5;
const WARM_BULKS = 3;
const SINGLES = 200;
const ACCEPTS = 20;
const PAGE_CALLS = 300;
const CHECK_CALLS = 500;
const BIG_ORG = 10_000;
const PASSWORD = 'correct horse battery staple';

interface Row {
  shape: string;
  roster: number;
  peer: number;
  unit: string;
  goal: string;
  rosterRssMb?: number;
}

export async function benchPeers(): Promise<string> {
  return withBenchDatabase('peers_roster', (rosterUrl) =>
    withBenchDatabase('peers_better_auth', async (peerUrl) => {
      const peer = await betterAuthPeer(peerUrl);
      try {
        const roster = await rosterPeer(rosterUrl);
        try {
          return await compare(roster, peer);
        } finally {
          await roster.stop();
        }
      } finally {
        await peer.stop();
      }
    }),
  );
}

async function compare(roster: Awaited<ReturnType<typeof rosterPeer>>, peer: Awaited<ReturnType<typeof betterAuthPeer>>) {
  const rows: Row[] = [];
  // Warm-up both sides (JIT, pools, prepared statements). Roster's with bulks of the measured size,
  // as in the invites suite: the first bulks of 1,000 on a fresh server run 20-50% slower, while
  // better-auth's loop of 1,000 is warm after its first calls.
  for (let run = 0; run < WARM_BULKS; run += 1) await roster.bulk(BULK);
  await peer.inviteLoop(100);
  for (let index = 0; index < 20; index += 1) await roster.single();

  resetPeakRss(roster.pid);
  const bulkRuns: number[] = [];
  for (let run = 0; run < BULK_RUNS; run += 1) bulkRuns.push(await roster.bulk(BULK));
  const rosterBulk = median(bulkRuns);
  const bulkRss = peakRssMb(roster.pid);
  const peerLoop = await peer.inviteLoop(BULK);
  rows.push({
    shape: `${BULK} invitations: Roster's bulk request (HTTP, median of ${BULK_RUNS}) vs better-auth's createInvitation loop`,
    roster: rosterBulk,
    peer: peerLoop,
    unit: 'ms',
    goal: '≥ 80×',
    rosterRssMb: bulkRss,
  });

  // Statistics as autovacuum keeps them on a live server (it analyzes a table within a minute once
  // 10% of it has changed): the bulks above grew both invitation tables from about a hundred rows to
  // thousands. Without it, Roster's prepared statements keep the generic plans they made for a
  // table of a hundred rows, sequential scans, until autovacuum's ANALYZE replaces them
  // (bench/README.md, "A generic plan that read every org's members"); better-auth plans every
  // statement anew.
  await Promise.all([roster.analyze(), peer.analyze()]);

  resetPeakRss(roster.pid);
  const single = await timed(SINGLES, () => roster.single());
  const peerSingle = peerLoop / BULK;
  rows.push({
    shape: `one invitation: Roster over HTTP (mean of ${SINGLES}) vs better-auth in-process (mean of its ${BULK})`,
    roster: single,
    peer: peerSingle,
    unit: 'ms',
    goal: '≥ 1× (HTTP at least as fast)',
    rosterRssMb: peakRssMb(roster.pid),
  });

  resetPeakRss(roster.pid);
  const rosterAccept = await roster.acceptMean(ACCEPTS);
  const peerAccept = await peer.acceptMean(ACCEPTS);
  rows.push({
    shape: `accepting an invitation (mean of ${ACCEPTS})`,
    roster: rosterAccept,
    peer: peerAccept,
    unit: 'ms',
    goal: '',
    rosterRssMb: peakRssMb(roster.pid),
  });

  resetPeakRss(roster.pid);
  const rosterPage = await timed(PAGE_CALLS, () => roster.memberPage());
  const peerPage = await timed(PAGE_CALLS, () => peer.memberPage());
  rows.push({
    shape: `a page of 50 members of a ${BIG_ORG.toLocaleString('en-US')}-member org (mean of ${PAGE_CALLS})`,
    roster: rosterPage,
    peer: peerPage,
    unit: 'ms',
    goal: '',
    rosterRssMb: peakRssMb(roster.pid),
  });

  resetPeakRss(roster.pid);
  const checkName = 'GET /api/v1/authz/check (service token)';
  const rosterCheck = await timed(CHECK_CALLS, () => roster.check());
  const peerCheck = await timed(CHECK_CALLS, () => peer.check());
  rows.push({
    shape: `permission check, sequential: Roster ${checkName} vs hasPermission (mean of ${CHECK_CALLS})`,
    roster: rosterCheck,
    peer: peerCheck,
    unit: 'ms',
    goal: '≥ 10×',
    rosterRssMb: peakRssMb(roster.pid),
  });
  resetPeakRss(roster.pid);
  const rosterRate = await roster.checkThroughput(32);
  const peerRate = await peer.checkThroughput(32, 5_000);
  rows.push({
    shape: `permission check, 32 concurrent callers for 5 s: Roster ${checkName} vs hasPermission`,
    roster: 1000 / rosterRate,
    peer: 1000 / peerRate,
    unit: `ms per check (Roster ${Math.round(rosterRate)}/s, better-auth ${Math.round(peerRate)}/s)`,
    goal: '≥ 10×',
    rosterRssMb: peakRssMb(roster.pid),
  });

  return [
    table(
      ['shape', 'Roster', 'better-auth', 'better-auth / Roster', 'goal', 'Roster server peak RSS'],
      rows.map((row) => [
        row.shape,
        `${row.roster.toFixed(2)} ${row.unit}`,
        `${row.peer.toFixed(2)} ms`,
        `**${(row.peer / row.roster).toFixed(1)}×**`,
        row.goal,
        row.rosterRssMb === undefined ? '' : `${row.rosterRssMb} MB`,
      ]),
    ),
    '',
    `Bulk runs: ${bulkRuns.map((ms) => ms.toFixed(0)).join(' / ')} ms. better-auth ${peer.version}, in this process, pool of 10; Roster's server in a child process, pool of 10.`,
  ].join('\n');
}

// ---- Roster: the real server over HTTP ---------------------------------------------------------

async function rosterPeer(url: string) {
  const database = await openDatabase({ databaseUrl: url });
  await migrate(database);
  await database.close();
  const seedClient = new pg.Client({ connectionString: url });
  await seedClient.connect();
  const big = await seedOrg(seedClient, 'peers-big', BIG_ORG);
  // The host app's permission check: a service token with authz:read asks about the big org's owner.
  const service = newToken('service');
  await seedClient.query(`INSERT INTO service_tokens (name, scopes, token_hash) VALUES ('bench', ARRAY['authz:read'], $1)`, [
    service.hash,
  ]);
  const checkPath = `/api/v1/authz/check?user_id=${big.ownerId}&action=invite`;
  // Under load, each connection asks about a user of its own (no two checks of a turn share a row).
  const checkedUsers = await seedClient.query<{ user_id: string }>(
    `SELECT user_id FROM memberships WHERE org_id = (SELECT org_id FROM memberships WHERE user_id = $1) ORDER BY user_id LIMIT 32`,
    [big.ownerId],
  );
  await seedClient.query('ANALYZE');
  await seedClient.end();

  const server = await startBenchServer({
    DATABASE_URL: url,
    BULK_INVITE_MAX: String(BULK),
    PUBLIC_URL: 'http://localhost:3000',
  });
  const http = httpClient(server.url);
  // Singles and accepts share one org with room for all of them.
  const shared = await orgWithSeats(http, 5000);

  return {
    pid: server.pid,
    stop: () => server.stop(),
    async analyze(): Promise<void> {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query('ANALYZE');
      await client.end();
    },
    async bulk(count: number): Promise<number> {
      const token = await orgWithSeats(http, count + 10);
      const emails = addresses('bulk', count);
      const started = performance.now();
      const reply = await http.post('/api/v1/org/invites/bulk', token, { emails });
      const elapsed = performance.now() - started;
      if (reply.status !== 200 || reply.body.invited !== count) throw new Error(`bulk failed: ${reply.status}`);
      return elapsed;
    },
    async single(): Promise<void> {
      const reply = await http.post('/api/v1/org/invite', shared, { email: addresses('one', 1)[0] });
      if (reply.status !== 201) throw new Error(`invite failed: ${reply.status} ${JSON.stringify(reply.body)}`);
    },
    async acceptMean(count: number): Promise<number> {
      let total = 0;
      for (let index = 0; index < count; index += 1) {
        const email = addresses('accept', 1)[0]!;
        const invite = await http.post('/api/v1/org/invite', shared, { email });
        const token = String(invite.body.invite.link).split('/invite/')[1];
        const signup = await http.post('/api/v1/auth/signup', undefined, { email, password: PASSWORD, name: 'Invitee' });
        const started = performance.now();
        const reply = await http.post(`/api/v1/invites/${token}/accept`, signup.body.token, {});
        total += performance.now() - started;
        if (reply.status !== 200) throw new Error(`accept failed: ${reply.status} ${JSON.stringify(reply.body)}`);
      }
      return total / count;
    },
    async memberPage(): Promise<void> {
      const reply = await http.get('/api/v1/org/members?limit=50', big.ownerToken);
      if (reply.status !== 200 || reply.body.members.length !== 50) throw new Error(`members failed: ${reply.status}`);
    },
    async check(): Promise<void> {
      const reply = await http.get(checkPath, service.token);
      if (reply.status !== 200 || reply.body.allowed !== true)
        throw new Error(`check failed: ${reply.status} ${JSON.stringify(reply.body)}`);
    },
    async checkThroughput(connections: number): Promise<number> {
      const result = await load('check', {
        url: `${server.url}${checkPath}`,
        headers: { authorization: `Bearer ${service.token}` },
        connectionRequests: checkedUsers.rows.map(({ user_id: userId }) => ({
          path: `/api/v1/authz/check?user_id=${userId}&action=invite`,
          headers: { authorization: `Bearer ${service.token}` },
        })),
        connections,
        seconds: 5,
      });
      if (result.non2xx > 0) throw new Error(`check under load: ${result.non2xx} non-2xx replies`);
      return result.requestsPerSecond;
    },
  };
}

// ---- better-auth: the organization plugin, in this process ----------------------------------------

async function betterAuthPeer(url: string) {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  pool.on('error', () => {}); // the scratch database is dropped with its connections at the end
  const auth = betterAuth({
    database: pool,
    secret: randomBytes(32).toString('hex'),
    baseURL: 'http://localhost:3000',
    emailAndPassword: { enabled: true },
    logger: { disabled: true },
    plugins: [
      organization({
        invitationLimit: 1_000_000,
        membershipLimit: 1_000_000,
        // Like Roster's outbox without a worker: nothing is sent during the measurement.
        sendInvitationEmail: async () => {},
      }),
    ],
  });
  // Its schema, created by its own migration mechanism (what `npx @better-auth/cli migrate` runs).
  const { runMigrations } = await getMigrations(auth.options);
  await runMigrations();

  async function signUp(email: string): Promise<Headers> {
    const { headers } = await auth.api.signUpEmail({ body: { email, password: PASSWORD, name: 'Peer' }, returnHeaders: true });
    const cookie = (headers.getSetCookie?.() ?? [headers.get('set-cookie') ?? '']).map((value) => value.split(';')[0]).join('; ');
    return new Headers({ cookie });
  }
  async function orgOf(headers: Headers, tag: string): Promise<string> {
    const org = await auth.api.createOrganization({ body: { name: `Peer ${tag}`, slug: `peer-${tag}` }, headers });
    if (!org) throw new Error('better-auth createOrganization returned nothing');
    return org.id;
  }

  const ownerHeaders = await signUp(`owner-${randomBytes(4).toString('hex')}@peer.example.com`);
  const sharedOrg = await orgOf(ownerHeaders, randomBytes(4).toString('hex'));
  // The 10,000-member org, seeded set-based in better-auth's own tables.
  const bigOwner = await signUp(`big-owner-${randomBytes(4).toString('hex')}@peer.example.com`);
  const bigOrg = await orgOf(bigOwner, `big-${randomBytes(4).toString('hex')}`);
  await pool.query(
    `WITH created AS (
       INSERT INTO "user" (id, name, email, "emailVerified", "createdAt", "updatedAt")
       SELECT gen_random_uuid()::text, 'Member ' || i, 'member' || i || '@big.peer.example', false, now(), now()
       FROM generate_series(1, $2::int) AS i RETURNING id)
     INSERT INTO member (id, "organizationId", "userId", role, "createdAt")
     SELECT gen_random_uuid()::text, $1, id, 'member', now() - random() * interval '365 days' FROM created`,
    [bigOrg, BIG_ORG - 1],
  );
  await pool.query('ANALYZE');
  const version = (
    JSON.parse(
      readFileSync(fileURLToPath(import.meta.resolve('better-auth')).replace(/dist\/index\.mjs$/, 'package.json'), 'utf8'),
    ) as { version: string }
  ).version;

  return {
    version,
    stop: () => pool.end(),
    analyze: async (): Promise<void> => {
      await pool.query('ANALYZE');
    },
    async inviteLoop(count: number): Promise<number> {
      const headers = await signUp(`loop-${randomBytes(4).toString('hex')}@peer.example.com`);
      const orgId = await orgOf(headers, randomBytes(4).toString('hex'));
      const emails = addresses('peer', count);
      const started = performance.now();
      for (const email of emails) {
        await auth.api.createInvitation({ body: { email, role: 'member', organizationId: orgId }, headers });
      }
      return performance.now() - started;
    },
    async acceptMean(count: number): Promise<number> {
      let total = 0;
      for (let index = 0; index < count; index += 1) {
        const email = addresses('peer-accept', 1)[0]!;
        const invitation = await auth.api.createInvitation({
          body: { email, role: 'member', organizationId: sharedOrg },
          headers: ownerHeaders,
        });
        const invitee = await signUp(email);
        const started = performance.now();
        await auth.api.acceptInvitation({ body: { invitationId: invitation.id }, headers: invitee });
        total += performance.now() - started;
      }
      return total / count;
    },
    async memberPage(): Promise<void> {
      const page = await auth.api.listMembers({ query: { organizationId: bigOrg, limit: 50, offset: 0 }, headers: bigOwner });
      if (page.members.length !== 50) throw new Error(`better-auth listMembers: ${page.members.length} members`);
    },
    async check(): Promise<void> {
      const result = await auth.api.hasPermission({
        body: { organizationId: bigOrg, permissions: { invitation: ['create'] } },
        headers: bigOwner,
      });
      if (!result.success) throw new Error('better-auth hasPermission refused the owner');
    },
    async checkThroughput(callers: number, ms: number): Promise<number> {
      const until = performance.now() + ms;
      let done = 0;
      await Promise.all(
        Array.from({ length: callers }, async () => {
          while (performance.now() < until) {
            await auth.api.hasPermission({
              body: { organizationId: bigOrg, permissions: { invitation: ['create'] } },
              headers: bigOwner,
            });
            done += 1;
          }
        }),
      );
      return done / (ms / 1000);
    },
  };
}

// ---- helpers ---------------------------------------------------------------------------------

async function timed(count: number, work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  for (let index = 0; index < count; index += 1) await work();
  return (performance.now() - started) / count;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

export function addresses(prefix: string, count: number): string[] {
  const tag = randomBytes(4).toString('hex');
  return Array.from({ length: count }, (_, index) => `${prefix}-${index}-${tag}@bench.example.com`);
}

export function httpClient(base: string) {
  async function send(method: 'GET' | 'POST', path: string, token: string | undefined, body?: unknown) {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as any };
  }
  return {
    get: (path: string, token?: string) => send('GET', path, token),
    post: (path: string, token: string | undefined, body: unknown) => send('POST', path, token, body),
  };
}

export type Http = ReturnType<typeof httpClient>;

/** A fresh owner with a Team subscription of `seats` seats and an org; returns the session token. */
export async function orgWithSeats(http: Http, seats: number): Promise<string> {
  const tag = randomBytes(4).toString('hex');
  const signup = await http.post('/api/v1/auth/signup', undefined, {
    email: `owner-${tag}@bench.example.com`,
    password: PASSWORD,
    name: 'Owner',
  });
  const token = signup.body.token as string;
  await http.post('/api/v1/billing/checkout', token, { plan: 'team', seats, scope: 'personal' });
  const org = await http.post('/api/v1/org', token, { name: `Bench ${tag}`, slug: `bench-${tag}` });
  if (org.status !== 201) throw new Error(`org setup failed: ${JSON.stringify(org.body)}`);
  return token;
}
