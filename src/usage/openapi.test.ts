import { afterAll, beforeAll, expect, it } from 'vitest';
import { startApp, type TestApp } from '../../test/kit/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(async () => {
  await t.close();
});

it('documents the usage, disable and audit routes in the OpenAPI', async () => {
  const reply = await t.http.get('/api/openapi.json');
  expect(reply.status).toBe(200);
  const paths = reply.body.paths;
  expect(Object.keys(paths['/api/v1/usage'])).toEqual(expect.arrayContaining(['get', 'post']));
  expect(paths['/api/v1/usage'].post.responses).toHaveProperty('429');
  expect(paths['/api/v1/org/usage'].get).toBeDefined();
  expect(paths['/api/v1/org/members/{user_id}/usage-limit'].put.responses).toHaveProperty('400');
  expect(paths['/api/v1/org/members/{user_id}/disable'].post.responses).toHaveProperty('403');
  expect(paths['/api/v1/org/audit'].get.parameters.map((parameter: any) => parameter.name)).toEqual(
    expect.arrayContaining(['cursor', 'limit', 'action', 'actor']),
  );
});
