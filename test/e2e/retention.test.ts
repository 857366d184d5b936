import { messageWithoutSecrets } from '../../src/mail/sealing.ts';
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, queryRows } from '../../src/db/client.ts';
import { insertMails } from '../../src/mail/queries.ts';
import { startServerProcess, type ServerProcess } from '../kit/server.ts';

// The retention sweep as `roster start` runs it (src/background.ts): on PGlite whatever the engine,
// so that the test can write old rows into the data directory between two runs of the server.
const started: ServerProcess[] = [];
afterAll(async () => {
  await Promise.all(started.map((server) => server.kill()));
});

const DAY = 24 * 60 * 60 * 1000;

async function start(dataDir?: string): Promise<ServerProcess> {
  const server = await startServerProcess({ dataDir, env: { DATABASE_URL: '', LOG_LEVEL: 'info', MAIL_RETENTION_DAYS: '30' } });
  started.push(server);
  return server;
}

/** Resolves once the server has logged a sweep that deleted something (its signal), or fails with its output. */
async function sweptLine(server: ServerProcess): Promise<{ deleted: Record<string, number> }> {
  for (;;) {
    const line = server
      .output()
      .split('\n')
      .find((text) => text.includes('retention sweep deleted old rows'));
    if (line) return JSON.parse(line) as { deleted: Record<string, number> };
    if (server.child.exitCode !== null) throw new Error(`server exited:\n${server.output()}`);
    await new Promise((resolve) => server.child.stdout!.once('data', resolve));
  }
}

describe('retention in a running server', () => {
  it('deletes month-old sent mail and expired sessions at start, and keeps what is recent or pending', async () => {
    // A first run creates the schema; then, with the server stopped, old rows go in.
    const first = await start();
    expect(await first.stop()).toBe(0);
    const database = await openDatabase({ dataDir: first.dataDir });
    const monthAgo = new Date(Date.now() - 31 * DAY);
    const mail = (to: string, at: Date) =>
      insertMails(
        database.db,
        [{ kind: 'test', to, ...messageWithoutSecrets({ subject: 'Hi', text: 'Hi', html: '<p>Hi</p>' }) }],
        at,
      );
    await mail('old-sent@example.com', monthAgo);
    await mail('old-pending@example.com', monthAgo);
    await mail('new-sent@example.com', new Date());
    await database.db.execute(
      sql`UPDATE mail_outbox SET status = 'sent', sent_at = created_at WHERE to_address IN ('old-sent@example.com', 'new-sent@example.com')`,
    );
    await database.db.execute(
      sql`INSERT INTO users (email, email_normalized, name, password_hash) VALUES ('rita@example.com', 'rita@example.com', 'Rita', 'x')`,
    );
    await database.db.execute(
      sql`INSERT INTO sessions (user_id, token_hash, created_at, expires_at)
          SELECT id, ${randomBytes(32)}, ${monthAgo}, ${new Date(Date.now() - DAY)} FROM users WHERE email = 'rita@example.com'`,
    );
    // Pending mail would be delivered by the local mailbox as soon as the server starts: keep this
    // one pending by making it due only in a year.
    await database.db.execute(
      sql`UPDATE mail_outbox SET next_attempt_at = ${new Date(Date.now() + 365 * DAY)} WHERE to_address = 'old-pending@example.com'`,
    );
    await database.close();

    const second = await start(first.dataDir);
    expect((await sweptLine(second)).deleted).toEqual({ mails: 1, sessions: 1 });
    expect(await second.stop()).toBe(0);

    const after = await openDatabase({ dataDir: first.dataDir });
    try {
      const left = await queryRows<{ to_address: string; status: string }>(
        after.db,
        sql`SELECT to_address, status FROM mail_outbox ORDER BY to_address`,
      );
      expect(left).toEqual([
        { to_address: 'new-sent@example.com', status: 'sent' },
        { to_address: 'old-pending@example.com', status: 'pending' },
      ]);
      expect(await queryRows(after.db, sql`SELECT id FROM sessions`)).toEqual([]);
    } finally {
      await after.close();
    }
  });
});
