import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../../test/kit/app.ts';

function directives(header: unknown): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const part of String(header ?? '').split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) map.set(name, values);
  }
  return map;
}

describe('security headers', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it.each(['/', '/invite/rs_inv_abc', '/api/v1/billing/plans', '/api/v1/me', '/api/v1/no-such-route'])(
    'sends CSP, no framing, no referrer and nosniff on %s',
    async (path) => {
      const reply = await t.http.get(path);
      const csp = directives(reply.headers['content-security-policy']);
      expect(csp.get('default-src')).toEqual(["'self'"]);
      expect(csp.get('script-src')).toEqual(["'self'"]);
      expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
      expect(csp.get('object-src')).toEqual(["'none'"]);
      expect(reply.headers['x-frame-options']).toBe('DENY');
      expect(reply.headers['referrer-policy']).toBe('no-referrer');
      expect(reply.headers['x-content-type-options']).toBe('nosniff');
      // Plain-http PUBLIC_URL: HSTS would lock a development host out of itself.
      expect(reply.headers['strict-transport-security']).toBeUndefined();
    },
  );

  it('keeps /api/docs working under the same policy (its scripts are files, none inline)', async () => {
    const page = await t.http.get('/api/docs');
    expect(page.status).toBe(200);
    const csp = directives(page.headers['content-security-policy']);
    expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
    expect(csp.get('script-src')).toEqual(["'self'"]);
    expect(String(page.body)).not.toMatch(/<script>(?!\s*<\/script>)[^<]/);
    expect(String(page.body)).toContain('swagger-initializer.js');
    const initializer = await t.http.get('/api/docs/static/swagger-initializer.js');
    expect(initializer.status).toBe(200);
  });
});

describe('security headers behind https', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ env: { PUBLIC_URL: 'https://roster.example.com' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('adds HSTS and upgrade-insecure-requests when PUBLIC_URL is https', async () => {
    const reply = await t.http.get('/api/v1/billing/plans');
    expect(reply.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    expect(directives(reply.headers['content-security-policy']).has('upgrade-insecure-requests')).toBe(true);
  });
});
