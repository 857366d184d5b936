import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAPROXY, startHaproxy, type LoadBalancer } from '../kit/haproxy.ts';
import { createScratchDatabase, serverPostgresUrl, type ScratchDatabase } from '../kit/postgres.ts';
import { callServer, startServerProcess, type ServerProcess } from '../kit/server.ts';
import { startSmtpSink, type SmtpSink } from '../kit/smtp.ts';

// Three server processes behind a real HAProxy on loopback: one `roster start` and one
// `roster start --workers 2` (node:cluster), all on one PostgreSQL database. Every request of the
// races goes through the load balancer; the invariants are checked in the database afterwards.
// Needs PostgreSQL (TEST_DATABASE_URL, or CI's server) and haproxy; under CI=true neither is skipped.
const SERVER_URL = serverPostgresUrl();
const PASSWORD = 'correct horse battery staple';
const METRICS_TOKEN = 'lb-metrics-token-0123456789';

if (process.env.CI === 'true' && !HAPROXY) {
  throw new Error('haproxy is missing: .ci/run installs it (apt-get install -y haproxy); this test never skips in CI');
}

describe.skipIf(!SERVER_URL || !HAPROXY)('behind HAProxy: one process and a --workers 2 cluster on one PostgreSQL', () => {
  let scratch: ScratchDatabase;
  let db: pg.Client;
  let smtp: SmtpSink;
  let lb: LoadBalancer;
  let single: ServerProcess;
  let clustered: ServerProcess;
  let via: ServerProcess;

  const call = (method: string, path: string, options: Parameters<typeof callServer>[3] = {}) =>
    callServer(via, method, path, options);

  async function signup(prefix: string): Promise<{ token: string; id: string; email: string }> {
    const email = `${prefix}-${randomBytes(4).toString('hex')}@example.com`;
    const reply = await call('POST', '/api/v1/auth/signup', { body: { email, password: PASSWORD, name: prefix } });
    expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    return { token: reply.body.token, id: reply.body.user.id, email };
  }

  async function orgWithOwner(seats: number): Promise<{ owner: { token: string; id: string }; orgId: string }> {
    const owner = await signup('owner');
    const checkout = await call('POST', '/api/v1/billing/checkout', {
      token: owner.token,
      body: { plan: 'team', seats, scope: 'personal' },
    });
    expect(checkout.status).toBe(200);
    const org = await call('POST', '/api/v1/org', {
      token: owner.token,
      body: { name: 'LB Inc', slug: `lb-${randomBytes(4).toString('hex')}` },
    });
    expect(org.status, JSON.stringify(org.body)).toBe(201);
    return { owner, orgId: org.body.org.id };
  }

  /** Test-only shortcut: in the product members join by invitation. */
  async function addMember(orgId: string, role: 'admin' | 'member') {
    const user = await signup(role);
    await db.query(`INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, $3)`, [orgId, user.id, role]);
    await db.query(`INSERT INTO user_orgs (user_id, org_id) VALUES ($1, $2)`, [user.id, orgId]);
    return user;
  }

  beforeAll(async () => {
    scratch = await createScratchDatabase(SERVER_URL!, 'roster_lb');
    smtp = await startSmtpSink();
    const env = {
      DATABASE_URL: scratch.url,
      SMTP_URL: smtp.url,
      MAIL_FROM: 'Roster <no-reply@roster.lb.test>',
      METRICS_TOKEN,
      TRUST_PROXY: '127.0.0.1',
    };
    // One after the other: a failed start then leaves nothing behind that afterAll cannot stop.
    single = await startServerProcess({ env });
    clustered = await startServerProcess({ env, args: ['--workers', '2'] });
    lb = await startHaproxy([single.url, clustered.url]);
    via = { ...single, url: lb.url };
    db = new pg.Client({ connectionString: scratch.url });
    await db.connect();
  }, 180_000);

  afterAll(async () => {
    await lb?.stop();
    await Promise.all([single?.stop(), clustered?.stop()]);
    await db?.end();
    await smtp?.close();
    await scratch?.drop();
  });

  it('spreads traffic over both backends while 30 raced invitations fill exactly the free seats', async () => {
    const before = await Promise.all([single, clustered].map((server) => requestsBy(server, '/api/v1/org/invite')));
    const { owner, orgId } = await orgWithOwner(5);
    const invitees = Array.from({ length: 30 }, (_, index) => `invitee-${index}-${randomBytes(3).toString('hex')}@example.com`);
    const replies = await Promise.all(
      invitees.map((email) => call('POST', '/api/v1/org/invite', { token: owner.token, body: { email } })),
    );
    const outcomes = replies.map((reply) => (reply.status === 201 ? 'created' : reply.body.error.code));
    expect(outcomes.filter((outcome) => outcome === 'created')).toHaveLength(4);
    expect(outcomes.filter((outcome) => outcome === 'seat_limit')).toHaveLength(26);
    const pending = await db.query(`SELECT count(*)::int AS count FROM invitations WHERE org_id = $1 AND status = 'pending'`, [
      orgId,
    ]);
    expect(pending.rows[0].count).toBe(4);

    const after = await Promise.all([single, clustered].map((server) => requestsBy(server, '/api/v1/org/invite')));
    const served = after.map((count, index) => count - before[index]!);
    expect(served[0]! + served[1]!).toBe(30);
    expect(served[0]).toBeGreaterThan(0);
    expect(served[1]).toBeGreaterThan(0);
  });

  it('keeps exactly one owner when ownership transfers race each other and a removal', async () => {
    const { owner, orgId } = await orgWithOwner(10);
    const [x, y] = [await addMember(orgId, 'admin'), await addMember(orgId, 'admin')];
    const replies = await Promise.all([
      call('POST', '/api/v1/org/transfer-ownership', { token: owner.token, body: { user_id: x.id } }),
      call('POST', '/api/v1/org/transfer-ownership', { token: owner.token, body: { user_id: y.id } }),
      call('DELETE', `/api/v1/org/members/${x.id}`, { token: y.token }),
      call('DELETE', `/api/v1/org/members/${y.id}`, { token: x.token }),
    ]);
    for (const reply of replies) expect(reply.status, JSON.stringify(reply.body)).toBeLessThan(500);
    const owners = await db.query(`SELECT user_id FROM memberships WHERE org_id = $1 AND role = 'owner'`, [orgId]);
    expect(owners.rows).toHaveLength(1);
    const admins = await db.query(
      `SELECT count(*)::int AS count FROM memberships WHERE org_id = $1 AND role IN ('owner', 'admin')`,
      [orgId],
    );
    expect(admins.rows[0].count).toBeGreaterThanOrEqual(1);
  });

  it('records exactly the daily limit when 40 usage requests race through the load balancer', async () => {
    const { owner, orgId } = await orgWithOwner(5);
    const member = await addMember(orgId, 'member');
    const limit = await call('PUT', `/api/v1/org/members/${member.id}/usage-limit`, {
      token: owner.token,
      body: { daily: 10, monthly: null },
    });
    expect(limit.status, JSON.stringify(limit.body)).toBe(200);
    const replies = await Promise.all(
      Array.from({ length: 40 }, () =>
        call('POST', '/api/v1/usage', { token: member.token, body: { activity: 'api.call', quantity: 1 } }),
      ),
    );
    expect(replies.filter((reply) => reply.status === 201)).toHaveLength(10);
    for (const reply of replies.filter((reply) => reply.status !== 201)) {
      expect(reply.body.error.code).toBe('usage_limit_exceeded');
      expect(reply.body.error.details.request_id).toBe(reply.headers.get('x-request-id'));
    }
    const mine = await call('GET', '/api/v1/usage', { token: member.token });
    expect(mine.body.day.used).toBe(10);
  });

  it('serves metrics aggregated over the cluster workers (one scrape covers both)', async () => {
    const reply = await fetch(`${clustered.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    const text = await reply.text();
    // Each worker has its own pool of 10: the aggregate is their sum.
    expect(text).toMatch(/^roster_db_pool_max 20$/m);
  });
});

describe.skipIf(!SERVER_URL || !HAPROXY)('a rolling restart behind HAProxy (docs/operations.md, "Upgrades")', () => {
  let scratch: ScratchDatabase;
  let lb: LoadBalancer;
  let first: ServerProcess;
  let second: ServerProcess;

  beforeAll(async () => {
    scratch = await createScratchDatabase(SERVER_URL!, 'roster_lb_roll');
    // A Team allocation the test's few thousand units do not exhaust.
    const env = { DATABASE_URL: scratch.url, METRICS_TOKEN, TRUST_PROXY: '127.0.0.1', TEAM_CREDITS_PER_SEAT: '1000000' };
    first = await startServerProcess({ env });
    second = await startServerProcess({ env });
    lb = await startHaproxy([first.url, second.url]);
  }, 180_000);

  afterAll(async () => {
    await lb?.stop();
    await Promise.all([first?.stop(), second?.stop()]);
    await scratch?.drop();
  });

  it('answers every request while one backend is drained and stopped under load, and records each 201 once', async () => {
    const via = { ...first, url: lb.url };
    const email = `roll-${randomBytes(4).toString('hex')}@example.com`;
    const signup = await callServer(via, 'POST', '/api/v1/auth/signup', { body: { email, password: PASSWORD, name: 'Roll' } });
    expect(signup.status).toBe(201);
    const token: string = signup.body.token;
    const checkout = await callServer(via, 'POST', '/api/v1/billing/checkout', {
      token,
      body: { plan: 'team', seats: 1, scope: 'personal' },
    });
    expect(checkout.status).toBe(200);
    const org = await callServer(via, 'POST', '/api/v1/org', {
      token,
      body: { name: 'Roll Inc', slug: `roll-${randomBytes(4).toString('hex')}` },
    });
    expect(org.status, JSON.stringify(org.body)).toBe(201);

    // 16 clients record usage through the balancer without pause. After 200 answers the first
    // backend is drained on HAProxy's runtime API (no new request goes to it) and sent SIGTERM (it
    // answers what it holds and exits); the clients go on until 200 more answers after its exit.
    const statuses: number[] = [];
    let exited: number | null | undefined;
    let afterExit = 0;
    let roll: Promise<void> | undefined;
    let rollFailed: unknown;
    let servedByFirst = 0;
    const client = async () => {
      while (rollFailed === undefined && (exited === undefined || afterExit < 200)) {
        const reply = await callServer(via, 'POST', '/api/v1/usage', { token, body: { activity: 'roll.call', quantity: 1 } });
        statuses.push(reply.status);
        if (exited !== undefined) afterExit += 1;
        roll ??=
          statuses.length >= 200
            ? (async () => {
                servedByFirst = await requestsBy(first, '/api/v1/usage');
                expect(await lb.command('set server roster_app/app0 state drain')).toBe('');
                exited = await first.stop();
              })().catch((error: unknown) => {
                rollFailed = error; // the clients stop, and the test fails with it
              })
            : undefined;
      }
    };
    await Promise.all(Array.from({ length: 16 }, client));
    await roll;
    if (rollFailed !== undefined) throw rollFailed;

    expect(servedByFirst).toBeGreaterThan(0);
    expect(exited).toBe(0);
    expect(statuses.filter((status) => status !== 201)).toEqual([]);
    const mine = await callServer(via, 'GET', '/api/v1/usage', { token });
    expect(mine.body.month.used).toBe(statuses.length);
  });
});

/** Requests of `route` the server (all its workers) has answered, from its /metrics. */
async function requestsBy(server: ServerProcess, route: string): Promise<number> {
  const reply = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(reply.status).toBe(200);
  const text = await reply.text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('roster_http_request_duration_seconds_count{') && line.includes(`route="${route}"`))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}
