import { Writable } from 'node:stream';
import pg from 'pg';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, queryRows } from '../db/client.ts';
import { startApp, TEST_PUBLIC_URL, type TestApp } from '../../test/kit/app.ts';
import { testEngine } from '../../test/kit/engine.ts';
import { PASSWORD, uniqueEmail } from '../../test/kit/given.ts';
import { freePort, startSmtpSink, type SmtpSink } from '../../test/kit/smtp.ts';
import { SMTPServer } from 'smtp-server';
import { createWorkerRuntime, type JobOutcome, type JobStore, type WorkerRuntime } from '../events/runtime.ts';
import { enqueueMail } from './outbox.ts';
import { MAIL_QUEUE, mailOutboxStore, type ClaimedMail } from './queries.ts';
import { createLocalMailboxTransport, createSmtpTransport, type MailTransport } from './transport.ts';
import { messageWithoutSecrets, outboxKey } from './sealing.ts';
import { mailDelivery, type MailDeliveryOptions } from './worker.ts';

let t: TestApp;
const cleanups: (() => Promise<void> | void)[] = [];
beforeAll(async () => {
  t = await startApp();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await t.close();
});

/** The key the app seals queued mail with (src/mail/sealing.ts). */
const outboxKeyOfApp = () => outboxKey(t.config, t.database.db);

