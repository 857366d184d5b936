import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { buildApp } from './app.ts';
import { createTestDatabase, type TestDatabase } from '../../test/kit/engine.ts';
import { createHttp } from '../../test/kit/http.ts';
import { TEST_DATA_DIR } from '../../test/kit/app.ts';
import { PASSWORD, uniqueEmail } from '../../test/kit/given.ts';
import { ERROR_STATUS } from './errors.ts';
import { newToken } from '../core/tokens.ts';
import { insertServiceToken } from '../auth/queries.ts';
import { sql } from 'drizzle-orm';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.close();
});

describe('logs', () => {
  it('carry request ids and never a password, session, API, service or link token', async () => {
    let logged = '';
    const stream = new Writable({
      write(chunk, _encoding, done) {
        logged += chunk.toString();
        done();
      },
    });
    const config = loadConfig({ DATA_DIR: TEST_DATA_DIR, PUBLIC_URL: 'http://roster.test', LOG_LEVEL: 'trace' });
    // A statement that fails with a secret among its parameters, as a failed insert of a password
    // hash or a token hash does.
    const secretParameter = '$argon2id$v=19$m=19456,t=2,p=1$c2VjcmV0c2FsdA$secrethashvalue';
    const app = await buildApp({
      config,
      database,
      logger: { stream },
      extraRoutes: (instance) => {
        instance.get('/test/failing-statement', async () =>
          database.db.execute(sql`SELECT 1 / (length(${secretParameter}) - length(${secretParameter}))`),
        );
      },
    });
    const http = createHttp(app);
    const email = uniqueEmail('logs');
    const signup = await http.post('/api/v1/auth/signup', { body: { email, password: PASSWORD, name: 'Logs' } });
    const token: string = signup.body.token;
    const apiToken = await http.post('/api/v1/tokens', { as: { token }, body: { name: 'x' } });
    await http.get('/api/v1/me', { as: { token }, headers: { cookie: `roster_session=${token}` } });
    await http.get('/api/v1/invites/rs_inv_secretlinktoken123456');
    // The server decodes a percent-encoded token in a path or a query and accepts it.
    const wrongMethod = await http.get('/api/v1/invites/rs%5Finv%5Fencodedlinktoken123456/accept');
    expect(wrongMethod.body.error.message).toBe('No route GET /api/v1/invites/rs_inv_[redacted]/accept.');
    await http.get('/verify-email?token=rs%255Fver%255Fdoublyencodedtoken1234');
    expect((await http.get('/test/failing-statement')).status).toBe(500);
    const service = newToken('service');
    await insertServiceToken(database.db, { name: 'logs', scopes: ['storage:write'], tokenHash: service.hash, now: new Date() });
    await http.get('/api/v1/org/storage', { as: { token: service.token } });
    await http.get(`/api/v1/no-such-route?token=${service.token}`, { as: { token: service.token } });
    await app.close();
    expect(logged).toContain('"reqId"');
    expect(logged).toContain('rs_svc_[redacted]');
    expect(logged).toContain('Failed query: SELECT 1 /');
    for (const secret of [
      PASSWORD,
      token,
      apiToken.body.token,
      'rs_inv_secretlinktoken123456',
      'encodedlinktoken123456',
      'doublyencodedtoken1234',
      service.token,
      'secrethashvalue',
    ]) {
      expect(logged).not.toContain(secret);
    }
  });
});

describe('request ids', () => {
  it('every error reply carries details.request_id, the x-request-id of the reply; every request log line carries reqId', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const config = loadConfig({ DATA_DIR: TEST_DATA_DIR, PUBLIC_URL: 'http://roster.test', LOG_LEVEL: 'trace' });
    const app = await buildApp({ config, database, logger: { stream } });
    const http = createHttp(app);
    const replies = [
      await http.get('/api/v1/no-such-route'), // 404 not_found (no route)
      await http.get('/api/v1/me'), // 401 unauthenticated
      await http.post('/api/v1/auth/signup', { body: { email: 'not-an-email' } }), // 400 validation
      await http.post('/api/v1/auth/signup', { body: 'x', headers: { 'content-type': 'text/plain' } }), // 415
      await http.get('/api/v1/invites/rs_inv_unknown_token_000000'), // an AppError from a service
      await http.get('/api/v1/me', { headers: { 'x-request-id': 'support-case-12345' } }),
    ];
    for (const reply of replies) {
      expect(reply.status, JSON.stringify(reply.body)).toBeGreaterThanOrEqual(400);
      expect(reply.body.error.code).toEqual(expect.any(String));
      expect(reply.body.error.details.request_id).toBe(reply.headers['x-request-id']);
    }
    expect(replies.at(-1)!.body.error.details.request_id).toBe('support-case-12345');
    // Validation issues stay next to the request id.
    expect(replies[2]!.body.error.details.issues).toEqual(expect.any(Array));
    await app.close();
    const requestLines = lines.map((line) => JSON.parse(line) as { reqId?: string; msg?: string });
    expect(requestLines.length).toBeGreaterThan(replies.length);
    for (const line of requestLines.filter((entry) => entry.msg !== 'Server listening')) {
      expect(line.reqId, JSON.stringify(line)).toEqual(expect.any(String));
    }
  });
});

