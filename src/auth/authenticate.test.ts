import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorCtx, startApp, type TestApp } from '../../test/kit/app.ts';
import { createServiceToken } from '../admin/service.ts';
import { createAuthenticator } from './authenticate.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(async () => {
  await t.close();
});

const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000;
const NIL = '00000000-0000-4000-8000-000000000000';

describe('authenticating the requests of one turn together', () => {
  it('answers each credential by itself, whatever else the turn holds', async () => {
    const org = await t.given.org({ members: 2 });
    const [kept, disabled] = org.members as [(typeof org.members)[0], (typeof org.members)[0]];
    const outsider = await t.given.user();
    const loggedOut = await t.given.user();
    expect((await t.http.post('/api/v1/auth/logout', { as: loggedOut })).status).toBe(204);
    expect((await t.http.post(`/api/v1/org/members/${disabled.id}/disable`, { as: org.owner })).status).toBe(200);
    const apiToken = (await t.http.post('/api/v1/tokens', { as: kept, body: { name: 'ci' } })).body.token as string;
    const { token: serviceToken, record: service } = await createServiceToken(operatorCtx(t), {
      name: 'host app',
      scopes: 'authz:read',
    });

    const authenticate = createAuthenticator(t.database.db);
    const now = t.clock.now();
    const expired = new Date(now.getTime() + TEN_YEARS_MS);
    // All started in one turn of the event loop, so they share their statements where they can.
    const answers = await Promise.all([
      authenticate(org.owner.token, now),
      authenticate(kept.token, now),
      authenticate(apiToken, now),
      authenticate(outsider.token, now),
      authenticate(disabled.token, now),
      authenticate(loggedOut.token, now),
      authenticate(kept.token, expired),
      authenticate(serviceToken, now),
      authenticate(serviceToken, now, 'cookie'),
      authenticate(`${kept.token}x`, now),
    ]);
    const membership = (role: string) => ({ orgId: org.id, role, slug: org.slug, orgName: expect.any(String) });
    expect(answers).toEqual([
      expect.objectContaining({ userId: org.owner.id, via: 'session', membership: membership('owner') }),
      expect.objectContaining({ userId: kept.id, via: 'session', membership: membership('member') }),
      expect.objectContaining({ userId: kept.id, via: 'api_token', membership: membership('member') }),
      expect.objectContaining({ userId: outsider.id, via: 'session', membership: null }),
      null, // disabled user
      null, // logged out
      null, // the same session as the second, past its expiry
      { via: 'service_token', credentialId: service.id, scopes: ['authz:read'] },
      null, // a service token is never read from the cookie
      null, // unknown token
    ]);
  });

  it('answers a service token with each user it asks about, in one turn', async () => {
    const org = await t.given.org({ members: 1 });
    const { token, record } = await createServiceToken(operatorCtx(t), { name: 'checker', scopes: 'authz:read' });
    const authenticate = createAuthenticator(t.database.db);
    const now = t.clock.now();
    const answers = await Promise.all([
      authenticate.serviceWithSubject(token, now, org.owner.id),
      authenticate.serviceWithSubject(token, now, org.members[0]!.id),
      authenticate.serviceWithSubject(token, now, NIL),
      authenticate.serviceWithSubject(`${token}x`, now, org.owner.id),
    ]);
    const caller = { via: 'service_token', credentialId: record.id, scopes: ['authz:read'] };
    expect(answers).toEqual([
      { caller, subject: { user_id: org.owner.id, disabled: false, org_id: org.id, role: 'owner' } },
      { caller, subject: { user_id: org.members[0]!.id, disabled: false, org_id: org.id, role: 'member' } },
      { caller, subject: undefined },
      null,
    ]);
  });
});
