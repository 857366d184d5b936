import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../../test/kit/app.ts';
import { uniqueEmail } from '../../test/kit/given.ts';
import { eventOf, type AuditEntry } from '../audit/record.ts';
import { queryRows } from '../db/client.ts';

// A batch's audit entries and events are selected in SQL from its invitation rows on PostgreSQL
// and PGlite (invitationBatch), and made by recordAudits and eventOf on Citus: both must write
// what the generic path writes, in the batch's order.

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(async () => {
  await t.close();
});
beforeEach(() => {
  t.clock.reset();
});

interface EntryRow {
  action: string;
  target_type: string;
  target_id: string;
  before: unknown;
  after: Record<string, unknown> | null;
  actor_user_id: string | null;
  tx: string;
}

async function entriesOf(orgId: string): Promise<EntryRow[]> {
  return queryRows<EntryRow>(
    t.database.db,
    sql`SELECT action, target_type, target_id, before, after, actor_user_id, xmin::text AS tx
        FROM audit_log WHERE org_id = ${orgId} AND action LIKE 'invite.%' ORDER BY id`,
  );
}

async function eventsOf(orgId: string): Promise<{ type: string; data: Record<string, unknown>; tx: string }[]> {
  return queryRows(
    t.database.db,
    sql`SELECT type, data, xmin::text AS tx FROM events WHERE org_id = ${orgId} AND type LIKE 'invite.%' ORDER BY position`,
  );
}

function expectedEvent(orgId: string, entry: EntryRow) {
  const { type, data } = eventOf({
    orgId,
    action: entry.action,
    targetType: entry.target_type,
    targetId: entry.target_id,
    before: entry.before,
    after: entry.after,
  } as AuditEntry);
  return { type, data };
}

describe('a batch of invitations: entries and events', () => {
  it('writes one invite.sent entry and its invite.created event per invitation, in the batch order', async () => {
    const org = await t.given.org({ seats: 10, admins: 1 });
    const admin = org.admins[0]!;
    const emails = [uniqueEmail('c'), uniqueEmail('a'), uniqueEmail('b')];
    const reply = await t.http.post('/api/v1/org/invites/bulk', { as: admin, body: { emails, role: 'admin' } });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    const ids = reply.body.results.map((result: { invite_id: string }) => result.invite_id);
    const list = await t.http.get('/api/v1/org/invites', { as: org.owner });
    const expiresAt = Object.fromEntries(
      list.body.invites.map((invite: { id: string; expires_at: string }) => [invite.id, invite.expires_at]),
    );

    const entries = await entriesOf(org.id);
    expect(entries.map(({ tx: _tx, ...entry }) => entry)).toEqual(
      ids.map((id: string, index: number) => ({
        action: 'invite.sent',
        target_type: 'invitation',
        target_id: id,
        before: null,
        after: { email: emails[index], role: 'admin', expires_at: expiresAt[id] },
        actor_user_id: admin.id,
      })),
    );
    const events = await eventsOf(org.id);
    expect(events.map(({ type, data }) => ({ type, data }))).toEqual(entries.map((entry) => expectedEvent(org.id, entry)));
    // The invitations, entries and events are one write.
    const invitationTxs = await queryRows<{ tx: string }>(
      t.database.db,
      sql`SELECT DISTINCT xmin::text AS tx FROM invitations WHERE org_id = ${org.id}`,
    );
    expect(new Set([...entries, ...events].map((row) => row.tx))).toEqual(new Set(invitationTxs.map((row) => row.tx)));
  });

  it('writes the entries of the stale invitations it retires first, then the new ones', async () => {
    const org = await t.given.org({ seats: 10 });
    const stale = uniqueEmail('stale');
    const first = await t.http.post('/api/v1/org/invite', { as: org.owner, body: { email: stale } });
    expect(first.status).toBe(201);
    t.clock.advance(t.config.inviteTtlSeconds);
    const fresh = uniqueEmail('fresh');
    const reply = await t.http.post('/api/v1/org/invites/bulk', { as: org.owner, body: { emails: [fresh, stale] } });
    expect(reply.body.invited).toBe(2);
    const [freshId, staleId] = reply.body.results.map((result: { invite_id: string }) => result.invite_id);

    const entries = (await entriesOf(org.id)).slice(1); // after the first invitation's own entry
    expect(entries.map((entry) => [entry.action, entry.target_id])).toEqual([
      ['invite.expired', first.body.invite.id],
      ['invite.sent', freshId],
      ['invite.sent', staleId],
    ]);
    const events = (await eventsOf(org.id)).slice(1);
    expect(events.map(({ type, data }) => ({ type, data }))).toEqual(entries.map((entry) => expectedEvent(org.id, entry)));
  });
});