describe('OpenAPI', () => {
  it('publishes every API route with its reply schemas at /api/openapi.json and a browsable page at /api/docs', async () => {
    const config = loadConfig({ DATA_DIR: TEST_DATA_DIR, PUBLIC_URL: 'http://roster.test' });
    const app = await buildApp({ config, database, logger: false });
    const http = createHttp(app);
    const spec = await http.get('/api/openapi.json');
    expect(spec.status).toBe(200);
    expect(spec.body.openapi).toBe('3.1.0');
    const paths = spec.body.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>;
    for (const [path, method] of [
      ['/api/v1/auth/signup', 'post'],
      ['/api/v1/auth/login', 'post'],
      ['/api/v1/me', 'get'],
      ['/api/v1/org', 'get'],
      ['/api/v1/org/members/{user_id}/role', 'put'],
      ['/api/v1/org/transfer-ownership', 'post'],
      ['/api/v1/billing/checkout', 'post'],
    ] as const) {
      expect(paths[path]?.[method], `${method} ${path}`).toBeDefined();
      expect(Object.keys(paths[path]![method]!.responses).length).toBeGreaterThan(1);
    }
    // A body schema that accepts null is an optional body (@fastify/swagger marks every body required).
    expect(spec.body.paths['/api/v1/webhooks/{id}/rotate-secret'].post.requestBody.required).toBe(false);
    expect(spec.body.paths['/api/v1/auth/login'].post.requestBody.required).toBe(true);
    const docs = await http.get('/api/docs/');
    expect(docs.status).toBe(200);
    expect(String(docs.body)).toContain('swagger');
    await app.close();
  });
});

describe('error table', () => {
  it('maps every code to a 4xx or 5xx status', () => {
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      expect(status, code).toBeGreaterThanOrEqual(400);
      expect(code).toMatch(/^[a-z_]+$/);
    }
  });
});

describe('health', () => {
  it('answers /healthz and /readyz when the database is migrated', async () => {
    const app = await buildApp({ config: loadConfig({ DATA_DIR: TEST_DATA_DIR }), database, logger: false });
    const http = createHttp(app);
    expect((await http.get('/healthz')).body).toEqual({ status: 'ok' });
    expect((await http.get('/readyz')).body).toEqual({ status: 'ready' });
    await app.close();
  });
});

describe('shutdown', () => {
  it('serves a request that arrives on a busy connection after close began, with Connection: close', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inFlight = new Promise<void>((resolve) => (entered = resolve));
    let closing!: () => void;
    const closeBegan = new Promise<void>((resolve) => (closing = resolve));
    const app = await buildApp({
      config: loadConfig({ DATA_DIR: TEST_DATA_DIR, PUBLIC_URL: 'http://roster.test' }),
      database,
      logger: false,
      extraRoutes: (instance) => {
        instance.get('/test/held', async () => {
          entered();
          await released;
          return { held: true };
        });
      },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write('GET /test/held HTTP/1.1\r\nHost: roster.test\r\n\r\n');
    await inFlight;
    // Fastify marks its routes closed, then closes the listening server: signal at that point.
    const closeServer = app.server.close.bind(app.server);
    app.server.close = (callback) => {
      closing();
      return closeServer(callback);
    };
    const closed = app.close();
    await closeBegan;
    // The connection is busy, so the server keeps it: the next request on it arrives while closing.
    socket.write('GET /healthz HTTP/1.1\r\nHost: roster.test\r\n\r\n');
    // Fastify's request listener runs first (it decides there whether to serve); then this one.
    await new Promise<void>((resolve) => app.server.once('request', () => resolve()));
    release();
    await ended;
    await closed;
    const replies = received.split(/(?=HTTP\/1\.1 )/);
    expect(replies).toHaveLength(2);
    expect(replies[0]).toMatch(/^HTTP\/1\.1 200/);
    expect(replies[0]).toContain('{"held":true}');
    expect(replies[1]).toMatch(/^HTTP\/1\.1 200/);
    expect(replies[1]).toMatch(/connection: close/i);
    expect(replies[1]).toContain('{"status":"ok"}');
  });
});

describe('the dashboard', () => {
  it('is served once built, also when the build finishes after the server started; API paths stay JSON', async () => {
    // Not there at start (`start --no-build` on a fresh clone), built later.
    const parent = mkdtempSync(join(tmpdir(), 'roster-web-'));
    const webDist = join(parent, 'dist');
    const app = await buildApp({
      config: loadConfig({ DATA_DIR: TEST_DATA_DIR, PUBLIC_URL: 'http://roster.test' }),
      database,
      logger: false,
      webDist,
    });
    try {
      const http = createHttp(app);
      const before = await http.get('/settings/billing');
      expect([before.status, before.body.error?.code]).toEqual([404, 'not_found']);

      mkdirSync(join(webDist, 'assets'), { recursive: true });
      writeFileSync(join(webDist, 'index.html'), '<!doctype html><title>Roster</title>');
      writeFileSync(join(webDist, 'assets', 'app.js'), 'console.log(1);');
      for (const path of ['/', '/settings/billing', '/invite/rs_inv_x']) {
        const page = await app.inject({ method: 'GET', url: path });
        expect([path, page.statusCode, page.headers['content-type']]).toEqual([path, 200, expect.stringContaining('text/html')]);
        expect(page.body).toContain('<title>Roster</title>');
      }
      expect((await app.inject({ method: 'GET', url: '/assets/app.js' })).body).toBe('console.log(1);');
      const api = await http.get('/api/v1/no-such-route');
      expect([api.status, api.body.error.code]).toEqual([404, 'not_found']);
    } finally {
      await app.close();
      rmSync(parent, { recursive: true, force: true });
    }
  });
});
