import { connect, type AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../db/client.ts';
import { startApp, type TestApp } from '../../test/kit/app.ts';
import { uniqueEmail } from '../../test/kit/given.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(async () => {
  await t.close();
});

async function orgName(orgId: string): Promise<string | undefined> {
  return (await queryRows<{ name: string }>(t.database.db, sql`SELECT name FROM orgs WHERE id = ${orgId}`))[0]?.name;
}

describe('text PostgreSQL cannot store (U+0000, a lone surrogate half)', () => {
  it('is refused with 400 invalid_request naming where it is, in any string or key of a body, and changes nothing', async () => {
    const org = await t.given.org();
    const before = await orgName(org.id);
    // Each is valid JSON: the escapes reach the server as written.
    for (const [path, body, where] of [
      ['/api/v1/org', '{"name":"a\\u0000b"}', '/name'],
      ['/api/v1/org', '{"name":"\\ud800"}', '/name'],
      ['/api/v1/org', '{"name":"x\\udc00"}', '/name'],
    ] as const) {
      const reply = await t.http.patch(path, { as: org.owner, body });
      expect(reply.status, body).toBe(400);
      expect(reply.body.error.code).toBe('invalid_request');
      expect(reply.body.error.details.issues[0].path).toBe(where);
    }
    expect(await orgName(org.id)).toBe(before);

    const token = await t.http.post('/api/v1/tokens', { as: org.owner, body: '{"name":"a\\u0000b"}' });
    expect(token.status).toBe(400);
    const project = await t.http.post('/api/v1/org/projects', {
      as: org.owner,
      body: '{"name":"ok","settings":{"k\\u0000":1}}',
    });
    expect(project.status).toBe(400);
    expect(project.body.error.details.issues[0].path).toBe('/settings');
    const usage = await t.http.post('/api/v1/usage', {
      as: org.owner,
      body: '{"activity":"a","quantity":1,"key":"a\\u0000b"}',
    });
    expect(usage.status).toBe(400);
    const recorded = await queryRows<{ count: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS count FROM usage_activity WHERE org_id = ${org.id}`,
    );
    expect(recorded[0]!.count).toBe(0);
    const tokens = await t.http.get('/api/v1/tokens', { as: org.owner });
    expect(tokens.body.tokens).toEqual([]);
  });

  it('keeps a surrogate pair (an emoji written as two escapes) and an escaped backslash-u', async () => {
    const org = await t.given.org();
    const reply = await t.http.patch('/api/v1/org', { as: org.owner, body: '{"name":"Acme \\ud83d\\ude80 \\\\u0000"}' });
    expect(reply.status).toBe(200);
    expect(reply.body.org.name).toBe('Acme \u{1F680} \\u0000');
  });

  it('is refused as %00 in a query, before any statement runs', async () => {
    const org = await t.given.org();
    // Also through a percent-encoded path that routes to the same API route.
    for (const path of ['/api/v1/org/members?q=%00', '/api/v1/org/audit?actor=a%00b', '/%61pi/v1/org/audit?actor=a%00b']) {
      const reply = await t.http.get(path, { as: org.owner });
      expect(reply.status, path).toBe(400);
      expect(reply.body.error.code).toBe('invalid_request');
    }
  });
});

describe('query parameters', () => {
  it('are refused when the route does not know them (400 invalid_request naming them), so a misspelled filter never lists everything', async () => {
    const org = await t.given.org({ members: 2 });
    const lists = ['/api/v1/org/members', '/api/v1/org/projects', '/api/v1/org/audit', '/api/v1/org/usage', '/api/dev/mailbox'];
    for (const path of lists) {
      expect((await t.http.get(path, { as: org.owner, query: { limit: '1' } })).status, path).toBe(200);
      const refused = await t.http.get(path, { as: org.owner, query: { limit: '1', stauts: 'disabled' } });
      expect([refused.status, refused.body.error?.code], path).toEqual([400, 'invalid_request']);
      expect(refused.body.error.message, path).toContain('stauts');
    }
  });
});

describe('a route that takes no body', () => {
  it('refuses a body with fields (400 invalid_request naming them) and changes nothing; accepts none or {}', async () => {
    const org = await t.given.org({ members: 2 });
    const [leaving, staying] = org.members;
    const refused = await t.http.post('/api/v1/org/leave', { as: leaving!, body: { junk: 1 } });
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('invalid_request');
    expect(refused.body.error.message).toContain('"junk"');
    expect(refused.body.error.details.issues).toEqual([expect.objectContaining({ path: '/junk' })]);
    for (const body of ['[1]', '"text"', '3']) {
      expect((await t.http.post('/api/v1/org/leave', { as: leaving!, body })).status, body).toBe(400);
    }
    const me = await t.http.get('/api/v1/me', { as: leaving! });
    expect(me.body.org?.id).toBe(org.id);

    expect((await t.http.post('/api/v1/org/leave', { as: leaving!, body: {} })).status).toBe(204);
    expect((await t.http.post('/api/v1/org/leave', { as: staying! })).status).toBe(204);
  });

  it('does not stand in for a missing route: a body sent where no route is answers 404 not_found', async () => {
    const org = await t.given.org();
    // GET /org/invites exists, POST does not (single invitations are POST /org/invite).
    const reply = await t.http.post('/api/v1/org/invites', { as: org.owner, body: { email: 'a@example.com' } });
    expect(reply.status).toBe(404);
    expect(reply.body.error.code).toBe('not_found');
  });
});

describe('errors raised before routing', () => {
  it('answer a URL that is not valid percent-encoding in the API error shape', async () => {
    const reply = await t.http.get('/api/v1/org/projects/%ff');
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({ error: expect.objectContaining({ code: 'invalid_request', message: expect.any(String) }) });
  });

  it('answer headers too large for the HTTP parser with 431 request_headers_too_large in the API error shape', async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as AddressInfo;
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(`GET /api/v1/me HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`);
      });
      let received = '';
      socket.on('data', (chunk) => (received += chunk.toString()));
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 431 /);
    const body = JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4)) as { error: { code: string } };
    expect(body.error.code).toBe('request_headers_too_large');
  });
});

describe('names', () => {
  it('are refused with a line break or another control character, wherever a name is given, and nothing changes', async () => {
    const forged = 'Eve\r\nBcc: victim@example.com';
    const signup = await t.http.post('/api/v1/auth/signup', {
      body: { email: uniqueEmail('forged'), password: 'correct horse battery staple', name: forged },
    });
    expect([signup.status, signup.body.error.code]).toEqual([400, 'invalid_name']);
    const org = await t.given.org();
    const owner = org.owner;
    const attempts = [
      await t.http.patch('/api/v1/me', { as: owner, body: { name: forged } }),
      await t.http.patch('/api/v1/org', { as: owner, body: { name: 'Acme\u001b[31m' } }),
      await t.http.post('/api/v1/tokens', { as: owner, body: { name: 'ci\nroot' } }),
    ];
    expect(attempts.map((reply) => [reply.status, reply.body.error?.code])).toEqual(Array(3).fill([400, 'invalid_name']));
    const project = await t.http.post('/api/v1/org/projects', { as: owner, body: { name: 'Apollo\u2028Gemini' } });
    expect([project.status, project.body.error?.code]).toEqual([400, 'invalid_request']);
    const me = await t.http.get('/api/v1/me', { as: owner });
    expect(me.body.user.name).toBe(owner.name);
    expect(me.body.org.name).not.toContain('\u001b');
    expect((await t.http.get('/api/v1/tokens', { as: owner })).body.tokens).toEqual([]);
    // A name with letters of any script, punctuation and inner spaces is fine.
    expect((await t.http.patch('/api/v1/me', { as: owner, body: { name: '  Zoë O’Brien-Łukasz 李 ' } })).body.user.name).toBe(
      'Zoë O’Brien-Łukasz 李',
    );
  });
});
