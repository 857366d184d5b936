import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { SMTPServer } from 'smtp-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../db/client.ts';
import { createWorkerRuntime } from '../events/runtime.ts';
import { startApp, type TestApp } from '../../test/kit/app.ts';
import { PASSWORD, uniqueEmail } from '../../test/kit/given.ts';
import { freePort, startSmtpSink, type SmtpSink } from '../../test/kit/smtp.ts';
import { createLocalMailboxTransport, createSmtpTransport, type MailTransport } from './transport.ts';
import { outboxKey } from './sealing.ts';
import { mailDelivery } from './worker.ts';

// Regression: the outbox kept the whole message of every sent invitation and verification email,
// live token included, for MAIL_RETENTION_DAYS, so a copy of the database or a backup held usable
// links (the contract stores such tokens only as hashes).

const LIVE_TOKEN = /rs_(?:inv|ver)_[A-Za-z0-9_-]+/;

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

/**
 * The worker runtime delivering mail through `transport` on this file's database, stopped after the
 * test; it opens sealed links with `key` (the app's own unless given).
 */
async function deliverThrough(transport: MailTransport, key?: Buffer): Promise<void> {
  const runtime = createWorkerRuntime({
    db: t.database.db,
    listen: t.database.listen,
    logger: pino({ level: 'silent' }),
    clock: t.clock,
    pollIntervalMs: 50,
  });
  runtime.register(mailDelivery(transport, key ?? (await outboxKeyOfApp()), { retryBaseMs: 100 }));
  await runtime.start();
  cleanups.push(async () => {
    await runtime.stop();
    transport.close();
  });
}

async function smtpSink(): Promise<SmtpSink> {
  const sink = await startSmtpSink();
  cleanups.push(() => sink.close());
  return sink;
}

function smtp(url: string): MailTransport {
  return createSmtpTransport({ smtpUrl: url, mailFrom: 'Roster <no-reply@roster.test>' });
}

interface StoredRow {
  id: string;
  kind: string;
  status: string;
  to_address: string;
  sent_at: Date | string | null;
  /** Every column of the outbox row, and of its template if it has one, as JSON text. */
  stored: string;
}

/** The outbox rows to `to`, each with all its columns (and its template's) as text, to search for tokens. */
function outboxRowsTo(to: string): Promise<StoredRow[]> {
  return queryRows<StoredRow>(
    t.database.db,
    sql`SELECT m.id, m.kind, m.status, m.to_address, m.sent_at, to_jsonb(m)::text || coalesce(to_jsonb(tm)::text, '') AS stored
        FROM mail_outbox m LEFT JOIN mail_templates tm ON tm.id = m.template_id
        WHERE m.to_address = ${to} ORDER BY m.created_at`,
  );
}

async function finishedRowTo(to: string, status: 'sent' | 'failed' = 'sent'): Promise<StoredRow> {
  await expect.poll(async () => (await outboxRowsTo(to))[0]?.status, { timeout: 15_000 }).toBe(status);
  const [row] = await outboxRowsTo(to);
  return row!;
}

