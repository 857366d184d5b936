import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiRoutes, type ApiRoute } from '../../web/src/api/routes.ts';
import { startApp, type TestApp } from '../../test/kit/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(async () => {
  await t.close();
});

describe("the dashboard's API client", () => {
  it('calls only routes that the server publishes in its OpenAPI', async () => {
    const spec = await t.http.get('/api/openapi.json');
    const paths = spec.body.paths as Record<string, Record<string, unknown>>;
    const routes: readonly ApiRoute[] = apiRoutes;
    const missing = routes
      .filter((route) => !route.devOnly)
      .filter((route) => !paths[route.path]?.[route.method])
      .map((route) => `${route.method.toUpperCase()} ${route.path}`);
    expect(missing).toEqual([]);
  });
});
