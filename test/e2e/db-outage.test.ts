import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD } from '../kit/given.ts';
import { createScratchDatabase, serverPostgresUrl, type ScratchDatabase } from '../kit/postgres.ts';
import { callServer, startServerProcess, type ServerProcess, type ServerReply } from '../kit/server.ts';

/**
 * What an operator sees when PostgreSQL drops the server's connections (a failover, a restart,
 * idle_in_transaction_session_timeout, a network reset) while requests are inside their
 * transactions: the request answers 503 database_unavailable, nothing of it is written, and the
 * process keeps serving. Regression: a checked-out pg client's 'error' event had no listener and
 * killed the whole process.
 */
const serverUrl = serverPostgresUrl();

describe.skipIf(!serverUrl)('PostgreSQL backends terminated mid-transaction', () => {
  let scratch: ScratchDatabase;
  let server: ServerProcess;
  let watcher: pg.Client;

  const call = (method: string, path: string, options: { token?: string; body?: unknown } = {}) =>
    callServer(server, method, path, options);

  async function signup(): Promise<{ id: string; email: string; token: string }> {
    const email = `user-${randomBytes(5).toString('hex')}@example.com`;
    const reply = await call('POST', '/api/v1/auth/signup', { body: { email, password: PASSWORD, name: 'Test User' } });
    expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    return { id: reply.body.user.id, email, token: reply.body.token };
  }

  async function ownerOfOrg(seats: number): Promise<{ token: string; orgId: string }> {
    const owner = await signup();
    const checkout = await call('POST', '/api/v1/billing/checkout', {
      token: owner.token,
      body: { plan: 'team', seats, scope: 'personal' },
    });
    expect(checkout.status, JSON.stringify(checkout.body)).toBe(200);
    const slug = `org-${randomBytes(4).toString('hex')}`;
    const created = await call('POST', '/api/v1/org', { token: owner.token, body: { name: 'Outage Org', slug } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return { token: owner.token, orgId: created.body.org.id };
  }

  /** Terminates every backend of the server's database except the test's own connections. */
  async function terminateBackends(spare: number[] = []): Promise<number> {
    const result = await watcher.query<{ count: number }>(
      `SELECT count(pg_terminate_backend(pid))::int AS count FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = current_setting('application_name') AND pid <> pg_backend_pid() AND NOT (pid = ANY($1::int[]))`,
      [spare],
    );
    return result.rows[0]?.count ?? 0;
  }

  /** Waits until one of the server's backends is blocked on a lock: its transaction is open. */
  async function waitForBlockedBackend(spare: number[]): Promise<void> {
    for (;;) {
      const result = await watcher.query<{ count: number }>(
        `SELECT count(*)::int AS count FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = current_setting('application_name') AND wait_event_type = 'Lock'
            AND pid <> pg_backend_pid() AND NOT (pid = ANY($1::int[]))`,
        [spare],
      );
      if ((result.rows[0]?.count ?? 0) > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /**
   * Holds an exclusive lock on audit_log, so a change blocks at its audit entry — after its other
   * writes, inside its transaction — until the lock is released.
   */
  async function holdAuditLock(): Promise<{ pid: number; release(): Promise<void> }> {
    const locker = new pg.Client({ connectionString: scratch.url });
    await locker.connect();
    const pid = (await locker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE audit_log IN EXCLUSIVE MODE');
    return {
      pid,
      async release() {
        await locker.query('ROLLBACK');
        await locker.end();
      },
    };
  }

  async function count(query: string, values: unknown[]): Promise<number> {
    const result = await watcher.query<{ count: number }>(query, values);
    return result.rows[0]?.count ?? 0;
  }

  async function waitUntilReady(): Promise<void> {
    for (;;) {
      const ready = await fetch(`${server.url}/readyz`).then((response) => response.ok);
      if (ready) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  beforeAll(async () => {
    scratch = await createScratchDatabase(serverUrl!, 'roster_outage');
    server = await startServerProcess({ env: { DATABASE_URL: scratch.url, BULK_INVITE_MAX: '1000' } });
    watcher = new pg.Client({ connectionString: scratch.url });
    await watcher.connect();
  });

  afterAll(async () => {
    await watcher?.end();
    await server?.stop();
    await scratch?.drop();
  });

  it('a 1,000-address bulk invitation whose backend is killed answers 503 and writes nothing; the retry succeeds', async () => {
    const owner = await ownerOfOrg(2_000);
    const emails = Array.from({ length: 1000 }, (_, index) => `bulk-${index}-${randomBytes(3).toString('hex')}@example.com`);
    const lock = await holdAuditLock();
    const pending = call('POST', '/api/v1/org/invites/bulk', { token: owner.token, body: { emails } });
    await waitForBlockedBackend([lock.pid]);
    expect(await terminateBackends([lock.pid])).toBeGreaterThan(0);
    const reply = await pending;
    await lock.release();

    expect(reply.status).toBe(503);
    expect(reply.body.error.code).toBe('database_unavailable');
    expect(typeof reply.body.error.message).toBe('string');
    expect(reply.body.error.details.request_id).toBe(reply.headers.get('x-request-id'));
    expect(await count('SELECT count(*)::int AS count FROM invitations WHERE org_id = $1', [owner.orgId])).toBe(0);
    expect(await count('SELECT count(*)::int AS count FROM mail_outbox WHERE to_address = ANY($1::text[])', [emails])).toBe(0);

    expect(server.child.exitCode).toBeNull();
    await waitUntilReady();
    const retry = await call('POST', '/api/v1/org/invites/bulk', { token: owner.token, body: { emails } });
    expect(retry.status, JSON.stringify(retry.body)).toBe(200);
    expect(retry.body.invited).toBe(1000);
    expect(await count('SELECT count(*)::int AS count FROM invitations WHERE org_id = $1', [owner.orgId])).toBe(1000);
    // One email per address, and a client that retries once more (it missed the 200) duplicates nothing.
    const mailsTo = () => count('SELECT count(*)::int AS count FROM mail_outbox WHERE to_address = ANY($1::text[])', [emails]);
    expect(await mailsTo()).toBe(1000);
    const again = await call('POST', '/api/v1/org/invites/bulk', { token: owner.token, body: { emails } });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body.invited).toBe(0);
    expect(await count('SELECT count(*)::int AS count FROM invitations WHERE org_id = $1', [owner.orgId])).toBe(1000);
    expect(await mailsTo()).toBe(1000);
  });

  it('an acceptance whose backend is killed answers 503 and leaves the invitation pending; accepting again works', async () => {
    const owner = await ownerOfOrg(5);
    const invitee = await signup();
    const invited = await call('POST', '/api/v1/org/invite', { token: owner.token, body: { email: invitee.email } });
    expect(invited.status, JSON.stringify(invited.body)).toBe(201);
    const token = String(invited.body.invite.link).split('/invite/')[1];

    const lock = await holdAuditLock();
    const pending = call('POST', `/api/v1/invites/${token}/accept`, { token: invitee.token });
    await waitForBlockedBackend([lock.pid]);
    expect(await terminateBackends([lock.pid])).toBeGreaterThan(0);
    const reply = await pending;
    await lock.release();

    expect(reply.status).toBe(503);
    expect(reply.body.error.code).toBe('database_unavailable');
    expect(await count('SELECT count(*)::int AS count FROM memberships WHERE user_id = $1', [invitee.id])).toBe(0);
    expect(
      await count(`SELECT count(*)::int AS count FROM invitations WHERE org_id = $1 AND status = 'pending'`, [owner.orgId]),
    ).toBe(1);

    expect(server.child.exitCode).toBeNull();
    await waitUntilReady();
    const again = await call('POST', `/api/v1/invites/${token}/accept`, { token: invitee.token });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(await count('SELECT count(*)::int AS count FROM memberships WHERE user_id = $1', [invitee.id])).toBe(1);
  });

  it('survives 20 kills during a stream of requests with no half-written batch', async () => {
    const owner = await ownerOfOrg(5_000);
    const batches: { emails: string[]; reply: ServerReply }[] = [];
    let completed = 0;
    let streaming = true;

    async function client(): Promise<void> {
      while (streaming) {
        const emails = Array.from({ length: 5 }, () => `stream-${randomBytes(5).toString('hex')}@example.com`);
        const reply = await call('POST', '/api/v1/org/invites/bulk', { token: owner.token, body: { emails } });
        batches.push({ emails, reply });
        const read = await call('GET', '/api/v1/org', { token: owner.token });
        expect([200, 503]).toContain(read.status);
        completed += 1;
      }
    }

    async function killer(): Promise<void> {
      for (let kill = 0; kill < 20; kill += 1) {
        // Each kill waits for requests to finish since the last one: the stream is moving.
        const target = completed + 2;
        while (completed < target) await new Promise((resolve) => setTimeout(resolve, 5));
        await terminateBackends();
      }
      streaming = false;
    }

    await Promise.all([client(), client(), client(), client(), killer()]);

    expect(server.child.exitCode).toBeNull();
    const failed = batches.filter((batch) => batch.reply.status !== 200);
    for (const batch of failed) {
      expect(batch.reply.status, JSON.stringify(batch.reply.body)).toBe(503);
      expect(batch.reply.body.error.code).toBe('database_unavailable');
    }
    for (const batch of batches) {
      if (batch.reply.status === 200) expect(batch.reply.body.invited).toBe(5);
      // All or nothing per batch: its invitations, its emails and its audit entries.
      const invitations = await count('SELECT count(*)::int AS count FROM invitations WHERE email = ANY($1::text[])', [
        batch.emails,
      ]);
      const mails = await count('SELECT count(*)::int AS count FROM mail_outbox WHERE to_address = ANY($1::text[])', [
        batch.emails,
      ]);
      expect([0, 5]).toContain(invitations);
      expect(mails).toBe(invitations);
      if (batch.reply.status === 200) expect(invitations).toBe(5);
    }
    await waitUntilReady();
    const after = await call('POST', '/api/v1/org/invites/bulk', {
      token: owner.token,
      body: { emails: [`after-${randomBytes(4).toString('hex')}@example.com`] },
    });
    expect(after.status, JSON.stringify(after.body)).toBe(200);
  });
});
