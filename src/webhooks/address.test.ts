import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorCtx, startApp, type TestApp } from '../../test/kit/app.ts';
import { createServiceToken } from '../admin/service.ts';
import { isPublicAddress } from './address.ts';

// Which webhook receivers an endpoint may name (SSRF). Delivery-time checks of the address actually
// connected to are in consumer.test.ts.

const KEY = Buffer.alloc(32, 5).toString('base64');
const PRODUCTION = { NODE_ENV: 'production', BILLING: 'local', WEBHOOK_SECRET_KEY: KEY };

interface Server {
  app: TestApp;
  token: string;
}
const servers: Server[] = [];
async function server(env: Record<string, string>): Promise<Server> {
  const app = await startApp({ env });
  const { token } = await createServiceToken(operatorCtx(app), { name: 'host', scopes: 'webhooks:manage' });
  const started = { app, token };
  servers.push(started);
  return started;
}
const addEndpoint = ({ app, token }: Server, url: string) =>
  app.http.post('/api/v1/webhooks', { as: { token }, body: { url, events: ['*'] } });

let production: Server;
let productionAllowingPrivate: Server;
let development: Server;
beforeAll(async () => {
  [production, productionAllowingPrivate, development] = await Promise.all([
    server(PRODUCTION),
    server({ ...PRODUCTION, WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' }),
    server({ WEBHOOK_SECRET_KEY: KEY }),
  ]);
});
afterAll(async () => {
  await Promise.all(servers.map(({ app }) => app.close()));
});

// Every one of these was accepted in production and really delivered to (security review, ssrf*.py).
const NOT_PUBLIC = [
  'https://127.0.0.1/hooks',
  'https://[::1]/hooks',
  'https://169.254.169.254/latest/meta-data/',
  'https://metadata.google.internal/',
  'https://10.1.2.3/hooks',
  'https://172.16.0.1/hooks',
  'https://172.31.255.254/hooks',
  'https://192.168.1.1/hooks',
  'https://100.64.0.1/hooks',
  'https://[fc00::1]/hooks',
  'https://[fd12:3456::1]/hooks',
  'https://[fe80::1]/hooks',
  'https://[::ffff:127.0.0.1]/hooks',
  'https://[::ffff:10.0.0.1]/hooks',
  'https://[64:ff9b::7f00:1]/hooks',
  'https://[::127.0.0.1]/hooks',
  'https://2130706433/hooks',
  'https://0x7f000001/hooks',
  'https://0177.0.0.1/hooks',
  'https://127.1/hooks',
  'https://0.0.0.0/hooks',
  'https://[::]/hooks',
  'https://224.0.0.1/hooks',
  'https://255.255.255.255/hooks',
  'https://192.0.2.10/hooks',
  'https://[2001:db8::1]/hooks',
  'https://localhost/hooks',
  'https://localhost./hooks',
  'https://LOCALHOST:8443/hooks',
  'https://api.localhost/hooks',
  'https://printer.local/hooks',
];

describe('adding a webhook endpoint in production', () => {
  it.each(NOT_PUBLIC)('refuses %s with 400 invalid_webhook_url (regression: accepted, then delivered to)', async (url) => {
    const reply = await addEndpoint(production, url);
    expect(reply.status, JSON.stringify(reply.body)).toBe(400);
    expect(reply.body.error.code).toBe('invalid_webhook_url');
    expect(reply.body.error.message).toMatch(/public address/);
  });

  it('accepts private receivers only with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true, and still over https only', async () => {
    for (const url of ['https://10.1.2.3/hooks', 'https://localhost:8443/hooks', 'https://[fd12:3456::1]/hooks']) {
      expect((await addEndpoint(production, url)).status, url).toBe(400);
      const reply = await addEndpoint(productionAllowingPrivate, url);
      expect(reply.status, `${url}: ${JSON.stringify(reply.body)}`).toBe(201);
    }
    const plain = await addEndpoint(productionAllowingPrivate, 'http://10.1.2.3/hooks');
    expect(plain.body.error.code).toBe('invalid_webhook_url');
  });
});

describe('production and development', () => {
  it('both accept public receivers; only development accepts loopback and private ones (developers run theirs on localhost)', async () => {
    const publicReceivers = [
      'https://app.example.com/roster/hooks',
      'https://93.184.215.14/hooks',
      'https://[2606:4700:4700::1111]/hooks',
    ];
    for (const url of publicReceivers) {
      for (const server of [production, development]) expect((await addEndpoint(server, url)).status, url).toBe(201);
    }
    for (const url of [
      'https://localhost:3001/hooks',
      'https://127.0.0.1:3001/hooks',
      'https://[::1]/hooks',
      'https://10.1.2.3/hooks',
    ]) {
      const reply = await addEndpoint(development, url);
      expect(reply.status, `${url}: ${JSON.stringify(reply.body)}`).toBe(201);
      expect((await addEndpoint(production, url)).status, url).toBe(400);
    }
    expect((await addEndpoint(development, 'http://localhost:3001/hooks')).status).toBe(201);
  });
});

describe('a public address', () => {
  it('is a global unicast address, and none of the special ranges', () => {
    for (const address of ['93.184.215.14', '8.8.8.8', '2606:4700:4700::1111', '2a00:1450:4001::200e']) {
      expect(isPublicAddress(address), address).toBe(true);
    }
    const special = ['127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.0.1', '100.64.0.1', '169.254.169.254', '0.0.0.0'];
    special.push('224.0.0.1', '240.0.0.1', '198.18.0.1', '::', '::1', 'fe80::1', 'fc00::1', 'ff02::1', '::ffff:192.168.0.1');
    special.push('::ffff:169.254.169.254', '64:ff9b::a00:1', '2002:7f00:1::', '2001:db8::1', 'localhost', '');
    for (const address of special) expect(isPublicAddress(address), address).toBe(false);
  });
});
