import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorCtx, startApp, type TestApp } from '../../test/kit/app.ts';
import { createServiceToken } from '../admin/service.ts';
import { SERVICE_SCOPES, type ServiceScope } from '../core/domain.ts';
import { PERMISSIONS } from '../auth/permissions.ts';

/**
 * THE scope matrix: the routes a service token may call, and the one scope that opens each. Every
 * other /api route of the app must refuse every service token with 403. A route added anywhere is
 * covered at once (the routes come from the app's route table): one that should serve service
 * tokens must be added here, and one that serves them without being listed here fails.
 */
const SERVICE_ROUTES: Record<string, ServiceScope> = {
  'GET /api/v1/authz/check': 'authz:read',
  'GET /api/v1/users/:user_id/membership': 'authz:read',
  'PUT /api/v1/org/storage': 'storage:write',
  'POST /api/v1/org/storage/reserve': 'storage:write',
  'POST /api/v1/usage': 'usage:write',
  'POST /api/v1/webhooks': 'webhooks:manage',
  'GET /api/v1/webhooks': 'webhooks:manage',
  'DELETE /api/v1/webhooks/:id': 'webhooks:manage',
  'POST /api/v1/webhooks/:id/rotate-secret': 'webhooks:manage',
  'GET /api/v1/webhooks/:id/deliveries': 'webhooks:manage',
};

const NIL_ID = '00000000-0000-4000-8000-000000000000';

let t: TestApp;
/**
 * One token per scope and one with every scope. A token with no scope cannot exist (the CLI and a
 * CHECK constraint refuse it); the tokens whose scope opens no route yet stand in for it.
 */
const tokens: { label: string; scopes: readonly ServiceScope[]; token: string }[] = [];

beforeAll(async () => {
  t = await startApp();
  for (const scope of SERVICE_SCOPES) {
    const { token } = await createServiceToken(operatorCtx(t), { name: scope, scopes: scope });
    tokens.push({ label: scope, scopes: [scope], token });
  }
  const all = await createServiceToken(operatorCtx(t), { name: 'all', scopes: SERVICE_SCOPES.join(',') });
  tokens.push({ label: 'every scope', scopes: SERVICE_SCOPES, token: all.token });
});
afterAll(async () => {
  await t.close();
});

/** The app's /api routes, HEAD aside (Fastify derives it from GET). */
function apiRoutes(): { key: string; method: string; url: string }[] {
  return t.app.apiRoutes
    .filter((route) => route.method !== 'HEAD')
    .map((route) => ({ key: `${route.method} ${route.url}`, method: route.method, url: route.url }));
}

/** A concrete path for a route pattern: every parameter a well-formed id, every wildcard a name. */
function concrete(url: string): string {
  return url.replace(/:[A-Za-z_]+/g, NIL_ID).replace(/\*$/, 'index.html');
}

