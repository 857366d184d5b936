import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../db/client.ts';
import { startApp, TEST_PUBLIC_URL, type TestApp } from '../../test/kit/app.ts';
import { PASSWORD, uniqueEmail, type TestOrg } from '../../test/kit/given.ts';
import { inviteTokenOf, latestLink, mailTo, verifyTokenOf } from '../../test/kit/mailbox.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(async () => {
  await t.close();
});

async function invite(org: TestOrg, email: string) {
  const reply = await t.http.post('/api/v1/org/invite', { as: org.owner, body: { email } });
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return { id: reply.body.invite.id as string, token: inviteTokenOf(reply.body.invite.link) };
}

async function invitationStatus(id: string): Promise<string | undefined> {
  const rows = await queryRows<{ status: string }>(t.database.db, sql`SELECT status FROM invitations WHERE id = ${id}`);
  return rows[0]?.status;
}

describe('opening an invitation link (GET, HEAD, OPTIONS) never accepts it', () => {
  it('leaves the invitation pending and creates no membership, even for the signed-in invitee', async () => {
    const org = await t.given.org();
    const invitee = await t.given.user();
    const { id, token } = await invite(org, invitee.email);
    for (const method of ['GET', 'HEAD', 'OPTIONS']) {
      for (const path of [
        `/invite/${token}`,
        `/api/v1/invites/${token}`,
        `/api/v1/invites/${token}/accept`,
        `/api/v1/org/invite/${id}/accept`,
      ]) {
        const reply = await t.http.request(method, path, { as: invitee });
        expect(reply.status, `${method} ${path}`).not.toBe(500);
      }
    }
    expect(await invitationStatus(id)).toBe('pending');
    expect(await t.given.roleOf(org.id, invitee.id)).toBeUndefined();
  });
});

describe('links come only from PUBLIC_URL', () => {
  for (const trustProxy of [undefined, '127.0.0.1']) {
    it(`ignores forged Host and X-Forwarded-* headers (TRUST_PROXY ${trustProxy ?? 'unset'})`, async () => {
      const app = trustProxy ? await startApp({ env: { TRUST_PROXY: trustProxy } }) : t;
      try {
        const forged = {
          host: 'evil.test',
          'x-forwarded-host': 'evil.test',
          'x-forwarded-proto': 'https',
          forwarded: 'host=evil.test',
        };
        const org = await app.given.org({ seats: 10 });
        const email = uniqueEmail();
        const single = await app.http.post('/api/v1/org/invite', { as: org.owner, body: { email }, headers: forged });
        expect(single.status).toBe(201);
        expect(single.body.invite.link.startsWith(`${TEST_PUBLIC_URL}/invite/`)).toBe(true);
        const resent = await app.http.post(`/api/v1/org/invites/${single.body.invite.id}/resend`, {
          as: org.owner,
          headers: forged,
        });
        expect(resent.body.invite.link.startsWith(`${TEST_PUBLIC_URL}/invite/`)).toBe(true);
        const bulkAddress = uniqueEmail();
        await app.http.post('/api/v1/org/invites/bulk', { as: org.owner, body: { text: bulkAddress }, headers: forged });
        const signupAddress = uniqueEmail();
        await app.http.post('/api/v1/auth/signup', {
          body: { email: signupAddress, password: PASSWORD, name: 'X' },
          headers: forged,
        });
        const links = [];
        for (const address of [email, bulkAddress, signupAddress]) {
          for (const message of await mailTo(app.http, address)) {
            links.push(...message.links);
            expect(message.html).not.toContain('evil.test');
          }
        }
        expect(links.length).toBeGreaterThanOrEqual(4);
        for (const link of links) expect(link.startsWith(`${TEST_PUBLIC_URL}/`), link).toBe(true);
      } finally {
        if (app !== t) await app.close();
      }
    });
  }
});

