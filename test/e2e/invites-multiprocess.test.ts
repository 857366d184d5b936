import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchDatabase, serverPostgresUrl, type ScratchDatabase } from '../kit/postgres.ts';
import { callServer as call, startServerProcess, type ServerProcess } from '../kit/server.ts';
import { startSmtpSink, type SmtpSink } from '../kit/smtp.ts';

// Needs PostgreSQL: TEST_DATABASE_URL, or in CI the server CI starts on 127.0.0.1:5432. Outside CI
// without TEST_DATABASE_URL it is skipped; in CI an unreachable server fails the run.
const SERVER_URL = serverPostgresUrl();
const PUBLIC_URL = 'http://roster.e2e.test';
const PASSWORD = 'correct horse battery staple';

describe.skipIf(!SERVER_URL)('two server processes on one PostgreSQL', () => {
  let scratch: ScratchDatabase;
  let db: pg.Client;
  let smtp: SmtpSink;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    scratch = await createScratchDatabase(SERVER_URL!, 'roster_e2e');
    smtp = await startSmtpSink();
    const env = {
      DATABASE_URL: scratch.url,
      PUBLIC_URL,
      SMTP_URL: smtp.url,
      MAIL_FROM: 'Roster <no-reply@roster.e2e.test>',
    };
    // Both start at once: migrations serialize on their advisory lock.
    servers.push(...(await Promise.all([startServerProcess({ env }), startServerProcess({ env })])));
    db = new pg.Client({ connectionString: env.DATABASE_URL });
    await db.connect();
  });

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    await db?.end();
    await smtp?.close();
    await scratch?.drop();
  });

  it('holds the seat rule for 30 invitations raced across both processes, and sends every email exactly once', async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const ownerEmail = `owner-${randomBytes(3).toString('hex')}@example.com`;
    const owner = await call(a, 'POST', '/api/v1/auth/signup', {
      body: { email: ownerEmail, password: PASSWORD, name: 'Owner' },
    });
    expect(owner.status).toBe(201);
    const token = owner.body.token as string;
    expect(
      (await call(b, 'POST', '/api/v1/billing/checkout', { token, body: { plan: 'team', seats: 5, scope: 'personal' } })).status,
    ).toBe(200);
    const org = await call(a, 'POST', '/api/v1/org', {
      token,
      body: { name: 'Race Inc', slug: `race-${randomBytes(3).toString('hex')}` },
    });
    expect(org.status).toBe(201);

    const invitees = Array.from({ length: 30 }, (_, index) => `invitee-${index}-${randomBytes(3).toString('hex')}@example.com`);
    const signups = Array.from({ length: 20 }, (_, index) => `signup-${index}-${randomBytes(3).toString('hex')}@example.com`);
    const [inviteReplies] = await Promise.all([
      Promise.all(
        invitees.map((email, index) => call(index % 2 ? b : a, 'POST', '/api/v1/org/invite', { token, body: { email } })),
      ),
      // More mail for both workers to contend over.
      Promise.all(
        signups.map((email, index) =>
          call(index % 2 ? a : b, 'POST', '/api/v1/auth/signup', { body: { email, password: PASSWORD, name: `User ${index}` } }),
        ),
      ),
    ]);
    const outcomes = inviteReplies.map((reply) => (reply.status === 201 ? 'created' : reply.body.error.code));
    expect(outcomes.filter((outcome) => outcome === 'created')).toHaveLength(4);
    expect(outcomes.filter((outcome) => outcome === 'seat_limit')).toHaveLength(26);
    const pending = await db.query(`SELECT count(*)::int AS count FROM invitations WHERE org_id = $1 AND status = 'pending'`, [
      org.body.org.id,
    ]);
    expect(pending.rows[0].count).toBe(4);
    const seatsReply = await call(b, 'GET', '/api/v1/org', { token });
    expect(seatsReply.body.org.seats).toMatchObject({ used: 5, limit: 5, active_members: 1, pending_invites: 4 });

    // Every outbox row: 1 owner verification + 20 signups + 4 invitations.
    const total = (await db.query('SELECT count(*)::int AS count FROM mail_outbox')).rows[0].count as number;
    expect(total).toBe(25);
    await smtp.waitForCount(total, 30_000);

    // The link in a received invitation works on the other process.
    const invited = invitees[outcomes.indexOf('created')]!;
    const mail = smtp.messages.find((message) => message.envelopeTo.includes(invited));
    const link = /http:\/\/roster\.e2e\.test\/invite\/(rs_inv_[A-Za-z0-9_-]+)/.exec(mail?.decoded ?? '');
    expect(link?.[1]).toBeDefined();
    const joined = await call(b, 'POST', '/api/v1/auth/signup', {
      body: { email: invited, password: PASSWORD, name: 'Invitee', invite_token: link![1] },
    });
    expect(joined.status, JSON.stringify(joined.body)).toBe(201);

    // The invitee's verification email makes one more row. Once every row is sent, stop both
    // processes (SIGTERM waits for sends in flight): after they exit nothing can be delivered, so
    // the count below is final — no waiting for a duplicate that might still show up.
    await expect
      .poll(async () => (await db.query(`SELECT count(*)::int AS count FROM mail_outbox WHERE status <> 'sent'`)).rows[0].count, {
        timeout: 30_000,
      })
      .toBe(0);
    expect(await Promise.all(servers.map((server) => server.stop()))).toEqual([0, 0]);
    const ids = (await db.query('SELECT id FROM mail_outbox')).rows.map((row) => row.id as string);
    expect(ids).toHaveLength(total + 1);
    expect(smtp.messages.map((message) => message.mailId).sort()).toEqual([...ids].sort());
    const members = await db.query('SELECT count(*)::int AS count FROM memberships WHERE org_id = $1', [org.body.org.id]);
    expect(members.rows[0].count).toBe(2);
  });
});