describe('the service-token scope matrix', () => {
  it('reads the whole route table, and every listed route exists', () => {
    const keys = apiRoutes().map((route) => route.key);
    expect(keys.length).toBeGreaterThan(40);
    for (const key of Object.keys(SERVICE_ROUTES)) expect(keys, key).toContain(key);
    // Every /api route the OpenAPI publishes is in the table the matrix walks (health checks are
    // outside /api and take no credential).
    return t.http.get('/api/openapi.json').then(({ body }) => {
      for (const [path, operations] of Object.entries(body.paths as Record<string, object>)) {
        if (!path.startsWith('/api/')) continue;
        for (const method of Object.keys(operations)) {
          const key = `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`;
          expect(keys, key).toContain(key);
        }
      }
    });
  });

  it('opens each route only to a token holding its scope, and refuses every other route (403)', async () => {
    const failures: string[] = [];
    for (const route of apiRoutes()) {
      const scope = SERVICE_ROUTES[route.key];
      for (const token of tokens) {
        const reply = await t.http.request(route.method, concrete(route.url), { as: token });
        const opens = scope !== undefined && token.scopes.includes(scope);
        const got = `${reply.status} ${reply.body?.error?.code ?? ''}`.trim();
        if (opens ? reply.status === 403 || reply.status === 401 : got !== '403 forbidden') {
          failures.push(`${route.key} with ${token.label}: ${got} (expected ${opens ? 'not 401/403' : '403 forbidden'})`);
        } else if (!opens && scope && !String(reply.body.error.message).includes(scope)) {
          failures.push(`${route.key} with ${token.label}: the refusal does not name ${scope}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('publishes the scope of exactly the listed routes in the OpenAPI', async () => {
    const { body } = await t.http.get('/api/openapi.json');
    const published: Record<string, string[]> = {};
    for (const [path, operations] of Object.entries(body.paths as Record<string, Record<string, any>>)) {
      for (const [method, operation] of Object.entries(operations)) {
        const scopes = (operation.security ?? [])
          .flatMap((requirement: Record<string, string[]>) => requirement.service_token ?? [])
          .sort();
        if (scopes.length > 0) published[`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`] = scopes;
      }
    }
    expect(published).toEqual(Object.fromEntries(Object.entries(SERVICE_ROUTES).map(([key, scope]) => [key, [scope]])));
  });

  it('offers only the service token where no member may act (regression: sessions were offered on webhooks and storage totals)', async () => {
    const { body } = await t.http.get('/api/openapi.json');
    const schemes = (path: string, method: string) =>
      (body.paths[path][method].security as Record<string, string[]>[]).map((requirement) => Object.keys(requirement)[0]);
    for (const [path, method] of [
      ['/api/v1/webhooks', 'post'],
      ['/api/v1/webhooks/{id}', 'delete'],
      ['/api/v1/org/storage', 'put'],
    ] as const) {
      expect(schemes(path, method), `${method} ${path}`).toEqual(['service_token']);
    }
    expect(schemes('/api/v1/usage', 'post')).toEqual(['bearer', 'cookie', 'service_token']);
  });

  it('refuses a service token on every route its scopes do not name before it reads the body (regression: POST /usage answered 413, 415 or 400 first)', async () => {
    const oversized = JSON.stringify({ activity: 'x'.repeat(600 * 1024), quantity: 1 });
    const bodies = [
      {
        label: 'not JSON',
        type: 'text/plain',
        payload: '{"activity":"api.call","quantity":1}',
        refused: '415 unsupported_media_type',
      },
      { label: 'broken JSON', type: 'application/json', payload: '{"activity":', refused: '400 invalid_request' },
      { label: 'over the size limit', type: 'application/json', payload: oversized, refused: '413 payload_too_large' },
    ];
    const failures: string[] = [];
    for (const route of apiRoutes()) {
      if (route.method === 'GET') continue;
      const scope = SERVICE_ROUTES[route.key];
      for (const token of tokens) {
        // A token that holds the scope gets the body's own refusal.
        const opens = scope !== undefined && token.scopes.includes(scope);
        for (const body of bodies) {
          const reply = await t.app.inject({
            method: route.method as 'POST',
            url: concrete(route.url),
            headers: { authorization: `Bearer ${token.token}`, 'content-type': body.type },
            payload: body.payload,
          });
          const got = `${reply.statusCode} ${reply.json().error?.code ?? ''}`;
          const expected = opens ? body.refused : '403 forbidden';
          if (got !== expected) failures.push(`${route.key} with ${token.label}, ${body.label}: ${got} (expected ${expected})`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('refuses a signed-in user on every route only service tokens may use before it reads the body (regression: 400 for a bad body)', async () => {
    const org = await t.given.org();
    const serviceOnly = apiRoutes().filter((route) => {
      const action = t.app.apiRoutes.find((api) => api.method === route.method && api.url === route.url)?.serviceAction;
      return action !== undefined && PERMISSIONS[action].length === 0;
    });
    expect(serviceOnly.map((route) => route.key)).toContain('PUT /api/v1/org/storage');
    for (const route of serviceOnly) {
      for (const body of [undefined, { used_bytes: 5 }, { nonsense: true }]) {
        const reply = await t.http.request(route.method, concrete(route.url), { as: org.owner, body });
        expect([reply.status, reply.body.error?.code], `${route.key} ${JSON.stringify(body)}`).toEqual([403, 'forbidden']);
      }
    }
  });
});

describe('the OpenAPI of request bodies', () => {
  it('lists 413 and 415 on every route that reads a body, as the server answers them', async () => {
    const { body } = await t.http.get('/api/openapi.json');
    const missing: string[] = [];
    for (const [path, operations] of Object.entries(body.paths as Record<string, Record<string, any>>)) {
      for (const [method, operation] of Object.entries(operations)) {
        if (method === 'get' || method === 'head') continue;
        for (const status of ['413', '415']) if (!operation.responses?.[status]) missing.push(`${method} ${path} ${status}`);
      }
    }
    expect(missing).toEqual([]);
    const org = await t.given.org();
    const plain = await t.app.inject({
      method: 'PATCH',
      url: '/api/v1/org',
      headers: { authorization: `Bearer ${org.owner.token}`, 'content-type': 'text/plain' },
      payload: '{"name":"C"}',
    });
    expect([plain.statusCode, plain.json().error.code]).toEqual([415, 'unsupported_media_type']);
  });
});
