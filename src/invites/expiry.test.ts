import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { queryRows } from '../db/client.ts';
import { createLocalBillingProvider } from '../billing/local-provider.ts';
import type { Ctx } from '../core/context.ts';
import { startApp, type TestApp } from '../../test/kit/app.ts';
import { uniqueEmail, type TestOrg } from '../../test/kit/given.ts';
import { recordInvitationExpiries, startExpiryRecorder } from './expiry.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(async () => {
  await t.close();
});
// Tests move the clock past expiries; each starts from the real time again.
beforeEach(() => {
  t.clock.reset();
});

/** What every process runs beside its server (src/background.ts), on the test app's database and clock. */
function systemCtx(): Ctx {
  return {
    db: t.database.db,
    config: t.config,
    clock: t.clock,
    billing: createLocalBillingProvider(t.config.publicUrl),
    requestId: 'invite-expiry',
    actor: null,
  };
}

async function invite(org: TestOrg, email: string): Promise<string> {
  const reply = await t.http.post('/api/v1/org/invite', { as: org.owner, body: { email } });
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return reply.body.invite.id as string;
}

/** The org's invite.expired audit entries, oldest first. */
async function expiries(orgId: string) {
  return queryRows<{ target_id: string; actor_label: string; actor_user_id: string | null; before: unknown; after: unknown }>(
    t.database.db,
    sql`SELECT target_id, actor_label, actor_user_id, before, after FROM audit_log
        WHERE org_id = ${orgId} AND action = 'invite.expired' ORDER BY id`,
  );
}

async function expiryEvents(orgId: string) {
  return queryRows<{ data: { invite_id: string; email: string } }>(
    t.database.db,
    sql`SELECT data FROM events WHERE org_id = ${orgId} AND type = 'invite.expired' ORDER BY position`,
  );
}

describe('recording invitation expiries', () => {
  it('records invite.expired when the expiry passes, by the system, with its event, and only once', async () => {
    const org = await t.given.org({ seats: 5 });
    const email = uniqueEmail('expiring');
    const id = await invite(org, email);
    await recordInvitationExpiries(systemCtx());
    expect(await expiries(org.id)).toEqual([]);

    t.clock.advance(t.config.inviteTtlSeconds);
    await recordInvitationExpiries(systemCtx());
    await recordInvitationExpiries(systemCtx());
    expect(await expiries(org.id)).toEqual([
      {
        target_id: id,
        actor_label: 'system',
        actor_user_id: null,
        before: { email, status: 'pending' },
        after: { status: 'expired' },
      },
    ]);
    expect(await expiryEvents(org.id)).toEqual([{ data: { invite_id: id, email } }]);
    // The list still shows it expired, and it can still be resent or replaced.
    const listed = await t.http.get('/api/v1/org/invites', { as: org.owner });
    expect(listed.body.invites.find((row: { id: string }) => row.id === id)?.status).toBe('expired');
  });

  it('records each expiry once when sweeps run at once (several processes)', async () => {
    const org = await t.given.org({ seats: 10 });
    const ids = [await invite(org, uniqueEmail('a')), await invite(org, uniqueEmail('b')), await invite(org, uniqueEmail('c'))];
    t.clock.advance(t.config.inviteTtlSeconds);
    await Promise.all([
      recordInvitationExpiries(systemCtx()),
      recordInvitationExpiries(systemCtx()),
      recordInvitationExpiries(systemCtx()),
    ]);
    expect((await expiries(org.id)).map((row) => row.target_id).sort()).toEqual([...ids].sort());
    expect(await expiryEvents(org.id)).toHaveLength(3);
  });

  it('does not record an expiry again when a new invitation replaces the expired one (regression: recorded only then, by its sender)', async () => {
    const org = await t.given.org({ seats: 5 });
    const email = uniqueEmail('replaced');
    const first = await invite(org, email);
    t.clock.advance(t.config.inviteTtlSeconds);
    await recordInvitationExpiries(systemCtx());
    const second = await invite(org, email);
    expect(second).not.toBe(first);
    expect((await expiries(org.id)).map((row) => row.target_id)).toEqual([first]);
  });

  it('still records the expiry when a replacement comes before the sweep, once', async () => {
    const org = await t.given.org({ seats: 5 });
    const email = uniqueEmail('replaced-first');
    const first = await invite(org, email);
    t.clock.advance(t.config.inviteTtlSeconds);
    await invite(org, email);
    await recordInvitationExpiries(systemCtx());
    expect((await expiries(org.id)).map((row) => [row.target_id, row.actor_label])).toEqual([[first, org.owner.email]]);
  });

  it('records a resent invitation again when its new expiry passes, not before', async () => {
    const org = await t.given.org({ seats: 5 });
    const id = await invite(org, uniqueEmail('resent'));
    t.clock.advance(t.config.inviteTtlSeconds);
    await recordInvitationExpiries(systemCtx());
    const resent = await t.http.post(`/api/v1/org/invites/${id}/resend`, { as: org.owner });
    expect(resent.status).toBe(200);
    await recordInvitationExpiries(systemCtx());
    expect(await expiries(org.id)).toHaveLength(1);
    t.clock.advance(t.config.inviteTtlSeconds);
    await recordInvitationExpiries(systemCtx());
    expect((await expiries(org.id)).map((row) => row.target_id)).toEqual([id, id]);
  });

  it('records nothing for an invitation revoked before its expiry', async () => {
    const org = await t.given.org({ seats: 5 });
    const revoked = await invite(org, uniqueEmail('revoked'));
    expect((await t.http.delete(`/api/v1/org/invites/${revoked}`, { as: org.owner })).status).toBe(204);
    t.clock.advance(t.config.inviteTtlSeconds);
    await recordInvitationExpiries(systemCtx());
    expect(await expiries(org.id)).toEqual([]);
  });

  it('runs in the background on a timer until stopped, telling each run (tests wait on it, not on time)', async () => {
    const org = await t.given.org({ seats: 5 });
    const id = await invite(org, uniqueEmail('background'));
    t.clock.advance(t.config.inviteTtlSeconds);
    const logger = { info: () => {}, warn: () => {}, error: () => {} };
    const recorder = startExpiryRecorder({ ctx: systemCtx(), logger: logger as never, intervalMs: 10 });
    try {
      await recorder.nextRun();
      await recorder.nextRun();
    } finally {
      await recorder.stop();
    }
    expect((await expiries(org.id)).map((row) => row.target_id)).toEqual([id]);
  });
});