describe('over SMTP, a mail that has left keeps no token in the outbox', () => {
  it('a sent invitation email: the row keeps whom, when and what, with the link redacted', async () => {
    const sink = await smtpSink();
    await deliverThrough(smtp(sink.url));
    const org = await t.given.org();
    const invitee = uniqueEmail('redact-invite');
    expect((await t.http.post('/api/v1/org/invite', { as: org.owner, body: { email: invitee } })).status).toBe(201);

    const mail = await sink.waitFor((message) => message.envelopeTo.includes(invitee));
    expect(mail.decoded).toMatch(LIVE_TOKEN);
    const row = await finishedRowTo(invitee);
    expect(row.stored).not.toMatch(LIVE_TOKEN);
    expect(row).toMatchObject({ kind: 'invitation', to_address: invitee, sent_at: expect.anything() });
    expect(row.stored).toContain('/invite/rs_inv_[redacted]');
    expect(row.stored).toContain('Get Started');
  });

  it('a sent verification email', async () => {
    const sink = await smtpSink();
    await deliverThrough(smtp(sink.url));
    const email = uniqueEmail('redact-verify');
    expect((await t.http.post('/api/v1/auth/signup', { body: { email, password: PASSWORD, name: 'Vera' } })).status).toBe(201);

    const mail = await sink.waitFor((message) => message.envelopeTo.includes(email));
    expect(mail.decoded).toMatch(LIVE_TOKEN);
    const row = await finishedRowTo(email);
    expect(row.stored).not.toMatch(LIVE_TOKEN);
    expect(row.stored).toContain('/verify-email?token=rs_ver_[redacted]');
  });

  it("a bulk invitation's emails: neither their slot values nor their shared template keep a token", async () => {
    const sink = await smtpSink();
    await deliverThrough(smtp(sink.url));
    const org = await t.given.org({ seats: 10 });
    const emails = [uniqueEmail('redact-bulk-a'), uniqueEmail('redact-bulk-b'), uniqueEmail('redact-bulk-c')];
    const bulk = await t.http.post('/api/v1/org/invites/bulk', { as: org.owner, body: { emails } });
    expect(bulk.body).toMatchObject({ invited: 3, failed: 0 });

    for (const email of emails) {
      const mail = await sink.waitFor((message) => message.envelopeTo.includes(email));
      expect(mail.decoded).toMatch(LIVE_TOKEN);
      const row = await finishedRowTo(email);
      expect(row.stored).not.toMatch(LIVE_TOKEN);
      expect(row.stored).toContain('/invite/rs_inv_[redacted]');
    }
    // The invitations' live links are still in the admins' list (rebuilt from the nonce and the key).
    const listed = await t.http.get('/api/v1/org/invites', { as: org.owner });
    expect(listed.body.invites.map((invite: { link: string }) => invite.link).join(' ')).toMatch(LIVE_TOKEN);
  });

  it('an invitation email refused for good (550) keeps no token either', async () => {
    const invitee = uniqueEmail('redact-refused');
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      closeTimeout: 100,
      onRcptTo(address, _session, callback) {
        if (address.address !== invitee) return callback();
        callback(Object.assign(new Error('No such user here'), { responseCode: 550 }));
      },
      onData(stream, _session, callback) {
        stream.on('data', () => {});
        stream.on('end', () => callback());
      },
    });
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    await deliverThrough(smtp(`smtp://127.0.0.1:${port}`));
    const org = await t.given.org();
    expect((await t.http.post('/api/v1/org/invite', { as: org.owner, body: { email: invitee } })).status).toBe(201);

    const row = await finishedRowTo(invitee, 'failed');
    expect(row.stored).not.toMatch(LIVE_TOKEN);
    expect(row.stored).toContain('550');
  });
});