function captureLogger() {
  const lines: { level: number; msg: string; [key: string]: unknown }[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

type WorkerOptions = MailDeliveryOptions & { logger?: pino.Logger; pollIntervalMs?: number };

/** The worker runtime with mail delivery on this file's database, stopped after the test. */
async function worker(transport: MailTransport, options: WorkerOptions = {}): Promise<WorkerRuntime> {
  const { logger, pollIntervalMs, ...delivery } = options;
  const runtime = createWorkerRuntime({
    db: t.database.db,
    listen: t.database.listen,
    logger: logger ?? pino({ level: 'silent' }),
    clock: t.clock,
    pollIntervalMs: pollIntervalMs ?? 50,
  });
  runtime.register(mailDelivery(transport, await outboxKeyOfApp(), { retryBaseMs: 100, ...delivery }));
  await runtime.start();
  cleanups.push(async () => {
    await runtime.stop();
    transport.close();
  });
  return runtime;
}

/** Wakes the runtime and waits for one complete round that started after this call. */
async function oneFullRound(runtime: WorkerRuntime): Promise<void> {
  const round = runtime.roundFinished(MAIL_QUEUE);
  runtime.wake(MAIL_QUEUE);
  const report = await round;
  expect(report.error).toBeUndefined();
}

function smtp(url: string): MailTransport {
  return createSmtpTransport({ smtpUrl: url, mailFrom: 'Roster <no-reply@roster.test>' });
}

async function sink(port?: number): Promise<SmtpSink> {
  const started = await startSmtpSink({ port });
  cleanups.push(() => started.close());
  return started;
}

async function outboxRowsTo(to: string) {
  return queryRows<{ id: string; status: string; attempts: number; last_error: string | null; sent_at: Date | null }>(
    t.database.db,
    sql`SELECT id, status, attempts, last_error, sent_at FROM mail_outbox WHERE to_address = ${to} ORDER BY created_at`,
  );
}

function linkIn(mail: { decoded: string }, pathPart: string): string {
  const match = new RegExp(`${TEST_PUBLIC_URL.replace(/[.]/g, '\\.')}${pathPart}[A-Za-z0-9_%=?&.-]+`).exec(mail.decoded);
  if (!match) throw new Error(`no ${pathPart} link in the message`);
  return match[0];
}

describe('delivery over SMTP', () => {
  it('round trip: the invitation arrives over SMTP and its link accepts the invitation', async () => {
    const smtpServer = await sink();
    await worker(smtp(smtpServer.url));
    const org = await t.given.org();
    const invitee = await t.given.user();
    const created = await t.http.post('/api/v1/org/invite', { as: org.owner, body: { email: invitee.email } });
    expect(created.status).toBe(201);

    const mail = await smtpServer.waitFor(
      (message) => message.envelopeTo.includes(invitee.email) && /invited you/.test(message.headers),
    );
    expect(mail.envelopeTo).toEqual([invitee.email]);
    expect(mail.headers).toMatch(/^From: Roster <no-reply@roster\.test>/m);
    expect(mail.headers).toMatch(new RegExp(`^Subject: .*Org ${org.slug}`, 'm'));
    expect(mail.raw).toMatch(/Content-Type: multipart\/alternative/);
    expect(mail.raw).toMatch(/Content-Type: text\/plain/);
    expect(mail.raw).toMatch(/Content-Type: text\/html/);
    expect(mail.decoded).toContain('Get Started');
    expect(mail.decoded).toMatch(/expires on .* UTC/);

    const link = linkIn(mail, '/invite/');
    const token = link.split('/invite/')[1]!;
    const accepted = await t.http.post(`/api/v1/invites/${token}/accept`, { as: invitee });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
    expect(await t.given.roleOf(org.id, invitee.id)).toBe('member');
    await expect.poll(async () => (await outboxRowsTo(invitee.email)).map((row) => row.status)).toContain('sent');
  });

  it('sends the verification email through the same outbox and worker', async () => {
    const smtpServer = await sink();
    await worker(smtp(smtpServer.url));
    const email = uniqueEmail('verify');
    await t.http.post('/api/v1/auth/signup', { body: { email, password: PASSWORD, name: 'Vera' } });
    const mail = await smtpServer.waitFor((message) => message.envelopeTo.includes(email));
    const token = new URL(linkIn(mail, '/verify-email')).searchParams.get('token');
    const verified = await t.http.post('/api/v1/auth/verify-email', { body: { token } });
    expect(verified.status).toBe(200);
  });

  it('lets no name or org name add a header or a recipient', async () => {
    const smtpServer = await sink();
    const runtime = await worker(smtp(smtpServer.url));
    const ownerEmail = uniqueEmail('mallory');
    const signup = await t.http.post('/api/v1/auth/signup', { body: { email: ownerEmail, password: PASSWORD, name: 'Mallory' } });
    const owner = { token: signup.body.token as string };
    await t.http.post('/api/v1/billing/checkout', { as: owner, body: { plan: 'team', seats: 5, scope: 'personal' } });
    const org = await t.http.post('/api/v1/org', { as: owner, body: { name: 'Acme', slug: `evil-${Date.now()}` } });
    expect(org.status, JSON.stringify(org.body)).toBe(201);
    // The API refuses such names now (names are one line); names stored before that rule may hold them.
    await t.database.db.execute(
      sql`UPDATE users SET name = ${'Mallory\r\nBcc: attacker@evil.test\r\nX-Injected: yes'} WHERE id = ${signup.body.user.id}`,
    );
    await t.database.db.execute(
      sql`UPDATE orgs SET name = ${'Acme\nCc: other@evil.test\r\n\r\n<script>alert(1)</script>'} WHERE id = ${org.body.org.id}`,
    );
    const invitee = uniqueEmail('target');
    expect((await t.http.post('/api/v1/org/invite', { as: owner, body: { email: invitee } })).status).toBe(201);
    const mail = await smtpServer.waitFor((message) => message.envelopeTo.includes(invitee));
    expect(mail.envelopeTo).toEqual([invitee]);
    expect(mail.headers).not.toMatch(/^(Bcc|Cc|X-Injected):/im);
    const htmlPart = mail.decoded.slice(mail.decoded.indexOf('Content-Type: text/html'));
    expect(htmlPart).toContain('&#60;script&#62;');
    expect(htmlPart).not.toContain('<script>');
    // Every mail this test queued has gone out once a complete round found nothing more to send.
    await expect.poll(async () => (await outboxRowsTo(invitee)).map((row) => row.status)).toEqual(['sent']);
    await oneFullRound(runtime);
    expect(smtpServer.messages.some((message) => message.envelopeTo.some((to) => to.endsWith('evil.test')))).toBe(false);
  });

  it('SMTP down when the invitation is created: the invitation stands and the email arrives once SMTP is back', async () => {
    const port = await freePort();
    await worker(smtp(`smtp://127.0.0.1:${port}`));
    const org = await t.given.org();
    const invitee = uniqueEmail('later');
    const created = await t.http.post('/api/v1/org/invite', { as: org.owner, body: { email: invitee } });
    expect(created.status).toBe(201);
    await expect
      .poll(async () => (await outboxRowsTo(invitee))[0], { timeout: 10_000 })
      .toMatchObject({ status: 'pending', last_error: expect.any(String) });
    const list = await t.http.get('/api/v1/org/invites', { as: org.owner });
    expect(list.body.invites.map((row: any) => row.email)).toContain(invitee);

    const smtpServer = await sink(port);
    const mail = await smtpServer.waitFor((message) => message.envelopeTo.includes(invitee), 20_000);
    expect(linkIn(mail, '/invite/').startsWith(`${TEST_PUBLIC_URL}/invite/rs_inv_`)).toBe(true);
    await expect.poll(async () => (await outboxRowsTo(invitee))[0]?.status).toBe('sent');
  });

  it("a bulk's emails, stored as one message with a slot, arrive each with its own link, also after a retry", async () => {
    const port = await freePort();
    await worker(smtp(`smtp://127.0.0.1:${port}`));
    const org = await t.given.org({ seats: 10 });
    const emails = [uniqueEmail('slot-a'), uniqueEmail('slot-b')];
    const bulk = await t.http.post('/api/v1/org/invites/bulk', { as: org.owner, body: { emails } });
    expect(bulk.body).toMatchObject({ invited: 2, failed: 0 });
    // Stored once: each outbox row keeps only its recipient's values.
    const rows = await queryRows<{ template_id: string | null; text_body: string | null; slot_text: string | null }>(
      t.database.db,
      sql`SELECT template_id, text_body, slot_text FROM mail_outbox WHERE to_address = ANY(${sql.param(emails)}::text[])`,
    );
    expect(rows).toHaveLength(2);
    expect(new Set(rows.map((row) => row.template_id)).size).toBe(1);
    expect(rows.every((row) => row.template_id !== null && row.text_body === null && row.slot_text !== null)).toBe(true);
    // SMTP is down: the first attempt fails, and the retry renders the same message.
    for (const email of emails) {
      await expect
        .poll(async () => (await outboxRowsTo(email))[0], { timeout: 10_000 })
        .toMatchObject({ status: 'pending', last_error: expect.any(String) });
    }
    const smtpServer = await sink(port);
    const listed = await t.http.get('/api/v1/org/invites', { as: org.owner });
    for (const email of emails) {
      const mail = await smtpServer.waitFor((message) => message.envelopeTo.includes(email), 20_000);
      const invitation = listed.body.invites.find((row: any) => row.email === email);
      expect(mail.headers).toMatch(new RegExp(`^Subject: .*Org ${org.slug}`, 'm'));
      expect(mail.raw).toMatch(/Content-Type: text\/html/);
      // Its own link, in the text and in the HTML (the button and the pasted link), and no other.
      const links = mail.decoded.match(new RegExp(`${TEST_PUBLIC_URL.replace(/[.]/g, '\\.')}/invite/[A-Za-z0-9_-]+`, 'g')) ?? [];
      expect(links.length).toBeGreaterThanOrEqual(3);
      expect(new Set(links)).toEqual(new Set([invitation.link]));
      expect(mail.decoded).not.toContain('roster-link-slot-');
      await expect.poll(async () => (await outboxRowsTo(email))[0]?.status).toBe('sent');
    }
  });

  it('gives up visibly after the bounded number of attempts', async () => {
    const port = await freePort();
    const { logger, lines } = captureLogger();
    await worker(smtp(`smtp://127.0.0.1:${port}`), { maxAttempts: 3, retryBaseMs: 20, logger });
    const to = uniqueEmail('never');
    await enqueueMail(
      t.database.db,
      [{ kind: 'test', to, ...messageWithoutSecrets({ subject: 'Hello', text: 'Hi', html: '<p>Hi</p>' }) }],
      t.clock.now(),
    );
    await expect.poll(async () => (await outboxRowsTo(to))[0]?.status, { timeout: 10_000 }).toBe('failed');
    const [row] = await outboxRowsTo(to);
    expect(row).toMatchObject({ attempts: 3, last_error: expect.any(String) });
    // The worker also drains rows that earlier tests in this file left behind: count this mail's lines.
    const about = lines.filter((line) => line.mailId === row?.id);
    expect(about.filter((line) => line.level === 50 && /giving up/.test(line.msg))).toHaveLength(1);
    expect(about.filter((line) => line.level === 40 && /will retry/.test(line.msg))).toHaveLength(2);
  });

  it('two workers on one database send every message exactly once', async () => {
    const smtpServer = await sink();
    const recipients = Array.from({ length: 40 }, () => uniqueEmail('once'));
    const first = await worker(smtp(smtpServer.url), { batchSize: 5 });
    const second = await worker(smtp(smtpServer.url), { batchSize: 5 });
    await enqueueMail(
      t.database.db,
      recipients.map((to) => ({
        kind: 'test',
        to,
        ...messageWithoutSecrets({ subject: 'Once', text: 'Once', html: '<p>Once</p>' }),
      })),
      t.clock.now(),
    );
    await smtpServer.waitForCount(40, 20_000);
    // A second send of any row could only come from a round in flight: wait until every row is
    // sent, then for one complete round of each worker that started after that.
    await expect
      .poll(async () => (await Promise.all(recipients.map(outboxRowsTo))).flat().every((row) => row.status === 'sent'), {
        timeout: 10_000,
      })
      .toBe(true);
    await Promise.all([oneFullRound(first), oneFullRound(second)]);
    const mine = smtpServer.messages.filter((message) => recipients.includes(message.envelopeTo[0] ?? ''));
    expect(mine).toHaveLength(40);
    expect(new Set(mine.map((message) => message.mailId)).size).toBe(40);
  });
});

describe('the local development mailbox', () => {
  it('marks mail sent without sending it and points to /api/dev/mailbox in the log', async () => {
    const { logger, lines } = captureLogger();
    await worker(createLocalMailboxTransport(logger), { logger });
    const email = uniqueEmail('local');
    await t.http.post('/api/v1/auth/signup', { body: { email, password: PASSWORD, name: 'Lo' } });
    await expect.poll(async () => (await outboxRowsTo(email))[0]?.status).toBe('sent');
    expect(lines.some((line) => line.msg === 'mail queued to local mailbox, see /api/dev/mailbox')).toBe(true);
    expect(JSON.stringify(lines)).not.toMatch(/rs_ver_/);
    const mailbox = await t.http.get('/api/dev/mailbox', { query: { to: email } });
    expect(mailbox.body.messages[0]).toMatchObject({ to: email, status: 'sent' });
    expect(mailbox.body.messages[0].links[0]).toMatch(/\/verify-email\?token=rs_ver_/);
  });

  it('is served only with no SMTP_URL and outside production', async () => {
    const envs: Record<string, string>[] = [{ SMTP_URL: 'smtp://127.0.0.1:2525' }, { NODE_ENV: 'production', BILLING: 'local' }];
    for (const env of envs) {
      const app = await startApp({ env });
      try {
        expect((await app.http.get('/api/dev/mailbox')).status, JSON.stringify(env)).toBe(404);
      } finally {
        await app.close();
      }
    }
    expect((await t.http.get('/api/dev/mailbox')).status).toBe(200);
  });
});

/** A transport that records what it sends and resolves `delivered(to)` when a message to `to` goes out. */
function recordingTransport() {
  const sent: string[] = [];
  const waiting = new Map<string, () => void>();
  const transport: MailTransport = {
    name: 'smtp',
    async send(message) {
      sent.push(message.to);
      waiting.get(message.to)?.();
    },
    close: () => {},
  };
  const delivered = (to: string) => new Promise<void>((resolve) => waiting.set(to, resolve));
  return { transport, sent, delivered };
}

const AN_HOUR_MS = 3_600_000;

describe('wake-ups', () => {
  it('lets the event loop turn between messages, so HTTP is served during a round of a bulk invitation', async () => {
    // On PGlite every query resolves without I/O: without a yield per message, a round of many
    // mails is one chain of microtasks and nothing else (a reply, a new request) runs until it ends.
    let sends = 0;
    let sendsWhenLoopTurned: number | undefined;
    const transport: MailTransport = {
      name: 'local-mailbox',
      async send() {
        sends += 1;
        if (sends === 1) setImmediate(() => (sendsWhenLoopTurned = sends));
      },
      close: () => {},
    };
    const runtime = createWorkerRuntime({
      db: t.database.db,
      logger: pino({ level: 'silent' }),
      clock: t.clock,
      pollIntervalMs: AN_HOUR_MS,
    });
    runtime.register(mailDelivery(transport, await outboxKeyOfApp(), { batchSize: 200 }));
    const idle = runtime.roundFinished(MAIL_QUEUE);
    await runtime.start();
    cleanups.push(() => runtime.stop());
    await idle;
    const tag = uniqueEmail('turn');
    await enqueueMail(
      t.database.db,
      Array.from({ length: 150 }, (_, index) => ({
        kind: 'test',
        to: `${index}-${tag}`,
        ...messageWithoutSecrets({ subject: 's', text: 't', html: 'h' }),
      })),
      t.clock.now(),
    );
    const round = runtime.roundFinished(MAIL_QUEUE);
    runtime.wake(MAIL_QUEUE);
    await round;
    expect(sends).toBeGreaterThanOrEqual(150);
    // The loop turned while the round was still sending, not only after its last message.
    expect(sendsWhenLoopTurned).toBeDefined();
    expect(sendsWhenLoopTurned!).toBeLessThan(sends);
  });

  it('a service that queues mail wakes the worker by its commit alone (no nudge), long before the next poll', async () => {
    const { transport, delivered } = recordingTransport();
    const runtime = createWorkerRuntime({
      db: t.database.db,
      listen: t.database.listen,
      logger: pino({ level: 'silent' }),
      clock: t.clock,
      pollIntervalMs: AN_HOUR_MS,
    });
    runtime.register(mailDelivery(transport, await outboxKeyOfApp()));
    const firstRound = runtime.roundFinished(MAIL_QUEUE);
    await runtime.start();
    cleanups.push(() => runtime.stop());
    await firstRound;
    const email = uniqueEmail('woken');
    const arrived = delivered(email);
    expect((await t.http.post('/api/v1/auth/signup', { body: { email, password: PASSWORD, name: 'Wo' } })).status).toBe(201);
    await arrived;
    await expect.poll(async () => (await outboxRowsTo(email)).map((row) => row.status)).toEqual(['sent']);
  });
});

// Terminating backends needs a PostgreSQL server; PGlite has one in-process session and no backends.
if (testEngine() === 'postgres') {
  describe('PostgreSQL backends terminated under the worker', () => {
    it('survives a termination while its claim is open: nothing half-applied, and it resumes claiming and delivering', async () => {
      const url = t.database.url!;
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      const { transport, sent, delivered } = recordingTransport();
      const { logger, lines } = captureLogger();
      const first = uniqueEmail('in-flight');
      await enqueueMail(
        t.database.db,
        [{ kind: 'test', to: first, ...messageWithoutSecrets({ subject: 'One', text: 'One', html: '<p>One</p>' }) }],
        t.clock.now(),
      );
      // Hold the claim open deterministically: the admin connection's table lock makes its UPDATE
      // wait, and that connection survives the terminations, so the claim cannot slip through.
      await admin.query('BEGIN');
      await admin.query('LOCK TABLE mail_outbox IN EXCLUSIVE MODE');

      const runtime = createWorkerRuntime({
        db: t.database.db,
        listen: t.database.listen,
        logger,
        clock: t.clock,
        pollIntervalMs: AN_HOUR_MS,
      });
      runtime.register(mailDelivery(transport, await outboxKeyOfApp()));
      const blockedRound = runtime.roundFinished(MAIL_QUEUE);
      await runtime.start();
      cleanups.push(() => runtime.stop());
      // Cleanups run last-in first: the admin connection (and its lock) goes before the runtime stops.
      cleanups.push(() => admin.end());
      await expect
        .poll(
          async () => {
            // pg_stat_activity is read once per transaction unless the snapshot is cleared.
            await admin.query('SELECT pg_stat_clear_snapshot()');
            const { rows } = await admin.query(
              `SELECT count(*)::int AS n FROM pg_stat_activity
             WHERE datname = current_database() AND application_name = current_setting('application_name') AND wait_event_type = 'Lock' AND query LIKE '%UPDATE mail_outbox SET attempts%'`,
            );
            return rows[0].n;
          },
          { timeout: 20_000 },
        )
        .toBe(1);

      const arrived = delivered(first);
      // Every other backend of the database, the blocked claim, the LISTEN connection and the idle
      // pool, waiting until each is gone; then the lock goes.
      await admin.query('SELECT pg_stat_clear_snapshot()');
      const { rows: terminated } = await admin.query(
        `SELECT bool_and(pg_terminate_backend(pid, 10000)) AS all_gone, count(*)::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = current_setting('application_name') AND pid <> pg_backend_pid()`,
      );
      expect(terminated[0]).toMatchObject({ all_gone: true, n: expect.any(Number) });
      expect(terminated[0].n).toBeGreaterThanOrEqual(2);
      await admin.query('ROLLBACK');
      const report = await blockedRound;
      expect(report.error).toBeDefined();
      expect(lines.some((line) => line.level === 50 && /worker round failed/.test(line.msg))).toBe(true);
      // It resumes by itself (no poll for an hour), claims again and delivers exactly once. The
      // claim's transaction died with its backend, so nothing of it stayed: had its attempt and
      // lease been committed, the row would show two attempts, and its 2-minute lease would have
      // kept it from being sent within this test.
      await arrived;
      await expect.poll(async () => (await outboxRowsTo(first)).map((row) => [row.status, row.attempts])).toEqual([['sent', 1]]);
      // And its LISTEN connection is back: once the listener has reconnected, mail queued from
      // another connection pool wakes it (the next poll is an hour away).
      await expect
        .poll(
          async () => {
            const { rows } = await admin.query(
              `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = current_setting('application_name') AND query = 'LISTEN "roster_work"'`,
            );
            return rows[0].n;
          },
          { timeout: 20_000 },
        )
        .toBe(1);
      const elsewhere = await openDatabase({ databaseUrl: url, poolSize: 1 });
      cleanups.push(() => elsewhere.close());
      const second = uniqueEmail('after');
      const secondArrived = delivered(second);
      await enqueueMail(
        elsewhere.db,
        [{ kind: 'test', to: second, ...messageWithoutSecrets({ subject: 'Two', text: 'Two', html: '<p>Two</p>' }) }],
        t.clock.now(),
      );
      await secondArrived;
      expect(sent.filter((to) => to === first || to === second)).toEqual([first, second]);
    });
  });
}

describe('marking sent mail in groups', () => {
  it('a crash between send and mark re-sends at most one message per lane, and loses none', async () => {
    const recipients = Array.from({ length: 40 }, () => uniqueEmail('group'));
    const mine = new Set(recipients);
    const sends: string[] = [];
    let unmarked = 0;
    let mostUnmarked = 0;
    let marks = 0;
    let crashed = false;
    const never = new Promise<never>(() => {});
    // The process "dies" after its 20th message: nothing it does afterwards reaches SMTP or the database.
    const dying: MailTransport = {
      name: 'smtp',
      send: async (message) => {
        if (!mine.has(message.to)) return;
        if (crashed) return never;
        sends.push(message.id);
        unmarked += 1;
        mostUnmarked = Math.max(mostUnmarked, unmarked);
        if (sends.length === 20) crashed = true;
      },
      close: () => {},
    };
    const store: JobStore<ClaimedMail> = {
      ...mailOutboxStore,
      async succeededMany(db, mails, now) {
        if (crashed) return never;
        await mailOutboxStore.succeededMany!(db, mails, now);
        marks += 1;
        unmarked -= mails.filter((mail) => mine.has(mail.to_address)).length;
      },
    };
    const runtime = createWorkerRuntime({
      db: t.database.db,
      logger: pino({ level: 'silent' }),
      clock: t.clock,
      pollIntervalMs: 3_600_000,
    });
    runtime.register({ ...mailDelivery(dying, await outboxKeyOfApp()), store, batchSize: 50, concurrency: 4 });
    await enqueueMail(
      t.database.db,
      recipients.map((to) => ({
        kind: 'test',
        to,
        ...messageWithoutSecrets({ subject: 'Group', text: 'Group', html: '<p>Group</p>' }),
      })),
      t.clock.now(),
    );
    await runtime.start();
    await expect.poll(() => crashed).toBe(true);
    // No more messages were sent but unmarked at any moment than there are lanes (as when each was marked alone)…
    expect(mostUnmarked).toBeLessThanOrEqual(4);
    // …and the lanes' messages were marked together, not one statement each.
    expect(marks).toBeLessThan(sends.length - unmarked);
    const rows = (await Promise.all(recipients.map(outboxRowsTo))).flat();
    const sentButPending = rows.filter((row) => row.status === 'pending' && sends.includes(row.id));
    expect(sentButPending.length).toBe(unmarked);
    expect(sentButPending.length).toBeLessThanOrEqual(4);

    // A new process claims the rows once the dead one's lease (2 minutes) has run out.
    t.clock.advance(121);
    try {
      const delivered: string[] = [];
      const next = await worker({ name: 'smtp', send: async (message) => void delivered.push(message.id), close: () => {} });
      await expect
        .poll(async () => (await Promise.all(recipients.map(outboxRowsTo))).flat().every((row) => row.status === 'sent'), {
          timeout: 10_000,
        })
        .toBe(true);
      await oneFullRound(next);
      const ids = rows.map((row) => row.id);
      const all = [...sends, ...delivered.filter((id) => ids.includes(id))];
      expect(new Set(all)).toEqual(new Set(ids));
      // Sent twice: exactly the messages the dead process had sent but not marked.
      expect(all.length - ids.length).toBe(sentButPending.length);
    } finally {
      t.clock.reset();
    }
  });
});

describe('stopping', () => {
  it('waits for a send in flight', async () => {
    let release: () => void = () => {};
    let sendStarted: () => void = () => {};
    let listenerClosed: () => void = () => {};
    const started = new Promise<void>((resolve) => (sendStarted = resolve));
    const closed = new Promise<void>((resolve) => (listenerClosed = resolve));
    const order: string[] = [];
    const to = uniqueEmail('slow');
    const slow: MailTransport = {
      name: 'smtp',
      send: async (message) => {
        if (message.to !== to) return; // rows earlier tests left behind go straight through
        sendStarted();
        await new Promise<void>((resolve) => (release = resolve));
        order.push('sent');
      },
      close: () => {},
    };
    const runtime = createWorkerRuntime({
      db: t.database.db,
      // Observes the one step stop() takes before it waits for the work in flight.
      listen: async (channel, handlers) => {
        const listening = await t.database.listen(channel, handlers);
        return { close: async () => (await listening.close(), listenerClosed()) };
      },
      logger: pino({ level: 'silent' }),
      clock: t.clock,
      pollIntervalMs: 20,
    });
    runtime.register(mailDelivery(slow, await outboxKeyOfApp()));
    await runtime.start();
    await enqueueMail(
      t.database.db,
      [{ kind: 'test', to, ...messageWithoutSecrets({ subject: 'Slow', text: 'Slow', html: '<p>Slow</p>' }) }],
      t.clock.now(),
    );
    await started;
    const stopping = runtime.stop().then(() => order.push('stopped'));
    await closed;
    // Every microtask has run: a stop() that did not wait for the send would have resolved by now.
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual([]);
    release();
    await stopping;
    expect(order).toEqual(['sent', 'stopped']);
    expect((await outboxRowsTo(to))[0]?.status).toBe('sent');
  });
});

/** A real SMTP server (smtp-server) whose replies the test decides: reject a recipient, or hold a message. */
async function scriptedSmtp(script: {
  rcpt?: (address: string) => { code: number; message: string } | undefined;
  data?: (to: string[]) => Promise<void>;
}) {
  const received: string[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    closeTimeout: 100,
    onRcptTo(address, _session, callback) {
      const refusal = script.rcpt?.(address.address);
      if (!refusal) return callback();
      const error = new Error(refusal.message) as Error & { responseCode: number };
      error.responseCode = refusal.code;
      return callback(error);
    },
    onData(stream, session, callback) {
      const to = session.envelope.rcptTo.map((recipient) => recipient.address);
      stream.on('data', () => {});
      stream.on('end', () => {
        void (script.data?.(to) ?? Promise.resolve()).then(() => {
          received.push(...to);
          callback();
        });
      });
    },
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `smtp://127.0.0.1:${port}`, received };
}

/** Every job outcome of the runtime from now on; `next` resolves with the first (past or future) that matches. */
function outcomes(runtime: WorkerRuntime) {
  const seen: JobOutcome[] = [];
  const waiters = new Set<() => void>();
  runtime.onJob((job) => {
    seen.push(job);
    for (const check of [...waiters]) check();
  });
  return {
    seen,
    next(match: (job: JobOutcome) => boolean): Promise<JobOutcome> {
      return new Promise((resolve) => {
        const check = () => {
          const found = seen.find(match);
          if (found) {
            waiters.delete(check);
            resolve(found);
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}

describe('SMTP faults', () => {
  it('421 (service not available) is retried and the mail is delivered later, once', async () => {
    const to = uniqueEmail('busy');
    let refusals = 2;
    const server = await scriptedSmtp({
      rcpt: (address) => (address === to && refusals-- > 0 ? { code: 421, message: 'Try again later' } : undefined),
    });
    const jobs = outcomes(await worker(smtp(server.url), { retryBaseMs: 20 }));
    await enqueueMail(
      t.database.db,
      [{ kind: 'test', to, ...messageWithoutSecrets({ subject: 'Busy', text: 'Hi', html: '<p>Hi</p>' }) }],
      t.clock.now(),
    );
    const [row] = await outboxRowsTo(to);
    const final = await jobs.next((job) => job.id === row?.id && job.outcome !== 'retrying');
    expect(final.outcome).toBe('succeeded');
    expect(jobs.seen.filter((job) => job.id === row?.id && job.outcome === 'retrying')).toHaveLength(2);
    expect((await outboxRowsTo(to))[0]).toMatchObject({ status: 'sent', attempts: 3 });
    expect(server.received.filter((address) => address === to)).toHaveLength(1);
  });

  it('550 (no such mailbox) marks the mail failed after one attempt, and the queue moves on to the next mail', async () => {
    const bad = uniqueEmail('nosuchuser');
    const good = uniqueEmail('next');
    const server = await scriptedSmtp({
      rcpt: (address) => (address === bad ? { code: 550, message: 'No such user here' } : undefined),
    });
    const runtime = await worker(smtp(server.url), { concurrency: 1 });
    const jobs = outcomes(runtime);
    await enqueueMail(
      t.database.db,
      [
        { kind: 'test', to: bad, ...messageWithoutSecrets({ subject: 'Bad', text: 'Hi', html: '<p>Hi</p>' }) },
        { kind: 'test', to: good, ...messageWithoutSecrets({ subject: 'Good', text: 'Hi', html: '<p>Hi</p>' }) },
      ],
      t.clock.now(),
    );
    const [badRow] = await outboxRowsTo(bad);
    const [goodRow] = await outboxRowsTo(good);
    expect(await jobs.next((job) => job.id === badRow?.id)).toMatchObject({ outcome: 'failed', attempts: 1 });
    await jobs.next((job) => job.id === goodRow?.id && job.outcome === 'succeeded');
    expect((await outboxRowsTo(bad))[0]).toMatchObject({
      status: 'failed',
      attempts: 1,
      last_error: expect.stringContaining('550'),
    });
    expect((await outboxRowsTo(good))[0]?.status).toBe('sent');
    expect(server.received.filter((address) => address === bad || address === good)).toEqual([good]);
    // A failed row is never claimed again: one more full round leaves it at one attempt.
    await oneFullRound(runtime);
    expect((await outboxRowsTo(bad))[0]).toMatchObject({ status: 'failed', attempts: 1 });
  });

  it('a server that holds each message (30 s in production) does not slow the API: requests answer while it holds', async () => {
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const server = await scriptedSmtp({
      data: async () => {
        holding();
        await released;
      },
    });
    const jobs = outcomes(await worker(smtp(server.url)));
    const org = await t.given.org();
    const invitee = uniqueEmail('slow');
    expect((await t.http.post('/api/v1/org/invite', { as: org.owner, body: { email: invitee } })).status).toBe(201);
    await held;
    // The SMTP server has the message and has not answered: the API still answers, and queues more.
    expect((await t.http.get('/api/v1/org', { as: org.owner })).status).toBe(200);
    const second = uniqueEmail('slow2');
    expect((await t.http.post('/api/v1/org/invite', { as: org.owner, body: { email: second } })).status).toBe(201);
    expect((await t.http.get('/api/v1/org/invites', { as: org.owner })).body.invites).toHaveLength(2);
    expect(server.received).toEqual([]);
    release();
    const [row] = await outboxRowsTo(invitee);
    expect(await jobs.next((job) => job.id === row?.id)).toMatchObject({ outcome: 'succeeded' });
    expect((await outboxRowsTo(invitee))[0]?.status).toBe('sent');
  });
});
