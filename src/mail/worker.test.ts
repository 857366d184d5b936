import { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../db/client.ts';
import { startApp, TEST_PUBLIC_URL, type TestApp } from '../../test/kit/app.ts';
import { PASSWORD, uniqueEmail } from '../../test/kit/given.ts';
import { freePort, startSmtpSink, type SmtpSink } from '../../test/kit/smtp.ts';
import { enqueueMail } from './outbox.ts';
import { createLocalMailboxTransport, createSmtpTransport, type MailTransport } from './transport.ts';
import { startMailWorker, type MailWorker, type MailWorkerOptions } from './worker.ts';

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

function worker(transport: MailTransport, options: Partial<MailWorkerOptions> = {}): MailWorker {
  const started = startMailWorker({
    db: t.database.db,
    transport,
    logger: options.logger ?? pino({ level: 'silent' }),
    clock: t.clock,
    pollIntervalMs: 50,
    retryBaseMs: 100,
    ...options,
  });
  cleanups.push(async () => {
    await started.stop();
    transport.close();
  });
  return started;
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
    worker(smtp(smtpServer.url));
    const org = await t.given.org();
    const invitee = await t.given.user();
    const created = await t.http.post('/api/v1/org/invite', { as: org.owner, body: { email: invitee.email } });
    expect(created.status).toBe(201);

    const mail = await smtpServer.waitFor((message) => message.envelopeTo.includes(invitee.email) && /invited you/.test(message.headers));
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
    worker(smtp(smtpServer.url));
    const email = uniqueEmail('verify');
    await t.http.post('/api/v1/auth/signup', { body: { email, password: PASSWORD, name: 'Vera' } });
    const mail = await smtpServer.waitFor((message) => message.envelopeTo.includes(email));
    const token = new URL(linkIn(mail, '/verify-email')).searchParams.get('token');
    const verified = await t.http.post('/api/v1/auth/verify-email', { body: { token } });
    expect(verified.status).toBe(200);
  });

  it('lets no name or org name add a header or a recipient', async () => {
    const smtpServer = await sink();
    worker(smtp(smtpServer.url));
    const ownerEmail = uniqueEmail('mallory');
    const signup = await t.http.post('/api/v1/auth/signup', {
      body: { email: ownerEmail, password: PASSWORD, name: 'Mallory\r\nBcc: attacker@evil.test\r\nX-Injected: yes' },
    });
    const owner = { token: signup.body.token as string };
    await t.http.post('/api/v1/billing/checkout', { as: owner, body: { plan: 'team', seats: 5, scope: 'personal' } });
    const org = await t.http.post('/api/v1/org', {
      as: owner,
      body: { name: 'Acme\nCc: other@evil.test\r\n\r\n<script>alert(1)</script>', slug: `evil-${Date.now()}` },
    });
    expect(org.status, JSON.stringify(org.body)).toBe(201);
    const invitee = uniqueEmail('target');
    expect((await t.http.post('/api/v1/org/invite', { as: owner, body: { email: invitee } })).status).toBe(201);
    const mail = await smtpServer.waitFor((message) => message.envelopeTo.includes(invitee));
    expect(mail.envelopeTo).toEqual([invitee]);
    expect(mail.headers).not.toMatch(/^(Bcc|Cc|X-Injected):/im);
    const htmlPart = mail.decoded.slice(mail.decoded.indexOf('Content-Type: text/html'));
    expect(htmlPart).toContain('&#60;script&#62;');
    expect(htmlPart).not.toContain('<script>');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(smtpServer.messages.some((message) => message.envelopeTo.some((to) => to.endsWith('evil.test')))).toBe(false);
  });

  it('SMTP down when the invitation is created: the invitation stands and the email arrives once SMTP is back', async () => {
    const port = await freePort();
    worker(smtp(`smtp://127.0.0.1:${port}`));
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

  it('gives up visibly after the bounded number of attempts', async () => {
    const port = await freePort();
    const { logger, lines } = captureLogger();
    worker(smtp(`smtp://127.0.0.1:${port}`), { maxAttempts: 3, retryBaseMs: 20, logger });
    const to = uniqueEmail('never');
    await enqueueMail(t.database.db, [{ kind: 'test', to, subject: 'Hello', text: 'Hi', html: '<p>Hi</p>' }], t.clock.now());
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
    worker(smtp(smtpServer.url), { batchSize: 5 });
    worker(smtp(smtpServer.url), { batchSize: 5 });
    await enqueueMail(
      t.database.db,
      recipients.map((to) => ({ kind: 'test', to, subject: 'Once', text: 'Once', html: '<p>Once</p>' })),
      t.clock.now(),
    );
    await smtpServer.waitForCount(40, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const mine = smtpServer.messages.filter((message) => recipients.includes(message.envelopeTo[0] ?? ''));
    expect(mine).toHaveLength(40);
    expect(new Set(mine.map((message) => message.mailId)).size).toBe(40);
  });
});

describe('the local development mailbox', () => {
  it('marks mail sent without sending it and points to /api/dev/mailbox in the log', async () => {
    const { logger, lines } = captureLogger();
    worker(createLocalMailboxTransport(logger), { logger });
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

describe('stopping', () => {
  it('waits for a send in flight', async () => {
    let release: () => void = () => {};
    let sendStarted: () => void = () => {};
    const started = new Promise<void>((resolve) => (sendStarted = resolve));
    const slow: MailTransport = {
      name: 'smtp',
      send: () => {
        sendStarted();
        return new Promise<void>((resolve) => (release = resolve));
      },
      close: () => {},
    };
    const running = startMailWorker({ db: t.database.db, transport: slow, logger: pino({ level: 'silent' }), clock: t.clock, pollIntervalMs: 20 });
    const to = uniqueEmail('slow');
    await enqueueMail(t.database.db, [{ kind: 'test', to, subject: 'Slow', text: 'Slow', html: '<p>Slow</p>' }], t.clock.now());
    await started;
    let stopped = false;
    const stopping = running.stop().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect((await outboxRowsTo(to))[0]?.status).toBe('sent');
  });
});
