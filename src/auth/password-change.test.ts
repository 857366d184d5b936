import { outboxKey, unsealText } from '../mail/sealing.ts';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../db/client.ts';
import { startApp, TEST_PUBLIC_URL, type TestApp } from '../../test/kit/app.ts';
import { PASSWORD } from '../../test/kit/given.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(async () => {
  await t.close();
});

const NEW_PASSWORD = 'a brand new passphrase 42';
const change = (as: { token: string }, body: Record<string, unknown>) => t.http.post('/api/v1/auth/password', { as, body });
const login = (email: string, password: string) => t.http.post('/api/v1/auth/login', { body: { email, password } });
const bearer = (token: string) => ({ as: { token } });
const meStatus = async (token: string) => (await t.http.get('/api/v1/me', bearer(token))).status;

async function mailsTo(email: string, kind: string): Promise<string[]> {
  const rows = await queryRows<{ text_body: string }>(
    t.database.db,
    sql`SELECT text_body FROM mail_outbox WHERE lower(to_address) = lower(${email}) AND kind = ${kind} ORDER BY created_at, id`,
  );
  const key = await outboxKey(t.config, t.database.db); // the outbox keeps tokens sealed (src/mail/sealing.ts)
  return rows.map((row) => unsealText(key, row.text_body));
}

describe('POST /api/v1/auth/password', () => {
  it('sets the new password, keeps the asking session, signs out every other one, keeps API tokens and mails a notice', async () => {
    const user = await t.given.user();
    const otherSession = (await login(user.email, PASSWORD)).body.token as string;
    const apiToken = (await t.http.post('/api/v1/tokens', { as: user, body: { name: 'ci' } })).body.token as string;
    expect(await meStatus(otherSession)).toBe(200);

    const reply = await change(user, { current_password: PASSWORD, new_password: NEW_PASSWORD });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(reply.body).toEqual({ user: { id: user.id, email: user.email, name: expect.any(String), email_verified: false } });

    expect(await meStatus(user.token)).toBe(200);
    expect(await meStatus(otherSession)).toBe(401);
    expect(await meStatus(apiToken)).toBe(200);
    expect((await login(user.email, PASSWORD)).status).toBe(401);
    expect((await login(user.email, NEW_PASSWORD)).status).toBe(200);
    const [notice, ...more] = await mailsTo(user.email, 'password_changed');
    expect(more).toEqual([]);
    expect(notice).toContain(`${TEST_PUBLIC_URL}/forgot-password`);
    expect(notice).not.toContain(NEW_PASSWORD);
  });

  it('ends the reset links mailed before the change', async () => {
    const user = await t.given.user();
    expect((await t.http.post('/api/v1/auth/password-reset', { body: { email: user.email } })).status).toBe(202);
    const [resetMail] = await mailsTo(user.email, 'password_reset');
    const token = /token=(rs_rst_[A-Za-z0-9_-]+)/.exec(resetMail ?? '')?.[1];
    expect(token).toMatch(/^rs_rst_/);
    expect((await change(user, { current_password: PASSWORD, new_password: NEW_PASSWORD })).status).toBe(200);
    const reset = await t.http.post('/api/v1/auth/password-reset/confirm', { body: { token, password: `${NEW_PASSWORD} 2` } });
    expect([reset.status, reset.body.error.code]).toEqual([400, 'invalid_token']);
    expect((await login(user.email, NEW_PASSWORD)).status).toBe(200);
  });

  it('through an API token, keeps that token and signs out every session', async () => {
    const user = await t.given.user();
    const apiToken = (await t.http.post('/api/v1/tokens', { as: user, body: { name: 'script' } })).body.token as string;
    const reply = await change({ token: apiToken }, { current_password: PASSWORD, new_password: NEW_PASSWORD });
    expect(reply.status).toBe(200);
    expect(await meStatus(apiToken)).toBe(200);
    expect(await meStatus(user.token)).toBe(401);
  });

  it('refuses a wrong current password with 403 wrong_password and changes nothing', async () => {
    const user = await t.given.user();
    const otherSession = (await login(user.email, PASSWORD)).body.token as string;
    const reply = await change(user, { current_password: 'not the password', new_password: NEW_PASSWORD });
    expect([reply.status, reply.body.error.code]).toEqual([403, 'wrong_password']);
    expect(await meStatus(otherSession)).toBe(200);
    expect((await login(user.email, PASSWORD)).status).toBe(200);
    expect(await mailsTo(user.email, 'password_changed')).toEqual([]);
  });

  it('refuses a weak new password, unknown fields and anonymous callers, changing nothing', async () => {
    const user = await t.given.user();
    const weak = await change(user, { current_password: PASSWORD, new_password: 'short' });
    expect([weak.status, weak.body.error.code]).toEqual([400, 'weak_password']);
    const extra = await change(user, { current_password: PASSWORD, new_password: NEW_PASSWORD, user_id: user.id });
    expect([extra.status, extra.body.error.code]).toEqual([400, 'invalid_request']);
    const anonymous = await t.http.post('/api/v1/auth/password', {
      body: { current_password: PASSWORD, new_password: NEW_PASSWORD },
    });
    expect([anonymous.status, anonymous.body.error.code]).toEqual([401, 'unauthenticated']);
    expect((await login(user.email, PASSWORD)).status).toBe(200);
  });

  it('checks at most 10 wrong passwords in 15 minutes, also sent at once, then 429 rate_limited even for the right one', async () => {
    const user = await t.given.user();
    const replies = await Promise.all(
      Array.from({ length: 14 }, () => change(user, { current_password: 'a wrong guess', new_password: NEW_PASSWORD })),
    );
    expect(replies.map((reply) => reply.status).sort()).toEqual([...Array(10).fill(403), ...Array(4).fill(429)]);
    const right = await change(user, { current_password: PASSWORD, new_password: NEW_PASSWORD });
    expect([right.status, right.body.error.code]).toEqual([429, 'rate_limited']);
    expect(Number(right.headers['retry-after'])).toBeGreaterThan(0);
    expect((await login(user.email, PASSWORD)).status).toBe(200);
    t.clock.advance(15 * 60 + 1);
    try {
      expect((await change(user, { current_password: PASSWORD, new_password: NEW_PASSWORD })).status).toBe(200);
    } finally {
      t.clock.advance(-(15 * 60 + 1));
    }
  });

  it('lets one of two concurrent changes from the same password win; the other is wrong_password', async () => {
    const user = await t.given.user();
    const replies = await Promise.all(
      ['first', 'second'].map((word) => change(user, { current_password: PASSWORD, new_password: `${NEW_PASSWORD} ${word}` })),
    );
    expect(replies.map((reply) => reply.status).sort()).toEqual([200, 403]);
    const winner = replies[0]!.status === 200 ? 'first' : 'second';
    expect((await login(user.email, `${NEW_PASSWORD} ${winner}`)).status).toBe(200);
    expect(await mailsTo(user.email, 'password_changed')).toHaveLength(1);
  });
});
