import { describe, expect, it } from 'vitest';
import { mockFetch } from '../test/render';
import * as api from './client';
import { ApiError, errorMessage } from './errors';
import { apiRoutes } from './routes';
import clientSource from './client.ts?raw';

describe('API client', () => {
  it('sends JSON, the CSRF token and an empty body on writes without a payload', async () => {
    document.cookie = 'roster_csrf=token%2Fwith%2Fslashes';
    const requests = mockFetch(() => ({ status: 204 }));
    await api.revokeInvite('inv 1');

    expect(requests).toEqual([
      {
        method: 'DELETE',
        url: '/api/v1/org/invites/inv%201',
        headers: { Accept: 'application/json', 'Content-Type': 'application/json', 'X-CSRF-Token': 'token/with/slashes' },
        body: {},
      },
    ]);
  });

  it('sends no body and no CSRF header on reads, and builds the query string', async () => {
    const requests = mockFetch(() => ({ status: 200, body: { entries: [], next_cursor: null } }));
    await api.getAuditLog({ cursor: 'abc', action: '', actor: 'ann@example.com' });

    expect(requests[0]).toEqual({
      method: 'GET',
      url: '/api/v1/org/audit?cursor=abc&actor=ann%40example.com',
      headers: { Accept: 'application/json' },
      body: undefined,
    });
  });

  it('turns an error body into an ApiError with its code, message and details', async () => {
    mockFetch(() => ({
      status: 409,
      body: { error: { code: 'seat_limit', message: 'All 5 seats are in use.', details: { limit: 5 } } },
    }));
    const failure = await api.inviteMember({ email: 'a@example.com', role: 'member' }).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(ApiError);
    expect(failure).toMatchObject({ status: 409, code: 'seat_limit', details: { limit: 5 } });
    expect(errorMessage(failure)).toBe('All 5 seats are in use.');
  });

  it('tells people to contact their admin on a usage limit', () => {
    const error = new ApiError({ status: 429, code: 'usage_limit_exceeded', message: '' });
    expect(errorMessage(error)).toMatch(/Contact your organization administrator/);
  });

  it('lists each route once, as OpenAPI-style templates under /api', () => {
    const keys = apiRoutes.map((route) => `${route.method} ${route.path}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const route of apiRoutes) expect(route.path).toMatch(/^\/api\/(v1|dev)\/[a-z0-9/{}_-]+$/);
  });

  it('lists exactly the routes that client.ts calls (the server checks this list against its OpenAPI)', () => {
    const calls = [...clientSource.matchAll(/roster\.(GET|POST|PUT|PATCH|DELETE)\('([^']+)'/g)].map(
      ([, method, path]) => `${method!.toLowerCase()} ${path}`,
    );
    expect(calls.length).toBeGreaterThan(40);
    expect(new Set(calls)).toEqual(new Set(apiRoutes.map((route) => `${route.method} ${route.path}`)));
  });
});
