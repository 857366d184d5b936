import { messageWithoutSecrets, outboxKey, withoutSecrets } from '../mail/sealing.ts';
import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../../test/kit/app.ts';
import { consumeRateLimit, insertEmailVerification, insertSession } from '../auth/queries.ts';
import { queryRows, runStatementParts } from '../db/client.ts';
import { insertMails, templateMailsInsert } from '../mail/queries.ts';
import { mailboxMessages } from '../mail/mailbox.ts';
import { insertEndpoint } from '../webhooks/queries.ts';
import {
  RATE_LIMIT_KEEP_MS,
  RATE_LIMIT_WINDOWS_SECONDS,
  retentionRules,
  startRetention,
  sweep,
  type RetentionRule,
  type SweepReport,
} from './retention.ts';

const DAY = 24 * 60 * 60 * 1000;
const NOW = new Date('2026-06-15T12:00:00Z');
const daysAgo = (days: number) => new Date(NOW.getTime() - days * DAY);
const rules30 = retentionRules({ mailRetentionDays: 30, webhookRetentionDays: 30 });

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(async () => {
  await t.close();
});

const db = () => t.database.db;
const rows = <T>(query: ReturnType<typeof sql>) => queryRows<T>(db(), query);

/** Every table the sweep deletes from, emptied, so each test counts only its own rows. */
beforeEach(async () => {
  for (const table of ['mail_outbox', 'mail_templates', 'webhook_deliveries', 'sessions', 'email_verifications', 'rate_limits']) {
    await db().execute(sql.raw(`DELETE FROM ${table}`));
  }
});

type MailStatus = 'pending' | 'sent' | 'failed';

/** Leaves the mail to `to` in `status`, as the delivery worker would (sent at `at`, or given up with an error). */
async function finishMail(to: string, status: MailStatus, at: Date): Promise<void> {
  if (status === 'pending') return;
  await db().execute(
    sql`UPDATE mail_outbox SET status = ${status}, sent_at = ${status === 'sent' ? at : null},
                               last_error = ${status === 'failed' ? '550 no such user' : null}
        WHERE to_address = ${to}`,
  );
}

/** One mail to `to`, created at `at`, then left in `status`. */
async function mail(to: string, at: Date, status: MailStatus): Promise<void> {
  await insertMails(
    db(),
    [{ kind: 'test', to, ...messageWithoutSecrets({ subject: 'Hello', text: `text of ${to}`, html: `<p>${to}</p>` }) }],
    at,
  );
  await finishMail(to, status, at);
}

/** A template's mails (one per status), created at `at`. */
async function templateMails(prefix: string, at: Date, statuses: MailStatus[]): Promise<void> {
  const recipients = statuses.map((_, index) => ({
    to: `${prefix}-${index}@example.com`,
    value: withoutSecrets(`link-${index}`),
    htmlValue: withoutSecrets(`link-${index}`),
  }));
  await runStatementParts(db(), `retention_test_template_${statuses.length}`, [
    templateMailsInsert(
      { kind: 'test', subject: 'Join {{x}}', text: 'Open {{x}}', html: '<a>{{x}}</a>', slot: '{{x}}' },
      recipients,
      at,
    ),
  ]);
  for (const [index, status] of statuses.entries()) await finishMail(`${prefix}-${index}@example.com`, status, at);
}