describe('lookalike addresses never match the invited address', () => {
  it('refuses lookalikes at signup or keeps them distinct, so they cannot accept', async () => {
    const org = await t.given.org();
    const invited = `kate-${Date.now()}@kite.com`;
    const { token } = await invite(org, invited);
    const local = invited.split('@')[0]!;
    // Kelvin sign for k (local part and domain), Cyrillic е and а: refused as addresses.
    for (const lookalike of [
      `\u212A${local.slice(1)}@kite.com`,
      `${local}@\u212Aite.com`,
      `${local.replace('e', '\u0435')}@kite.com`,
      `${local.replace('a', '\u0430')}@kite.com`,
    ]) {
      const reply = await t.http.post('/api/v1/auth/signup', {
        body: { email: lookalike, password: PASSWORD, name: 'Kate', invite_token: token },
      });
      expect(reply.status, lookalike).toBe(400);
      expect(reply.body.error.code).toBe('invalid_email');
    }
    // A dotless ı in the domain is a different, valid domain (punycode): it never matches kite.com.
    const dotless = `${local}@k\u0131te.com`;
    const withToken = await t.http.post('/api/v1/auth/signup', {
      body: { email: dotless, password: PASSWORD, name: 'Kate', invite_token: token },
    });
    expect(withToken.status).toBe(403);
    expect(withToken.body.error.code).toBe('email_mismatch');
    const impostor = await t.given.user({ email: dotless });
    const accept = await t.http.post(`/api/v1/invites/${token}/accept`, { as: impostor });
    expect(accept.status).toBe(403);
    expect(accept.body.error.code).toBe('email_mismatch');
    // …and inviting the lookalike is a separate invitation, not "already pending".
    const separate = await t.http.post('/api/v1/org/invite', { as: org.owner, body: { email: dotless } });
    expect(separate.status).toBe(201);
    const kelvin = await t.http.post('/api/v1/org/invite', {
      as: org.owner,
      body: { email: `\u212A${local.slice(1)}@kite.com` },
    });
    expect(kelvin.body.error.code).toBe('invalid_email');
  });
});

describe('a token of one kind is never accepted as another', () => {
  it('refuses an API token as the session cookie, on reads, writes and the usage route', async () => {
    const org = await t.given.org();
    const apiToken = await t.http.post('/api/v1/tokens', { as: org.owner, body: { name: 'cookie' } });
    expect(apiToken.status).toBe(201);
    // The same-origin JSON request a browser would send, so CSRF is not what refuses it.
    const headers = { cookie: `roster_session=${apiToken.body.token}`, origin: TEST_PUBLIC_URL };
    expect((await t.http.get('/api/v1/me', { headers })).status).toBe(401);
    const rename = await t.http.patch('/api/v1/org', { headers, body: { name: 'Renamed through a cookie' } });
    expect(rename.status).toBe(401);
    const usage = await t.http.post('/api/v1/usage', { headers, body: { activity: 'cookie.check', quantity: 1 } });
    expect(usage.status).toBe(401);
    // The same token as a bearer token works: only the kind of credential was wrong.
    expect((await t.http.get('/api/v1/me', { as: { token: apiToken.body.token } })).status).toBe(200);
  });

  it('refuses an invitation token as a verification token and the other way round', async () => {
    const org = await t.given.org();
    const invitee = await t.given.user();
    const { id, token: inviteToken } = await invite(org, invitee.email);
    const verifyToken = verifyTokenOf(await latestLink(t.http, invitee.email, '/verify-email'));

    const asVerification = await t.http.post('/api/v1/auth/verify-email', { body: { token: inviteToken } });
    expect(asVerification.status).toBe(400);
    expect(asVerification.body.error.code).toBe('invalid_token');

    const lookup = await t.http.get(`/api/v1/invites/${verifyToken}`);
    expect(lookup.status).toBe(404);
    const accept = await t.http.post(`/api/v1/invites/${verifyToken}/accept`, { as: invitee });
    expect(accept.status).toBe(404);
    expect(accept.body.error.code).toBe('invite_not_found');
    const session = await t.http.post(`/api/v1/invites/${invitee.token}/accept`, { as: invitee });
    expect(session.status).toBe(404);
    const signup = await t.http.post('/api/v1/auth/signup', {
      body: { email: uniqueEmail(), password: PASSWORD, name: 'X', invite_token: verifyToken },
    });
    expect(signup.status).toBe(404);
    expect(signup.body.error.code).toBe('invite_not_found');

    expect(await invitationStatus(id)).toBe('pending');
    const me = await t.http.get('/api/v1/me', { as: invitee });
    expect(me.body.user.email_verified).toBe(false);
  });
});
