import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, TEST_PUBLIC_URL, type TestApp } from '../../test/kit/app.ts';
import { PASSWORD } from '../../test/kit/given.ts';
import { queryRows } from '../db/client.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(async () => {
  await t.close();
});

async function auditEntries(orgId: string, action: string) {
  return queryRows<{ actor_user_id: string | null; actor_label: string; target_id: string; before: unknown; after: unknown }>(
    t.database.db,
    sql`SELECT actor_user_id, actor_label, target_id, before, after FROM audit_log WHERE org_id = ${orgId} AND action = ${action}`,
  );
}

describe('POST /api/v1/org/members/{user_id}/disable', () => {
  it('stops a live bearer session, a cookie session and an API token on the next request', async () => {
    const org = await t.given.org({ admins: 1 });
    // A real login, so the member also has the cookie the dashboard uses.
    const member = await t.given.user();
    await t.database.db.execute(sql`INSERT INTO memberships (org_id, user_id, role) VALUES (${org.id}, ${member.id}, 'member')`);
    await t.database.db.execute(sql`INSERT INTO user_orgs (user_id, org_id) VALUES (${member.id}, ${org.id})`);
    const login = await t.http.post('/api/v1/auth/login', { body: { email: member.email, password: PASSWORD } });
    const cookieToken = login.cookies.find((cookie) => cookie.name === 'roster_session')?.value;
    expect(cookieToken).toBeTruthy();
    const apiToken = (await t.given.apiToken(member, { name: 'ci' })).token;
    const byCookie = () =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/usage',
        headers: { cookie: `roster_session=${cookieToken}`, origin: TEST_PUBLIC_URL, 'content-type': 'application/json' },
        payload: JSON.stringify({ activity: 'a', quantity: 1 }),
      });
    expect((await t.http.get('/api/v1/me', { as: member })).status).toBe(200);
    expect((await t.http.get('/api/v1/me', { as: { token: apiToken } })).status).toBe(200);
    expect((await byCookie()).statusCode).toBe(201);

    const reply = await t.http.post(`/api/v1/org/members/${member.id}/disable`, { as: org.admins[0]! });
    expect(reply.status).toBe(200);
    expect(reply.body.member).toMatchObject({ user_id: member.id, status: 'disabled', role: 'member' });

    expect((await t.http.get('/api/v1/me', { as: member })).status).toBe(401);
    expect((await t.http.get('/api/v1/me', { as: { token: apiToken } })).status).toBe(401);
    expect((await t.http.post('/api/v1/usage', { as: { token: apiToken }, body: { activity: 'a', quantity: 1 } })).status).toBe(
      401,
    );
    expect((await t.http.post('/api/v1/usage', { as: member, body: { activity: 'a', quantity: 1 } })).status).toBe(401);
    const cookieAfter = await byCookie();
    expect(cookieAfter.statusCode).toBe(401);
    expect(cookieAfter.json().error.code).toBe('unauthenticated');
  });

  it('answers 403 user_disabled to a correct password and 401 to a wrong one', async () => {
    const org = await t.given.org();
    const member = await t.given.user();
    await t.database.db.execute(sql`INSERT INTO memberships (org_id, user_id, role) VALUES (${org.id}, ${member.id}, 'member')`);
    await t.database.db.execute(sql`INSERT INTO user_orgs (user_id, org_id) VALUES (${member.id}, ${org.id})`);
    await t.http.post(`/api/v1/org/members/${member.id}/disable`, { as: org.owner });
    const right = await t.http.post('/api/v1/auth/login', { body: { email: member.email, password: PASSWORD } });
    expect(right.status).toBe(403);
    expect(right.body.error.code).toBe('user_disabled');
    const wrong = await t.http.post('/api/v1/auth/login', { body: { email: member.email, password: 'not the password at all' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('invalid_credentials');
  });

  it('keeps the disabled member listed as disabled, holding a seat', async () => {
    const org = await t.given.org({ members: 2, seats: 3 });
    const member = org.members[0]!;
    await t.http.post(`/api/v1/org/members/${member.id}/disable`, { as: org.owner });
    const view = await t.http.get('/api/v1/org', { as: org.owner });
    expect(view.body.org.seats).toMatchObject({ used: 3, active_members: 3, limit: 3 });
    expect(view.body.members.find((entry: any) => entry.user_id === member.id).status).toBe('disabled');
    const disabled = await t.http.get('/api/v1/org/members?status=disabled', { as: org.owner });
    expect(disabled.body.members.map((entry: any) => entry.user_id)).toEqual([member.id]);
  });

  it('writes exactly one audit entry, by the acting admin', async () => {
    const org = await t.given.org({ admins: 1, members: 1 });
    const [admin, member] = [org.admins[0]!, org.members[0]!];
    await t.http.post(`/api/v1/org/members/${member.id}/disable`, { as: admin });
    // Disabling again changes nothing and records nothing.
    expect((await t.http.post(`/api/v1/org/members/${member.id}/disable`, { as: admin })).status).toBe(200);
    const entries = await auditEntries(org.id, 'member.disabled');
    expect(entries).toEqual([
      {
        actor_user_id: admin.id,
        actor_label: admin.email,
        target_id: member.id,
        before: { email: member.email, status: 'active' },
        after: { email: member.email, status: 'disabled' },
      },
    ]);
  });

  it('refuses the owner with 403 cannot_disable_owner and oneself with 400 cannot_disable_self', async () => {
    const org = await t.given.org({ admins: 1 });
    const owner = await t.http.post(`/api/v1/org/members/${org.owner.id}/disable`, { as: org.admins[0]! });
    expect(owner.status).toBe(403);
    expect(owner.body.error.code).toBe('cannot_disable_owner');
    const self = await t.http.post(`/api/v1/org/members/${org.admins[0]!.id}/disable`, { as: org.admins[0]! });
    expect(self.status).toBe(400);
    expect(self.body.error.code).toBe('cannot_disable_self');
    expect((await t.http.get('/api/v1/me', { as: org.owner })).status).toBe(200);
    expect(await auditEntries(org.id, 'member.disabled')).toEqual([]);
  });

  it("answers 404 not_a_member for another org's member, and 403 to members", async () => {
    const org = await t.given.org({ members: 1 });
    const other = await t.given.org({ members: 1 });
    const foreign = await t.http.post(`/api/v1/org/members/${other.members[0]!.id}/disable`, { as: org.owner });
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('not_a_member');
    expect((await t.http.get('/api/v1/me', { as: other.members[0]! })).status).toBe(200);
    const asMember = await t.http.post(`/api/v1/org/members/${org.owner.id}/disable`, { as: org.members[0]! });
    expect(asMember.status).toBe(403);
    expect(asMember.body.error.code).toBe('forbidden');
  });

  it('leaves the member enabled and unaudited when the transaction fails after the audit entry', async () => {
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    // Makes the session deletion (after the update, in the same transaction) fail for this user only.
    await t.database.db.execute(
      sql.raw(`CREATE FUNCTION refuse_session_delete() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN IF OLD.user_id = '${member.id}' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN OLD; END; $$`),
    );
    await t.database.db.execute(
      sql.raw(
        'CREATE TRIGGER refuse_session_delete BEFORE DELETE ON sessions FOR EACH ROW EXECUTE FUNCTION refuse_session_delete()',
      ),
    );
    try {
      const reply = await t.http.post(`/api/v1/org/members/${member.id}/disable`, { as: org.owner });
      expect(reply.status).toBe(500);
    } finally {
      await t.database.db.execute(sql.raw('DROP TRIGGER refuse_session_delete ON sessions'));
      await t.database.db.execute(sql.raw('DROP FUNCTION refuse_session_delete()'));
    }
    expect((await t.http.get('/api/v1/me', { as: member })).status).toBe(200);
    expect(await auditEntries(org.id, 'member.disabled')).toEqual([]);
  });
});