describe('a mail waiting to be sent keeps its tokens sealed', () => {
  const WAITING_TOKEN = /rs_(?:inv|ver|rst)_[A-Za-z0-9_-]+/;

  it('verification, reset, invitation, bulk and resent invitation: no live token until the worker sends them, then live links', async () => {
    // No worker yet: the mails wait, as they do while SMTP is down.
    const org = await t.given.org({ seats: 10 });
    const signedUp = uniqueEmail('sealed-verify');
    const single = uniqueEmail('sealed-invite');
    const bulk = [uniqueEmail('sealed-bulk-a'), uniqueEmail('sealed-bulk-b')];
    expect(
      (await t.http.post('/api/v1/auth/signup', { body: { email: signedUp, password: PASSWORD, name: 'Vera' } })).status,
    ).toBe(201);
    expect((await t.http.post('/api/v1/auth/password-reset', { body: { email: signedUp } })).status).toBe(202);
    const invited = await t.http.post('/api/v1/org/invite', { as: org.owner, body: { email: single } });
    expect(invited.status).toBe(201);
    expect((await t.http.post(`/api/v1/org/invites/${invited.body.invite.id}/resend`, { as: org.owner })).status).toBe(200);
    expect((await t.http.post('/api/v1/org/invites/bulk', { as: org.owner, body: { emails: bulk } })).body).toMatchObject({
      invited: 2,
    });

    const waiting = (await Promise.all([signedUp, single, ...bulk].map(outboxRowsTo))).flat();
    expect(waiting.map((row) => row.kind).sort()).toEqual([
      'invitation',
      'invitation',
      'invitation',
      'invitation',
      'password_reset',
      'verify_email',
    ]);
    for (const row of waiting) {
      expect(row.status).toBe('pending');
      expect(row.stored).not.toMatch(WAITING_TOKEN);
      expect(row.stored).toMatch(/sealed\.(inv|ver|rst)\./);
    }

    const sink = await smtpSink();
    await deliverThrough(smtp(sink.url));
    const mailsTo = (to: string) => sink.messages.filter((mail) => mail.envelopeTo.includes(to));
    for (const [to, count] of [
      [signedUp, 2],
      [single, 2],
      [bulk[0]!, 1],
      [bulk[1]!, 1],
    ] as const) {
      await expect.poll(() => mailsTo(to).length, { timeout: 15_000 }).toBe(count);
    }
    const tokensTo = (to: string, pattern: RegExp) => mailsTo(to).map((mail) => pattern.exec(mail.decoded)?.[0] ?? 'none');
    // The links that left are the live ones: the resent one opens the invitation, the first no longer does.
    const opened = await Promise.all(
      tokensTo(single, /rs_inv_[A-Za-z0-9_-]+/).map((token) => t.http.get(`/api/v1/invites/${token}`)),
    );
    expect(opened.map((reply) => reply.status).sort()).toEqual([200, 404]);
    for (const email of bulk)
      expect((await t.http.get(`/api/v1/invites/${tokensTo(email, /rs_inv_[A-Za-z0-9_-]+/)[0]}`)).status).toBe(200);
    const [verify] = tokensTo(signedUp, /rs_ver_[A-Za-z0-9_-]+/).filter((token) => token !== 'none');
    expect((await t.http.post('/api/v1/auth/verify-email', { body: { token: verify } })).status).toBe(200);
    expect(tokensTo(signedUp, /rs_rst_[A-Za-z0-9_-]+/)).toContainEqual(expect.stringMatching(/^rs_rst_/));
  });

  it('a mail sealed with another key (LINK_SECRET changed) fails for good, sends nothing and keeps no token', async () => {
    const email = uniqueEmail('sealed-other-key');
    expect((await t.http.post('/api/v1/auth/signup', { body: { email, password: PASSWORD, name: 'Otto' } })).status).toBe(201);
    const sink = await smtpSink();
    await deliverThrough(smtp(sink.url), randomBytes(32));

    const row = await finishedRowTo(email, 'failed');
    expect(row.stored).toContain('LINK_SECRET changed');
    expect(row.stored).not.toMatch(/sealed\.ver\./);
    expect(row.stored).toContain('/verify-email?token=rs_ver_[redacted]');
    expect(sink.messages.filter((mail) => mail.envelopeTo.includes(email))).toHaveLength(0);
  });

  it('a name typed to look like a sealed token is sent as written, not opened', async () => {
    const sink = await smtpSink();
    await deliverThrough(smtp(sink.url));
    const email = uniqueEmail('sealed-lookalike');
    const name = `sealed.inv.${'A'.repeat(22)}.0.AAAA`;
    expect((await t.http.post('/api/v1/auth/signup', { body: { email, password: PASSWORD, name } })).status).toBe(201);

    const mail = await sink.waitFor((message) => message.envelopeTo.includes(email));
    expect(mail.decoded).toMatch(LIVE_TOKEN);
    expect((await finishedRowTo(email)).status).toBe('sent');
  });
});

describe('the local development mailbox (no SMTP_URL) is the outbox', () => {
  it('keeps the links of sent mail, single and bulk, readable at /api/dev/mailbox', async () => {
    await deliverThrough(createLocalMailboxTransport(pino({ level: 'silent' })));
    const org = await t.given.org({ seats: 10 });
    const single = uniqueEmail('mailbox-single');
    const bulk = [uniqueEmail('mailbox-bulk-a'), uniqueEmail('mailbox-bulk-b')];
    expect((await t.http.post('/api/v1/org/invite', { as: org.owner, body: { email: single } })).status).toBe(201);
    expect((await t.http.post('/api/v1/org/invites/bulk', { as: org.owner, body: { emails: bulk } })).body).toMatchObject({
      invited: 2,
    });

    for (const email of [single, ...bulk]) {
      await finishedRowTo(email);
      const mailbox = await t.http.get('/api/dev/mailbox', { query: { to: email } });
      expect(mailbox.body.messages[0]).toMatchObject({ to: email, status: 'sent' });
      const link: string = mailbox.body.messages[0].links[0];
      expect(link).toMatch(/\/invite\/rs_inv_[A-Za-z0-9_-]+$/);
      // The link is live: it opens the invitation.
      const token = link.split('/invite/')[1]!;
      expect((await t.http.get(`/api/v1/invites/${token}`)).status).toBe(200);
    }
  });
});