const remaining = async () => ({
  mails: (await rows<{ to_address: string }>(sql`SELECT to_address FROM mail_outbox ORDER BY to_address`)).map(
    (row) => row.to_address,
  ),
  templates: Number((await rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM mail_templates`))[0]!.n),
});

describe('retention: mail', () => {
  it('deletes sent and failed mails older than MAIL_RETENTION_DAYS, never a pending one', async () => {
    await mail('old-sent@example.com', daysAgo(31), 'sent');
    await mail('old-failed@example.com', daysAgo(31), 'failed');
    await mail('old-pending@example.com', daysAgo(90), 'pending');
    await mail('new-sent@example.com', daysAgo(29), 'sent');

    const report = await sweep(db(), rules30, { now: NOW });

    expect(report).toMatchObject({ deleted: { mails: 2 }, failed: [] });
    expect((await remaining()).mails).toEqual(['new-sent@example.com', 'old-pending@example.com']);
  });

  it('deletes a template with its last mail, and keeps one that an old pending mail still reads', async () => {
    await templateMails('done', daysAgo(40), ['sent', 'failed']);
    await templateMails('waiting', daysAgo(40), ['sent', 'pending']);
    await templateMails('recent', daysAgo(2), ['sent']);

    const report = await sweep(db(), rules30, { now: NOW });

    expect(report.deleted).toMatchObject({ mails: 3, mail_templates: 1 });
    expect(await remaining()).toEqual({ mails: ['recent-0@example.com', 'waiting-1@example.com'], templates: 2 });
    // The pending mail still renders from its template (the mailbox and the delivery worker read it so).
    const [waiting] = await mailboxMessages(db(), await outboxKey({ linkSecret: undefined }, db()), {
      to: 'waiting-1@example.com',
      limit: 1,
    });
    expect(waiting).toMatchObject({ subject: 'Join link-1', text: 'Open link-1', status: 'pending' });
  });

  it('keeps every mail with MAIL_RETENTION_DAYS=0', async () => {
    await mail('ancient@example.com', daysAgo(3650), 'sent');
    await templateMails('ancient', daysAgo(3650), ['sent']);

    const report = await sweep(db(), retentionRules({ mailRetentionDays: 0, webhookRetentionDays: 30 }), { now: NOW });

    expect(report.deleted).toMatchObject({ mails: 0, mail_templates: 0 });
    expect(await remaining()).toEqual({ mails: ['ancient-0@example.com', 'ancient@example.com'], templates: 1 });
  });

  it('deletes a backlog larger than one statement in chunks, and counts each row once', async () => {
    for (let index = 0; index < 7; index += 1) await mail(`backlog-${index}@example.com`, daysAgo(60), 'sent');

    const report = await sweep(db(), rules30, { now: NOW, chunk: 3 });

    expect(report.deleted.mails).toBe(7);
    expect((await remaining()).mails).toEqual([]);
  });

  it('deletes each row once when several processes sweep at the same time', async () => {
    for (let index = 0; index < 12; index += 1) await mail(`shared-${index}@example.com`, daysAgo(60), 'sent');
    await mail('kept@example.com', daysAgo(60), 'pending');

    const reports = await Promise.all([1, 2, 3].map(() => sweep(db(), rules30, { now: NOW, chunk: 2 })));

    expect(reports.flatMap((report) => report.failed)).toEqual([]);
    expect(reports.reduce((sum, report) => sum + report.deleted.mails!, 0)).toBe(12);
    expect((await remaining()).mails).toEqual(['kept@example.com']);
  });
});

describe('retention: webhook deliveries', () => {
  it('deletes deliveries that finished before WEBHOOK_RETENTION_DAYS, never a pending one', async () => {
    const org = await t.given.org();
    const endpoint = await insertEndpoint(db(), {
      id: randomUUID(),
      url: 'https://receiver.example/hook',
      eventTypes: ['*'],
      orgId: null,
      secretEncrypted: randomBytes(32),
      createdBy: 'test',
      now: daysAgo(100),
    });
    const delivery = (position: number, status: string, finishedAt: Date | null) =>
      db().execute(sql`INSERT INTO webhook_deliveries
                         (org_id, endpoint_id, event_position, event_id, event_type, event_data, event_created_at,
                          status, next_attempt_at, finished_at)
                       VALUES (${org.id}, ${endpoint.id}, ${position}, ${randomUUID()}, 'member.added', '{}'::jsonb, ${daysAgo(100)},
                               ${status}, ${daysAgo(100)}, ${finishedAt})`);
    await delivery(1, 'delivered', daysAgo(31));
    await delivery(2, 'failed', daysAgo(45));
    await delivery(3, 'delivered', daysAgo(29));
    await delivery(4, 'pending', null);

    const report = await sweep(db(), rules30, { now: NOW });
    const left = await rows<{ event_position: string | number }>(
      sql`SELECT event_position FROM webhook_deliveries WHERE endpoint_id = ${endpoint.id} ORDER BY event_position`,
    );

    expect(report.deleted.webhook_deliveries).toBe(2);
    expect(left.map((row) => Number(row.event_position))).toEqual([3, 4]);
    expect(
      (await sweep(db(), retentionRules({ mailRetentionDays: 30, webhookRetentionDays: 0 }), { now: daysAgo(-400) })).deleted,
    ).toMatchObject({ webhook_deliveries: 0 });
  });
});

describe('retention: expired credentials and ended rate-limit windows', () => {
  it('deletes expired sessions and email verifications, and rate-limit counters a day after their window started', async () => {
    const user = await t.given.insertedUser();
    const session = (expiresAt: Date) =>
      insertSession(db(), { userId: user.id, tokenHash: randomBytes(32), now: daysAgo(10), expiresAt });
    await session(daysAgo(1));
    await session(daysAgo(-1));
    const verification = (expiresAt: Date) =>
      insertEmailVerification(db(), { userId: user.id, tokenHash: randomBytes(32), now: daysAgo(10), expiresAt });
    await verification(daysAgo(1));
    await verification(daysAgo(-1));
    const limit = (key: string, now: Date) => consumeRateLimit(db(), { key, limit: 5, windowSeconds: 900, now });
    await limit('ended', daysAgo(2));
    await limit('current', new Date(NOW.getTime() - 60_000));

    const report = await sweep(db(), rules30, { now: NOW });

    expect(report.deleted).toMatchObject({ sessions: 1, email_verifications: 1, rate_limits: 1 });
    // Only this test's rows (made at daysAgo(10)); what is left of them is the one still valid.
    const left = async (table: string) =>
      rows<{ expires_at: Date | string }>(
        sql.raw(`SELECT expires_at FROM ${table} WHERE created_at = '${daysAgo(10).toISOString()}'`),
      );
    expect((await left('sessions')).map((row) => new Date(row.expires_at))).toEqual([daysAgo(-1)]);
    expect((await left('email_verifications')).map((row) => new Date(row.expires_at))).toEqual([daysAgo(-1)]);
    expect((await rows<{ key: string }>(sql`SELECT key FROM rate_limits`)).map((row) => row.key)).toEqual(['current']);
  });

  it('keeps rate-limit counters longer than every window in use', () => {
    for (const seconds of RATE_LIMIT_WINDOWS_SECONDS) expect(seconds * 1000).toBeLessThan(RATE_LIMIT_KEEP_MS);
  });
});

describe('retention: the sweep', () => {
  it('runs the other rules when one fails, and reports the failure', async () => {
    await mail('after-failure@example.com', daysAgo(60), 'sent');
    const broken: RetentionRule = {
      name: 'broken',
      deletes: () => Promise.reject(new Error('relation "gone" does not exist')),
      before: (now) => now,
    };

    const report = await sweep(db(), [broken, ...rules30], { now: NOW });

    expect(report.failed.map((failure) => failure.name)).toEqual(['broken']);
    expect(report.deleted.mails).toBe(1);
  });

  it('starts no further chunk once the process is stopping', async () => {
    for (let index = 0; index < 5; index += 1) await mail(`stopping-${index}@example.com`, daysAgo(60), 'sent');
    const stopping = new AbortController();
    const rule: RetentionRule = {
      name: 'mails',
      // The first chunk's statement runs; the stop arrives while it does.
      deletes: async (database, input) => {
        const deleted = await rules30[0]!.deletes(database, input);
        stopping.abort();
        return deleted;
      },
      before: rules30[0]!.before,
    };

    const report = await sweep(db(), [rule], { now: NOW, chunk: 2, signal: stopping.signal });

    expect(report.deleted.mails).toBe(2);
    expect((await remaining()).mails).toHaveLength(3);
  });

  it('sweeps at start and then on its interval, logs what it deleted, and stops', async () => {
    const lines: { msg: string; deleted?: Record<string, number>; rule?: string }[] = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(JSON.parse(String(chunk)));
          done();
        },
      }),
    );
    t.clock.set(NOW);
    await mail('first-sweep@example.com', daysAgo(60), 'sent');
    const told: SweepReport[] = [];
    const sweeper = startRetention({
      db: db(),
      config: t.config,
      clock: t.clock,
      logger,
      intervalMs: 20,
      onSweep: (report) => told.push(report),
    });
    try {
      const first = await sweeper.nextSweep();
      expect(first.deleted.mails).toBe(1);
      expect(told[0]).toBe(first);
      await mail('second-sweep@example.com', daysAgo(60), 'sent');
      // A sweep that starts after the insert deletes it (one may already be under way: wait for two).
      await sweeper.nextSweep();
      await sweeper.nextSweep();
      expect((await remaining()).mails).toEqual([]);
      expect(lines.filter((line) => line.msg === 'retention sweep deleted old rows').map((line) => line.deleted)).toEqual([
        { mails: 1 },
        { mails: 1 },
      ]);
    } finally {
      await sweeper.stop();
      t.clock.reset();
    }
  });
});
