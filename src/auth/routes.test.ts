import { outboxKey, unsealText } from '../mail/sealing.ts';
import { connect, type AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import argon2 from 'argon2';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { queryRows } from '../db/client.ts';
import { startApp, TEST_PUBLIC_URL, type TestApp } from '../../test/kit/app.ts';
import { PASSWORD, uniqueEmail } from '../../test/kit/given.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(async () => {
  await t.close();
});

const signup = (body: Record<string, unknown>, headers?: Record<string, string>) =>
  t.http.post('/api/v1/auth/signup', { body, headers });
const login = (email: string, password: string, headers?: Record<string, string>) =>
  t.http.post('/api/v1/auth/login', { body: { email, password }, headers });

async function latestMailTo(email: string): Promise<string> {
  const rows = await queryRows<{ text_body: string }>(
    t.database.db,
    sql`SELECT text_body FROM mail_outbox WHERE lower(to_address) = lower(${email}) ORDER BY created_at DESC LIMIT 1`,
  );
  // As sent: the outbox keeps its tokens sealed (src/mail/sealing.ts).
  return unsealText(await outboxKey(t.config, t.database.db), rows[0]?.text_body ?? '');
}

describe('POST /api/v1/auth/signup', () => {
  it('creates the account, answers 201 with user and token, and sets a hardened session cookie', async () => {
    const email = uniqueEmail('Signup');
    const reply = await signup({ email: `  ${email} `, password: PASSWORD, name: 'Sam' });
    expect(reply.status).toBe(201);
    expect(reply.body.user).toEqual({ id: expect.any(String), email, name: 'Sam', email_verified: false });
    expect(reply.body.token).toMatch(/^rs_sess_/);
    const setCookie = ([] as string[]).concat(reply.headers['set-cookie'] as string[]);
    const session = setCookie.find((cookie) => cookie.startsWith('roster_session='));
    expect(session).toMatch(/HttpOnly/i);
    expect(session).toMatch(/SameSite=Lax/i);
    expect(session).not.toMatch(/Secure/i);
  });

  it('marks the cookie Secure when PUBLIC_URL is https', async () => {
    const secure = await startApp({ env: { PUBLIC_URL: 'https://roster.example' } });
    try {
      const reply = await secure.http.post('/api/v1/auth/signup', {
        body: { email: uniqueEmail(), password: PASSWORD, name: 'Sec' },
      });
      expect(reply.status).toBe(201);
      const setCookie = ([] as string[]).concat(reply.headers['set-cookie'] as string[]);
      expect(setCookie.find((cookie) => cookie.startsWith('roster_session='))).toMatch(/Secure/);
    } finally {
      await secure.close();
    }
  });

  it.each([
    ['not-an-email'],
    ['ü@example.com'],
    ['"quoted"@example.com'],
    ['kate@exampl\u212A.com'],
    ['a@b'],
    [`${'a'.repeat(310)}@example.com`],
  ])('refuses %j with invalid_email', async (email) => {
    const reply = await signup({ email, password: PASSWORD, name: 'X' });
    expect(reply.status).toBe(400);
    expect(reply.body.error.code).toBe('invalid_email');
  });

  it.each([['short'], ['1234567890'], ['password123'], ['aaaaaaaaaaaa']])(
    'refuses password %j with weak_password',
    async (password) => {
      const reply = await signup({ email: uniqueEmail(), password, name: 'X' });
      expect(reply.status).toBe(400);
      expect(reply.body.error.code).toBe('weak_password');
    },
  );

  it('refuses an address that differs only by case or spaces with email_taken', async () => {
    const email = uniqueEmail('taken');
    expect((await signup({ email, password: PASSWORD, name: 'A' })).status).toBe(201);
    const again = await signup({ email: ` ${email.toUpperCase()}`, password: PASSWORD, name: 'B' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('email_taken');
    expect(again.headers['set-cookie']).toBeUndefined();
  });

  it('treats an internationalized domain and its punycode form as one address', async () => {
    expect((await signup({ email: 'anna@bücher.example', password: PASSWORD, name: 'A' })).status).toBe(201);
    const again = await signup({ email: 'Anna@xn--bcher-kva.example', password: PASSWORD, name: 'B' });
    expect(again.body.error.code).toBe('email_taken');
  });

  it('rejects unknown fields with invalid_request and creates nothing', async () => {
    const email = uniqueEmail();
    const reply = await signup({ email, password: PASSWORD, name: 'X', role: 'admin' });
    expect(reply.status).toBe(400);
    expect(reply.body.error.code).toBe('invalid_request');
    expect((await login(email, PASSWORD)).status).toBe(401);
  });

  it('queues a verification email whose link is built from PUBLIC_URL, whatever Host says', async () => {
    const email = uniqueEmail('verify');
    await signup({ email, password: PASSWORD, name: 'V' }, { host: 'evil.example', 'x-forwarded-host': 'evil.example' });
    const text = await latestMailTo(email);
    expect(text).toContain(`${TEST_PUBLIC_URL}/verify-email?token=rs_ver_`);
    expect(text).not.toContain('evil.example');
  });
});

describe('POST /api/v1/auth/verify-email', () => {
  it('verifies the email once; the token is single-use', async () => {
    const user = await t.given.user();
    const token = /token=(rs_ver_[A-Za-z0-9_-]+)/.exec(await latestMailTo(user.email))?.[1];
    expect(token).toBeDefined();
    const verified = await t.http.post('/api/v1/auth/verify-email', { body: { token } });
    expect(verified.status).toBe(200);
    expect(verified.body.user.email_verified).toBe(true);
    expect((await t.http.get('/api/v1/me', { as: user })).body.user.email_verified).toBe(true);
    const reused = await t.http.post('/api/v1/auth/verify-email', { body: { token } });
    expect(reused.status).toBe(400);
    expect(reused.body.error.code).toBe('invalid_token');
  });

  it('refuses unknown tokens and tokens of another kind with invalid_token', async () => {
    const user = await t.given.user();
    for (const token of ['rs_ver_nope', user.token, 'garbage']) {
      const reply = await t.http.post('/api/v1/auth/verify-email', { body: { token } });
      expect(reply.status).toBe(400);
      expect(reply.body.error.code).toBe('invalid_token');
    }
  });

  it('refuses an expired token', async () => {
    const user = await t.given.user();
    const token = /token=(rs_ver_[A-Za-z0-9_-]+)/.exec(await latestMailTo(user.email))?.[1];
    t.clock.advance(8 * 24 * 3600);
    try {
      const reply = await t.http.post('/api/v1/auth/verify-email', { body: { token } });
      expect(reply.body.error.code).toBe('invalid_token');
    } finally {
      t.clock.advance(-8 * 24 * 3600);
    }
  });
});

describe('password reset', () => {
  const requestReset = (email: string) => t.http.post('/api/v1/auth/password-reset', { body: { email } });
  /** Every reset token mailed to `email`, oldest first. */
  async function resetTokens(email: string): Promise<string[]> {
    const rows = await queryRows<{ text_body: string }>(
      t.database.db,
      sql`SELECT text_body FROM mail_outbox WHERE lower(to_address) = lower(${email}) AND kind = 'password_reset'
          ORDER BY created_at, id`,
    );
    const key = await outboxKey(t.config, t.database.db);
    return rows.map((row) => /reset-password\?token=(rs_rst_[A-Za-z0-9_-]+)/.exec(unsealText(key, row.text_body))?.[1] ?? '');
  }
  const NEW_PASSWORD = 'a brand new passphrase 42';

  it('mails a link whose token sets a new password, signs in, and revokes every other session and API token', async () => {
    const user = await t.given.user();
    const apiToken = (await t.http.post('/api/v1/tokens', { as: user, body: { name: 'ci' } })).body.token as string;
    expect((await t.http.get('/api/v1/me', { headers: { authorization: `Bearer ${apiToken}` } })).status).toBe(200);
    const requested = await requestReset(user.email.toUpperCase());
    expect([requested.status, requested.body]).toEqual([202, {}]);
    const [token] = await resetTokens(user.email);
    expect(token).toMatch(/^rs_rst_/);

    const reset = await t.http.post('/api/v1/auth/password-reset/confirm', { body: { token, password: NEW_PASSWORD } });
    expect(reset.status, JSON.stringify(reset.body)).toBe(200);
    expect(reset.body.user).toMatchObject({ id: user.id, email_verified: true });
    expect(reset.cookies.map((cookie) => cookie.name)).toContain('roster_session');
    expect((await t.http.get('/api/v1/me', { headers: { authorization: `Bearer ${reset.body.token}` } })).status).toBe(200);
    expect((await t.http.get('/api/v1/me', { as: user })).status).toBe(401);
    expect((await t.http.get('/api/v1/me', { headers: { authorization: `Bearer ${apiToken}` } })).status).toBe(401);
    expect((await login(user.email, PASSWORD)).status).toBe(401);
    expect((await login(user.email, NEW_PASSWORD)).status).toBe(200);

    const reused = await t.http.post('/api/v1/auth/password-reset/confirm', { body: { token, password: NEW_PASSWORD } });
    expect([reused.status, reused.body.error.code]).toEqual([400, 'invalid_token']);
  });

  it('answers 202 {} alike for unknown and disabled accounts and sends them nothing; refuses a malformed address', async () => {
    const unknown = uniqueEmail('nobody');
    expect([(await requestReset(unknown)).status, (await requestReset(unknown)).body]).toEqual([202, {}]);
    expect(await resetTokens(unknown)).toEqual([]);
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    expect((await t.http.post(`/api/v1/org/members/${member.id}/disable`, { as: org.owner })).status).toBe(200);
    expect((await requestReset(member.email)).status).toBe(202);
    expect(await resetTokens(member.email)).toEqual([]);
    const bad = await requestReset('not-an-address');
    expect([bad.status, bad.body.error.code]).toEqual([400, 'invalid_email']);
  });

  it('sends at most 3 emails an hour per account, silently', async () => {
    const user = await t.given.user();
    for (let index = 0; index < 5; index += 1) expect((await requestReset(user.email)).status).toBe(202);
    expect(await resetTokens(user.email)).toHaveLength(3);
  });

  it('refuses expired, foreign and unknown tokens with invalid_token, and a weak password without using the link', async () => {
    const user = await t.given.user();
    await requestReset(user.email);
    const [token] = await resetTokens(user.email);
    for (const other of ['rs_rst_nope', user.token, 'garbage']) {
      const reply = await t.http.post('/api/v1/auth/password-reset/confirm', { body: { token: other, password: NEW_PASSWORD } });
      expect([reply.status, reply.body.error.code], other).toEqual([400, 'invalid_token']);
    }
    const weak = await t.http.post('/api/v1/auth/password-reset/confirm', { body: { token, password: 'short' } });
    expect([weak.status, weak.body.error.code]).toEqual([400, 'weak_password']);
    t.clock.advance(3601);
    try {
      const expired = await t.http.post('/api/v1/auth/password-reset/confirm', { body: { token, password: NEW_PASSWORD } });
      expect([expired.status, expired.body.error.code]).toEqual([400, 'invalid_token']);
    } finally {
      t.clock.advance(-3601);
    }
    expect((await login(user.email, PASSWORD)).status).toBe(200);
  });

  it('ends every link of the account with the first one used, and lets one of concurrent confirmations through', async () => {
    const user = await t.given.user();
    await requestReset(user.email);
    await requestReset(user.email);
    const [first, second] = await resetTokens(user.email);
    const replies = await Promise.all(
      Array.from({ length: 6 }, (_, index) =>
        t.http.post('/api/v1/auth/password-reset/confirm', {
          body: { token: index % 2 ? first : second, password: `${NEW_PASSWORD} ${index}` },
        }),
      ),
    );
    expect(replies.map((reply) => reply.status).sort()).toEqual([200, 400, 400, 400, 400, 400]);
    const winner = replies.findIndex((reply) => reply.status === 200);
    expect((await login(user.email, `${NEW_PASSWORD} ${winner}`)).status).toBe(200);
  });

  it('keeps a disabled account disabled: 403 user_disabled, the link unused', async () => {
    const org = await t.given.org({ members: 1 });
    const member = org.members[0]!;
    await requestReset(member.email);
    const [token] = await resetTokens(member.email);
    expect((await t.http.post(`/api/v1/org/members/${member.id}/disable`, { as: org.owner })).status).toBe(200);
    const reply = await t.http.post('/api/v1/auth/password-reset/confirm', { body: { token, password: NEW_PASSWORD } });
    expect([reply.status, reply.body.error.code]).toEqual([403, 'user_disabled']);
  });
});

describe('POST /api/v1/auth/verify-email/resend', () => {
  const resend = (user: { token: string }) => t.http.post('/api/v1/auth/verify-email/resend', { as: user });
  const mailCount = async (email: string) =>
    Number(
      (
        await queryRows<{ count: number }>(
          t.database.db,
          sql`SELECT count(*)::int AS count FROM mail_outbox WHERE lower(to_address) = lower(${email})`,
        )
      )[0]?.count,
    );

  it('sends a new link that verifies the address, after the first one expired', async () => {
    const user = await t.given.user();
    t.clock.advance(8 * 24 * 3600);
    try {
      const reply = await resend(user);
      expect(reply.status).toBe(202);
      expect(reply.body).toEqual({ email: user.email });
      const token = /token=(rs_ver_[A-Za-z0-9_-]+)/.exec(await latestMailTo(user.email))?.[1];
      const verified = await t.http.post('/api/v1/auth/verify-email', { body: { token } });
      expect(verified.status).toBe(200);
      expect(verified.body.user.email_verified).toBe(true);
      const again = await resend(user);
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('email_already_verified');
    } finally {
      t.clock.advance(-8 * 24 * 3600);
    }
  });

  it('sends at most 3 in an hour per account, also when asked at once, then 429 rate_limited until the hour ends', async () => {
    const user = await t.given.user();
    const before = await mailCount(user.email);
    const replies = await Promise.all(Array.from({ length: 6 }, () => resend(user)));
    expect(replies.map((reply) => reply.status).sort()).toEqual([202, 202, 202, 429, 429, 429]);
    const refused = replies.find((reply) => reply.status === 429)!;
    expect(refused.body.error.code).toBe('rate_limited');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(await mailCount(user.email)).toBe(before + 3);
    t.clock.advance(3601);
    try {
      expect((await resend(user)).status).toBe(202);
    } finally {
      t.clock.advance(-3601);
    }
  });

  it('needs a signed-in user', async () => {
    const reply = await t.http.post('/api/v1/auth/verify-email/resend');
    expect(reply.status).toBe(401);
  });
});

describe('POST /api/v1/auth/login', () => {
  it('signs in with the right password (email case-insensitive)', async () => {
    const user = await t.given.user();
    const reply = await login(user.email.toUpperCase(), PASSWORD);
    expect(reply.status).toBe(200);
    expect(reply.body.user.id).toBe(user.id);
    expect((await t.http.get('/api/v1/me', { as: { token: reply.body.token } })).status).toBe(200);
  });

  it('answers invalid_credentials for a wrong password and for an unknown email alike', async () => {
    const user = await t.given.user();
    const wrong = await login(user.email, 'not the password at all');
    const unknown = await login(uniqueEmail('nobody'), PASSWORD);
    for (const reply of [wrong, unknown]) {
      expect(reply.status).toBe(401);
      expect(reply.body.error.code).toBe('invalid_credentials');
    }
    expect(wrong.body.error.message).toBe(unknown.body.error.message);
  });

  it('does the same password work to refuse an unknown email as a known one (no account enumeration by timing)', async () => {
    const user = await t.given.user();
    // Which argon2 hashes a login verifies against: the time of a refusal is that verification's,
    // set by the hash's parameters (memory, iterations, parallelism). Counted, not timed: a timing
    // ratio moved with the machine's load (it failed CI on Citus once).
    const spy = vi.spyOn(argon2, 'verify');
    try {
      expect((await login(user.email, 'wrong password here')).status).toBe(401);
      expect((await login(uniqueEmail('ghost'), 'wrong password here')).status).toBe(401);
      const hashes = spy.mock.calls.map(([hash]) => hash);
      expect(hashes).toHaveLength(2);
      const parameters = (hash: string) => hash.split('$').slice(1, 4).join('$'); // argon2id, v=19, its m, t and p
      const [stored] = await queryRows<{ hash: string }>(
        t.database.db,
        sql`SELECT password_hash AS hash FROM users WHERE id = ${user.id}`,
      );
      expect(hashes[0]).toBe(stored!.hash);
      expect(hashes[1]).not.toBe(stored!.hash);
      expect(parameters(hashes[1]!)).toBe(parameters(stored!.hash));
      expect(parameters(stored!.hash)).toMatch(/^argon2id\$v=19\$(?=.*m=\d+)(?=.*t=\d+)(?=.*p=\d+)/);
    } finally {
      spy.mockRestore();
    }
  });

  it('tells a disabled user user_disabled only after the password is right', async () => {
    const user = await t.given.user();
    await t.database.db.execute(sql`UPDATE users SET disabled_at = now() WHERE id = ${user.id}`);
    const wrong = await login(user.email, 'not the password at all');
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('invalid_credentials');
    const right = await login(user.email, PASSWORD);
    expect(right.status).toBe(403);
    expect(right.body.error.code).toBe('user_disabled');
    expect(right.headers['set-cookie']).toBeUndefined();
  });

  it('throttles an account after 10 failed attempts with rate_limited, even with the right password', async () => {
    const user = await t.given.user();
    for (let attempt = 0; attempt < 10; attempt += 1) {
      expect((await login(user.email, `wrong password ${attempt}`)).status).toBe(401);
    }
    const blocked = await login(user.email, PASSWORD);
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe('rate_limited');
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    t.clock.advance(16 * 60);
    try {
      expect((await login(user.email, PASSWORD)).status).toBe(200);
    } finally {
      t.clock.advance(-16 * 60);
    }
  });

  it('counts failures over any 15 minutes, not per fixed window: no second ten at the end of the first window', async () => {
    const user = await t.given.user();
    try {
      expect((await login(user.email, 'wrong password 0')).status).toBe(401);
      t.clock.advance(15 * 60 - 1);
      for (let attempt = 1; attempt < 10; attempt += 1) {
        expect((await login(user.email, `wrong password ${attempt}`)).status, `failure ${attempt + 1}`).toBe(401);
      }
      // The first failure leaves the window: one more guess; the other nine are still inside it,
      // where a fixed window would have started again with ten.
      t.clock.advance(1);
      expect((await login(user.email, 'wrong password 10')).status).toBe(401);
      const blocked = await login(user.email, PASSWORD);
      expect([blocked.status, blocked.body.error?.code]).toEqual([429, 'rate_limited']);
      // Until the oldest failure still counted (the second, 15 minutes less a second ago) leaves.
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(15 * 60 - 30);
      expect(Number(blocked.headers['retry-after'])).toBeLessThanOrEqual(15 * 60 - 1);
    } finally {
      t.clock.advance(-15 * 60);
    }
  });

  it('checks at most 10 passwords of one account however many guesses arrive at once, and takes back what is not a failure', async () => {
    const user = await t.given.user();
    const replies = await Promise.all(Array.from({ length: 30 }, (_, attempt) => login(user.email, `wrong password ${attempt}`)));
    const statuses = replies.map((reply) => reply.status);
    expect(statuses.filter((status) => status === 401)).toHaveLength(10);
    expect(statuses.filter((status) => status === 429)).toHaveLength(20);
    // The refused guesses were not counted as failures: the window holds the 10 that were checked.
    const [counted] = await queryRows<{ count: number }>(
      t.database.db,
      sql`SELECT cardinality(times) AS count FROM rate_limits WHERE key = ${`login:account:${user.email.toLowerCase()}`}`,
    );
    expect(Number(counted?.count)).toBe(10);
    expect((await login(user.email, PASSWORD)).status).toBe(429);
  });

  it('does not count successful logins against the client address', async () => {
    const throttled = await startApp({ env: { TRUST_PROXY: '127.0.0.1' } });
    try {
      const user = await throttled.given.user();
      const from = { 'x-forwarded-for': '203.0.113.20' };
      for (let attempt = 0; attempt < 51; attempt += 1) {
        const reply = await throttled.http.post('/api/v1/auth/login', {
          body: { email: user.email, password: PASSWORD },
          headers: from,
        });
        expect(reply.status, `login ${attempt + 1}`).toBe(200);
      }
    } finally {
      await throttled.close();
    }
  });

  it('throttles one client address guessing across many accounts', async () => {
    const throttled = await startApp({ env: { TRUST_PROXY: '127.0.0.1' } });
    try {
      const from = { 'x-forwarded-for': '203.0.113.9' };
      for (let attempt = 0; attempt < 50; attempt += 1) {
        const reply = await throttled.http.post('/api/v1/auth/login', {
          body: { email: uniqueEmail('spray'), password: 'wrong password' },
          headers: from,
        });
        expect(reply.status).toBe(401);
      }
      const blocked = await throttled.http.post('/api/v1/auth/login', {
        body: { email: uniqueEmail('spray'), password: 'wrong password' },
        headers: from,
      });
      expect(blocked.body.error.code).toBe('rate_limited');
      const otherAddress = await throttled.http.post('/api/v1/auth/login', {
        body: { email: uniqueEmail('spray'), password: 'wrong password' },
        headers: { 'x-forwarded-for': '203.0.113.10' },
      });
      expect(otherAddress.body.error.code).toBe('invalid_credentials');
    } finally {
      await throttled.close();
    }
  });

  it('ignores X-Forwarded-For unless TRUST_PROXY is set', async () => {
    const user = await t.given.user();
    for (let attempt = 0; attempt < 10; attempt += 1) {
      await login(user.email, 'wrong password', { 'x-forwarded-for': `198.51.100.${attempt}` });
    }
    const rows = await queryRows<{ key: string }>(
      t.database.db,
      sql`SELECT key FROM rate_limits WHERE key LIKE 'login:address:198.51.100.%'`,
    );
    expect(rows).toEqual([]);
  });
});

describe('sessions and revocation', () => {
  it('GET /api/v1/me needs authentication (401 unauthenticated)', async () => {
    for (const headers of [{}, { authorization: 'Bearer rs_sess_forged' }, { authorization: 'Basic abc' }] as Record<
      string,
      string
    >[]) {
      const reply = await t.http.get('/api/v1/me', { headers });
      expect(reply.status).toBe(401);
      expect(reply.body.error.code).toBe('unauthenticated');
    }
  });

  it('GET /api/v1/me answers the contract shape with org null outside any org', async () => {
    const user = await t.given.user();
    const reply = await t.http.get('/api/v1/me', { as: user });
    expect(reply.body).toEqual({
      user: { id: user.id, email: user.email, name: user.name, email_verified: false },
      org: null,
    });
  });

  it('a logged-out session fails on the very next request', async () => {
    const user = await t.given.user();
    expect((await t.http.post('/api/v1/auth/logout', { as: user })).status).toBe(204);
    const after = await t.http.get('/api/v1/me', { as: user });
    expect(after.status).toBe(401);
  });

  it('a deleted API token fails on the very next request; other tokens keep working', async () => {
    const user = await t.given.user();
    const created = await t.http.post('/api/v1/tokens', { as: user, body: { name: 'ci' } });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(String),
      name: 'ci',
      token: expect.stringMatching(/^rs_api_/),
      created_at: expect.any(String),
    });
    const apiCaller = { token: created.body.token };
    expect((await t.http.get('/api/v1/me', { as: apiCaller })).body.user.id).toBe(user.id);

    const listed = await t.http.get('/api/v1/tokens', { as: user });
    expect(listed.body.tokens).toEqual([{ id: created.body.id, name: 'ci', created_at: created.body.created_at }]);

    expect((await t.http.delete(`/api/v1/tokens/${created.body.id}`, { as: user })).status).toBe(204);
    expect((await t.http.get('/api/v1/me', { as: apiCaller })).status).toBe(401);
    expect((await t.http.get('/api/v1/me', { as: user })).status).toBe(200);
  });

  it("cannot delete another user's token (404 token_not_found)", async () => {
    const owner = await t.given.user();
    const stranger = await t.given.user();
    const created = await t.http.post('/api/v1/tokens', { as: owner, body: { name: 'mine' } });
    for (const id of [created.body.id, 'not-a-uuid']) {
      const reply = await t.http.delete(`/api/v1/tokens/${id}`, { as: stranger });
      expect(reply.status).toBe(404);
      expect(reply.body.error.code).toBe('token_not_found');
    }
    expect((await t.http.get('/api/v1/me', { as: { token: created.body.token } })).status).toBe(200);
  });

  it('stores session and API tokens only as hashes', async () => {
    const user = await t.given.user();
    const created = await t.http.post('/api/v1/tokens', { as: user, body: { name: 'hash-check' } });
    const rows = await queryRows<{ found: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS found FROM (
            SELECT token_hash::text AS value FROM sessions UNION ALL SELECT token_hash::text FROM api_tokens
            UNION ALL SELECT encode(token_hash, 'escape') FROM sessions UNION ALL SELECT encode(token_hash, 'escape') FROM api_tokens
          ) AS stored WHERE value LIKE ${`%${user.token.slice(8, 30)}%`} OR value LIKE ${`%${String(created.body.token).slice(7, 30)}%`}`,
    );
    expect(rows[0]?.found).toBe(0);
  });

  it('refuses an API token or a verification token where a session is expected only by kind, never by accident', async () => {
    const user = await t.given.user();
    const reply = await t.http.get('/api/v1/me', { as: { token: user.token.replace('rs_sess_', 'rs_api_') } });
    expect(reply.status).toBe(401);
  });
});

describe('PATCH /api/v1/me', () => {
  it('changes your display name, shown to your org', async () => {
    const org = await t.given.org();
    const reply = await t.http.patch('/api/v1/me', { as: org.owner, body: { name: '  Olivia Q. Owner ' } });
    expect(reply.status).toBe(200);
    expect(reply.body.user.name).toBe('Olivia Q. Owner');
    const members = await t.http.get('/api/v1/org', { as: org.owner });
    expect(members.body.members[0].display_name).toBe('Olivia Q. Owner');
  });

  it('refuses an empty name, other fields and anonymous callers', async () => {
    const user = await t.given.user();
    expect((await t.http.patch('/api/v1/me', { as: user, body: { name: '   ' } })).body.error.code).toBe('invalid_name');
    expect((await t.http.patch('/api/v1/me', { as: user, body: { name: 'X', email: 'a@b.co' } })).status).toBe(400);
    expect((await t.http.patch('/api/v1/me', { body: { name: 'X' } })).status).toBe(401);
    expect((await t.http.get('/api/v1/me', { as: user })).body.user.name).toBe(user.name);
  });
});

describe('cookie sessions and CSRF', () => {
  async function cookieUser() {
    const reply = await signup({ email: uniqueEmail('cookie'), password: PASSWORD, name: 'Cookie' });
    const cookies = Object.fromEntries(reply.cookies.map((cookie) => [cookie.name, cookie.value]));
    return { session: cookies.roster_session as string, csrf: cookies.roster_csrf as string };
  }

  it('authenticates GET requests with the session cookie alone', async () => {
    const { session } = await cookieUser();
    const reply = await t.http.get('/api/v1/me', { headers: { cookie: `roster_session=${session}` } });
    expect(reply.status).toBe(200);
  });

  it('refuses a cookie-authenticated write without a same-origin Origin or CSRF token', async () => {
    const { session } = await cookieUser();
    const reply = await t.http.post('/api/v1/tokens', {
      body: { name: 'x' },
      headers: { cookie: `roster_session=${session}` },
    });
    expect(reply.status).toBe(403);
    expect(reply.body.error.code).toBe('csrf_failed');
    const crossSite = await t.http.post('/api/v1/tokens', {
      body: { name: 'x' },
      headers: { cookie: `roster_session=${session}`, origin: 'https://evil.example' },
    });
    expect(crossSite.body.error.code).toBe('csrf_failed');
  });

  it('refuses a cookie-authenticated write with a form content type even from the same origin', async () => {
    const { session } = await cookieUser();
    const reply = await t.http.post('/api/v1/auth/logout', {
      body: 'a=b',
      headers: {
        cookie: `roster_session=${session}`,
        origin: TEST_PUBLIC_URL,
        'content-type': 'application/x-www-form-urlencoded',
      },
    });
    expect(reply.status).toBe(403);
    expect((await t.http.get('/api/v1/me', { headers: { cookie: `roster_session=${session}` } })).status).toBe(200);
  });

  it('refuses a cross-site cookie write whose path is percent-encoded (/%61pi/ routes to /api/)', async () => {
    const { session } = await cookieUser();
    const crossSite = { cookie: `roster_session=${session}`, origin: 'https://evil.example' };
    const logout = await t.http.post('/%61pi/v1/auth/logout', { headers: crossSite });
    expect([logout.status, logout.body.error?.code]).toEqual([403, 'csrf_failed']);
    const token = await t.http.post('/%61pi/v1/tokens', { body: { name: 'x' }, headers: crossSite });
    expect([token.status, token.body.error?.code]).toEqual([403, 'csrf_failed']);
    expect((await t.http.get('/api/v1/me', { headers: { cookie: `roster_session=${session}` } })).status).toBe(200);
    expect((await t.http.get('/api/v1/tokens', { headers: { cookie: `roster_session=${session}` } })).body.tokens).toEqual([]);
  });

  it('refuses a cross-site cookie write sent with an absolute-form request target', async () => {
    const { session } = await cookieUser();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as AddressInfo;
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        // Written, not ended: a half-closed socket may be closed before the answer (Connection: close ends it).
        socket.write(
          `POST http://127.0.0.1:${port}/api/v1/auth/logout HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
            `Cookie: roster_session=${session}\r\nOrigin: https://evil.example\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
        );
      });
      let received = '';
      socket.on('data', (chunk) => (received += chunk.toString()));
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 403 /);
    expect(reply).toContain('csrf_failed');
    expect((await t.http.get('/api/v1/me', { headers: { cookie: `roster_session=${session}` } })).status).toBe(200);
  });

  it('accepts a cookie-authenticated JSON write with a same-origin Origin or with the CSRF token', async () => {
    const { session, csrf } = await cookieUser();
    const sameOrigin = await t.http.post('/api/v1/tokens', {
      body: { name: 'a' },
      headers: { cookie: `roster_session=${session}`, origin: TEST_PUBLIC_URL },
    });
    expect(sameOrigin.status).toBe(201);
    const withToken = await t.http.post('/api/v1/tokens', {
      body: { name: 'b' },
      headers: { cookie: `roster_session=${session}; roster_csrf=${csrf}`, 'x-csrf-token': csrf },
    });
    expect(withToken.status).toBe(201);
    const wrongToken = await t.http.post('/api/v1/tokens', {
      body: { name: 'c' },
      headers: { cookie: `roster_session=${session}; roster_csrf=${csrf}`, 'x-csrf-token': 'guess' },
    });
    expect(wrongToken.body.error.code).toBe('csrf_failed');
  });

  it("refuses a CSRF cookie and header pair that is not the session's own (regression: any equal pair passed)", async () => {
    const { session, csrf } = await cookieUser();
    const other = await cookieUser();
    // Someone able to plant cookies for the site sets a pair they know, or their own session's token.
    for (const planted of ['planted-by-a-sibling-subdomain', other.csrf]) {
      const reply = await t.http.post('/api/v1/tokens', {
        body: { name: 'planted' },
        headers: { cookie: `roster_session=${session}; roster_csrf=${planted}`, 'x-csrf-token': planted },
      });
      expect([reply.status, reply.body.error?.code]).toEqual([403, 'csrf_failed']);
    }
    // The session's own token works whatever the cookie holds: the header is what is checked.
    const own = await t.http.post('/api/v1/tokens', {
      body: { name: 'own' },
      headers: { cookie: `roster_session=${session}; roster_csrf=x`, 'x-csrf-token': csrf },
    });
    expect(own.status).toBe(201);
  });

  it('accepts bearer writes with no Origin and no CSRF token', async () => {
    const user = await t.given.user();
    expect((await t.http.post('/api/v1/tokens', { as: user, body: { name: 'bearer' } })).status).toBe(201);
  });

  it('refuses a cross-site login (login CSRF)', async () => {
    const user = await t.given.user();
    const reply = await login(user.email, PASSWORD, { origin: 'https://evil.example' });
    expect(reply.status).toBe(403);
    expect(reply.body.error.code).toBe('csrf_failed');
  });

  it('a logged-out cookie session fails on the next request and the cookie is cleared', async () => {
    const { session, csrf } = await cookieUser();
    const headers = {
      cookie: `roster_session=${session}; roster_csrf=${csrf}`,
      'x-csrf-token': csrf,
      'content-type': 'application/json',
    };
    const out = await t.http.post('/api/v1/auth/logout', { headers });
    expect(out.status).toBe(204);
    expect(out.cookies.find((cookie) => cookie.name === 'roster_session')?.value).toBe('');
    expect((await t.http.get('/api/v1/me', { headers: { cookie: `roster_session=${session}` } })).status).toBe(401);
  });
});

describe('errors at the edge', () => {
  it('answers unknown routes with 404 not_found in the error shape', async () => {
    const reply = await t.http.get('/api/v1/nothing-here');
    expect(reply.status).toBe(404);
    expect(reply.body).toEqual({
      error: { code: 'not_found', message: expect.any(String), details: { request_id: expect.any(String) } },
    });
  });

  it('answers malformed JSON with 400 invalid_request', async () => {
    const reply = await t.http.post('/api/v1/auth/login', { body: '{"email":', headers: { 'content-type': 'application/json' } });
    expect(reply.status).toBe(400);
    expect(reply.body.error.code).toBe('invalid_request');
  });

  it('answers an oversized body with 413 payload_too_large', async () => {
    const reply = await t.http.post('/api/v1/auth/login', { body: { email: 'x'.repeat(600 * 1024), password: 'y' } });
    expect(reply.status).toBe(413);
    expect(reply.body.error.code).toBe('payload_too_large');
  });

  it('answers a non-JSON body with 415 unsupported_media_type', async () => {
    const reply = await t.http.post('/api/v1/auth/login', { body: 'email=x', headers: { 'content-type': 'text/plain' } });
    expect(reply.status).toBe(415);
    expect(reply.body.error.code).toBe('unsupported_media_type');
  });

  it('returns a request id on every reply', async () => {
    const reply = await t.http.get('/healthz');
    expect(reply.headers['x-request-id']).toEqual(expect.any(String));
  });
});
