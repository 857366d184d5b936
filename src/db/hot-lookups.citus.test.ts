// Runs only in the Citus pass (.ci/citus sets ROSTER_TEST_CITUS=1; vitest.config.ts includes
// *.citus.test.ts files then and only then), so no other pass reports it skipped.
//
// ARCHITECTURE principle 12: hot lookups carry org_id, so one lookup reaches one shard. The strict
// handle below has `citus.multi_task_query_log_level = error`: Citus then refuses, with an error,
// every statement that would run on more than one shard. Each hot path runs on it, as the app runs
// it; a path that fans out fails the test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actorQuery } from '../auth/credential-query.ts';
import { createAuthenticator } from '../auth/authenticate.ts';
import { findSubject } from '../auth/queries.ts';
import type { Ctx } from '../core/context.ts';
import { findByToken } from '../invites/accept.ts';
import { orgOfInviteToken } from '../invites/link-token.ts';
import { applyBatch } from '../usage/batch.ts';
import { openDatabase, prepareStatement, type Database } from './client.ts';
import { insertServiceToken } from '../auth/queries.ts';
import { hashToken, newToken } from '../core/tokens.ts';
import { buildApp } from '../http/app.ts';
import { startApp, type TestApp } from '../../test/kit/app.ts';
import { createHttp } from '../../test/kit/http.ts';
import { inviteTokenOf } from '../../test/kit/mailbox.ts';
import { uniqueEmail } from '../../test/kit/given.ts';

let t: TestApp;
let strict: Database;
beforeAll(async () => {
  t = await startApp();
  const url = new URL(t.database.url!);
  url.searchParams.set('options', `${url.searchParams.get('options') ?? ''} -c citus.multi_task_query_log_level=error`);
  strict = await openDatabase({ databaseUrl: url.toString(), poolSize: 2 });
});
afterAll(async () => {
  await strict.close();
  await t.close();
});

describe('hot lookups on Citus reach one shard', () => {
  it('the strict handle refuses a lookup that reads every shard (the memberships join by user id)', async () => {
    const org = await t.given.org();
    const joined = prepareStatement(strict.db, 'test_actor_joined', actorQuery('session', { withOrg: true, membership: 'join' }));
    await expect(joined({ hash: hashToken(org.owner.token), now: new Date() })).rejects.toThrow();
  });

  it('authenticates a session and an API token with the member role and org', async () => {
    const org = await t.given.org({ members: 1 });
    const apiToken = await t.given.apiToken(org.owner);
    const authenticate = createAuthenticator(strict.db);
    const now = new Date();
    const bySession = await authenticate(org.owner.token, now);
    expect(bySession && 'userId' in bySession ? bySession.membership : null).toMatchObject({
      orgId: org.id,
      role: 'owner',
      slug: org.slug,
    });
    const byApi = await authenticate(apiToken.token, now);
    expect(byApi && 'userId' in byApi ? byApi.membership?.role : null).toBe('owner');
    const member = await authenticate(org.members[0]!.token, now);
    expect(member && 'userId' in member ? member.membership?.role : null).toBe('member');
    // A user without an org: no second statement, no membership.
    const loner = await t.given.user();
    const alone = await authenticate(loner.token, now);
    expect(alone && 'userId' in alone ? alone.membership : undefined).toBeNull();
  });

  it('answers a permission check subject (GET /authz/check) with its role', async () => {
    const org = await t.given.org({ admins: 1 });
    expect(await findSubject(strict.db, org.admins[0]!.id)).toMatchObject({ org_id: org.id, role: 'admin', disabled: false });
  });

  it('finds an invitation by its link token, which names the org', async () => {
    const org = await t.given.org({ seats: 5 });
    const email = uniqueEmail('citus-invite');
    const reply = await t.http.post('/api/v1/org/invite', { as: org.owner, body: { email } });
    expect(reply.status).toBe(201);
    const token = inviteTokenOf(reply.body.invite.link);
    expect(orgOfInviteToken(token)).toBe(org.id);
    expect(await findByToken(strict.db, token)).toMatchObject({ orgId: org.id, email });
  });

  it('serves the hot routes over HTTP: GET /me, GET /authz/check, GET /users/{id}/membership, GET /invites/{token}, accepting it, creating an org, POST /usage', async () => {
    const app = await buildApp({ config: t.config, database: strict, clock: t.clock, logger: false });
    try {
      const http = createHttp(app);
      const org = await t.given.org({ seats: 5, members: 1 });
      const me = await http.get('/api/v1/me', { as: org.members[0]! });
      expect(me.status, JSON.stringify(me.body)).toBe(200);
      expect(me.body.org).toMatchObject({ id: org.id, role: 'member' });
      const service = newToken('service');
      await insertServiceToken(t.database.db, {
        name: 'citus',
        scopes: ['authz:read'],
        tokenHash: service.hash,
        now: new Date(),
      });
      const check = await http.get(`/api/v1/authz/check?user_id=${org.owner.id}&action=invite`, {
        as: { token: service.token },
      });
      expect(check.status, JSON.stringify(check.body)).toBe(200);
      expect(check.body).toMatchObject({ allowed: true, role: 'owner', org_id: org.id });
      const membership = await http.get(`/api/v1/users/${org.members[0]!.id}/membership`, { as: { token: service.token } });
      expect(membership.status, JSON.stringify(membership.body)).toBe(200);
      expect(membership.body).toMatchObject({ org: { id: org.id }, role: 'member' });
      const inviteeEmail = uniqueEmail('citus-http');
      const invited = await t.http.post('/api/v1/org/invite', { as: org.owner, body: { email: inviteeEmail } });
      const link = inviteTokenOf(invited.body.invite.link);
      const opened = await http.get(`/api/v1/invites/${link}`);
      expect(opened.status, JSON.stringify(opened.body)).toBe(200);
      // Accepting by the link: the invitation, the one-org-per-user check and the join, each on one node.
      const invitee = await t.given.user({ email: inviteeEmail });
      const accepted = await http.post(`/api/v1/invites/${link}/accept`, { as: invitee });
      expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
      // Creating an org: the one-org-per-user check through user_orgs.
      const founder = await t.given.subscribedUser();
      const created = await http.post('/api/v1/org', {
        as: founder,
        body: { name: 'Citus', slug: `citus-${founder.id.slice(0, 8)}` },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const used = await http.post('/api/v1/usage', { as: org.owner, body: { activity: 'calls', quantity: 1, key: 'k-1' } });
      expect(used.status, JSON.stringify(used.body)).toBe(201);
    } finally {
      await app.close();
    }
  });

  it('records a usage batch of two orgs (authentication, then each org on its own shard)', async () => {
    const first = await t.given.org({ members: 1 });
    const second = await t.given.org();
    const ctx = { db: strict.db, config: t.config, clock: t.clock, requestId: 'citus-test', actor: null } as unknown as Ctx;
    const outcomes = await applyBatch(
      ctx,
      [first.owner, first.members[0]!, second.owner].map((user) => ({
        kind: 'session' as const,
        hash: hashToken(user.token),
        activity: 'calls',
        quantity: 2,
        key: `batch-${user.id}`,
      })),
    );
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['recorded', 'recorded', 'recorded']);
  });
});
