import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTcpServer, type AddressInfo, type LookupFunction } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/kit/engine.ts';
import { loadOrCreateServerKey } from '../invites/queries.ts';
import { startWebhookReceiver } from '../../test/kit/webhook-receiver.ts';
import { ADDRESS_NOT_PUBLIC } from './address.ts';
import { webhookDelivery } from './consumer.ts';
import { DEVELOPMENT_KEY_FILE, DEVELOPMENT_KEY_NAME, webhookKey } from './key.ts';
import type { ClaimedDelivery } from './queries.ts';
import { encryptSecret, newSigningSecret } from './signing.ts';

const KEY = Buffer.alloc(32, 9);
const dataDirs: string[] = [];
afterAll(() => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

function claimed(url: string): ClaimedDelivery {
  const endpointId = '11111111-1111-4111-8111-111111111111';
  return {
    id: `${endpointId}/1`,
    attempts: 1,
    org_id: '22222222-2222-4222-8222-222222222222',
    endpoint_id: endpointId,
    event_position: '1',
    event_id: '33333333-3333-4333-8333-333333333333',
    event_type: 'member.disabled',
    event_data: { user_id: 'u', email: 'u@example.com' },
    event_created_at: new Date(),
    url,
    secret_encrypted: encryptSecret(KEY, endpointId, newSigningSecret().bytes),
    previous_secret_encrypted: null,
    previous_secret_expires_at: null,
  };
}

/** Outside production (and with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true) loopback receivers are allowed. */
const development = { allowPrivateNetworks: true };

describe('one delivery attempt', () => {
  it('fails when the receiver does not answer within the timeout, and records no HTTP status', async () => {
    const hang = await startWebhookReceiver(() => new Promise<number>(() => {}));
    try {
      const delivery = claimed(hang.url);
      const attempt = webhookDelivery(KEY, { ...development, timeoutMs: 500 }).run(delivery, {
        signal: new AbortController().signal,
      });
      await expect(attempt).rejects.toThrow('POST failed: no answer within 500 ms');
      expect(delivery.httpStatus).toBeNull();
    } finally {
      await hang.close();
    }
  });

  it('times out a hanging receiver also when garbage collections run meanwhile (regression: the timeout signal was collected and never fired)', async () => {
    setFlagsFromString('--expose-gc');
    const collectGarbage = runInNewContext('gc') as () => void;
    const hang = await startWebhookReceiver(() => new Promise<number>(() => {}));
    // Collections while the attempt waits, as on a busy server; the attempt's rejection ends the test.
    const collecting = setInterval(collectGarbage, 20);
    try {
      const attempt = webhookDelivery(KEY, { ...development, timeoutMs: 300 }).run(claimed(hang.url), {
        signal: new AbortController().signal,
      });
      await expect(attempt).rejects.toThrow('POST failed: no answer within 300 ms');
    } finally {
      clearInterval(collecting);
      await hang.close();
    }
  });

  it('counts only 2xx as delivered: a redirect is not followed and fails the attempt with its status', async () => {
    const moved = await startWebhookReceiver(() => 301);
    try {
      const delivery = claimed(moved.url);
      await expect(webhookDelivery(KEY, development).run(delivery, { signal: new AbortController().signal })).rejects.toThrow(
        'HTTP 301',
      );
      expect(delivery.httpStatus).toBe(301);
    } finally {
      await moved.close();
    }
  });
});

/** Resolves every name to 127.0.0.1, as a public name rebound to loopback after the endpoint was added would. */
const resolvesToLoopback: LookupFunction = (_hostname, options, callback) => {
  if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
};

const attempt = (delivery: ClaimedDelivery, options: Parameters<typeof webhookDelivery>[1] = {}) =>
  webhookDelivery(KEY, options).run(delivery, { signal: new AbortController().signal });

/** A TCP server on loopback that does `onConnection` with each connection; its port. */
async function tcpServer(onConnection: (socket: import('node:net').Socket) => void) {
  const server = createTcpServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((resolve) => server.close(resolve)) };
}

describe("the receiver's address at delivery (SSRF)", () => {
  it('refuses a host name that resolves to loopback unless private networks are allowed (regression: production delivered to it; DNS rebinding)', async () => {
    const hooks = await startWebhookReceiver();
    try {
      const url = hooks.url.replace('127.0.0.1', 'hooks.example.com');
      const refused = claimed(url);
      await expect(attempt(refused, { lookup: resolvesToLoopback })).rejects.toThrow(`POST failed: ${ADDRESS_NOT_PUBLIC}`);
      expect(refused.httpStatus).toBeNull();
      // The system resolver's `localhost` too.
      await expect(attempt(claimed(hooks.url.replace('127.0.0.1', 'localhost')))).rejects.toThrow(ADDRESS_NOT_PUBLIC);
      expect(hooks.received).toHaveLength(0);
      // Allowed (development, or WEBHOOK_ALLOW_PRIVATE_NETWORKS=true): the same name is delivered to.
      await attempt(claimed(url), { ...development, lookup: resolvesToLoopback });
      expect(hooks.received).toHaveLength(1);
      expect(hooks.received[0]!.headers.host).toBe(new URL(url).host);
    } finally {
      await hooks.close();
    }
  });

  it.each(['http://127.0.0.1:{port}/hooks', 'http://[::ffff:127.0.0.1]:{port}/hooks', 'http://2130706433:{port}/hooks'])(
    'refuses an address literal that is not public, as an endpoint added before the check holds: %s',
    async (template) => {
      const hooks = await startWebhookReceiver();
      try {
        const delivery = claimed(template.replace('{port}', new URL(hooks.url).port));
        await expect(attempt(delivery)).rejects.toThrow(`POST failed: ${ADDRESS_NOT_PUBLIC}`);
        expect(hooks.received).toHaveLength(0);
      } finally {
        await hooks.close();
      }
    },
  );

  it('keeps the host name for TLS: SNI carries it while the connection goes to the resolved address', async () => {
    const servernames: string[] = [];
    const tls = createTlsServer({
      SNICallback: (servername, done) => {
        servernames.push(servername);
        done(new Error('no certificate here'));
      },
    });
    tls.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = tls.address() as AddressInfo;
      const delivery = claimed(`https://hooks.example.com:${port}/hooks`);
      // The handshake cannot finish (no certificate); what matters is the name the server was asked for.
      await expect(attempt(delivery, { ...development, lookup: resolvesToLoopback })).rejects.toThrow(/^POST failed: /);
      expect(servernames).toEqual(['hooks.example.com']);
    } finally {
      await new Promise((resolve) => tls.close(resolve));
    }
  });
});

describe('a failed attempt records a constant reason, never the socket error (regression: the delivery log was a port scanner)', () => {
  it('says "connection refused" for a closed port', async () => {
    const closed = await tcpServer(() => {});
    await closed.close();
    const delivery = claimed(`http://127.0.0.1:${closed.port}/hooks`);
    const failure = await attempt(delivery, development).catch((error: Error) => error);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toBe('POST failed: connection refused');
  });

  it('says "TLS handshake failed" for https to a plain HTTP port', async () => {
    const hooks = await startWebhookReceiver();
    try {
      const delivery = claimed(hooks.url.replace('http:', 'https:'));
      await expect(attempt(delivery, development)).rejects.toThrow(/^POST failed: TLS handshake failed$/);
    } finally {
      await hooks.close();
    }
  });

  it('says "the receiver closed the connection" when it hangs up without answering', async () => {
    const hangUp = await tcpServer((socket) => socket.destroy());
    try {
      await expect(attempt(claimed(`http://127.0.0.1:${hangUp.port}/hooks`), development)).rejects.toThrow(
        /^POST failed: the receiver closed the connection$/,
      );
    } finally {
      await hangUp.close();
    }
  });
});

describe('the key of signing secrets', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase({ poolSize: 2 });
  });
  afterAll(async () => {
    await database.close();
  });
  const newDataDir = () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'roster-webhook-key-'));
    dataDirs.push(dataDir);
    return dataDir;
  };

  it('is WEBHOOK_SECRET_KEY when set; in development on the embedded engine a generated key kept in DATA_DIR (0600); none in production', async () => {
    const dataDir = newDataDir();
    const embedded = { dataDir, databaseUrl: undefined };
    expect(await webhookKey({ ...embedded, webhookSecretKey: KEY, isProduction: true }, database.db)).toBe(KEY);
    expect(await webhookKey({ ...embedded, webhookSecretKey: undefined, isProduction: true }, database.db)).toBeUndefined();
    const generated = await webhookKey({ ...embedded, webhookSecretKey: undefined, isProduction: false }, database.db);
    expect(generated).toHaveLength(32);
    const file = join(dataDir, DEVELOPMENT_KEY_FILE);
    expect(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64').equals(generated!)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const again = await webhookKey({ ...embedded, webhookSecretKey: undefined, isProduction: false }, database.db);
    expect(again!.equals(generated!)).toBe(true);
  });

  it('in development on PostgreSQL is kept in the database: one key for every process, wherever it started, and no file', async () => {
    // The first process still has the file an earlier version wrote in its DATA_DIR: that key is kept.
    const firstDir = newDataDir();
    const earlier = await webhookKey(
      { dataDir: firstDir, databaseUrl: undefined, webhookSecretKey: undefined, isProduction: false },
      database.db,
    );
    const onPostgres = { databaseUrl: 'postgres://roster.test/db', webhookSecretKey: undefined, isProduction: false };
    const stored = await webhookKey({ ...onPostgres, dataDir: firstDir }, database.db);
    expect(stored!.equals(earlier!)).toBe(true);
    // Another process, started in another directory, with a key of its own to offer: it reads the stored one.
    const otherDir = newDataDir();
    expect((await loadOrCreateServerKey(database.db, DEVELOPMENT_KEY_NAME, randomBytes(32))).equals(stored!)).toBe(true);
    expect((await webhookKey({ ...onPostgres, dataDir: otherDir }, database.db))!.equals(stored!)).toBe(true);
    expect(existsSync(join(otherDir, DEVELOPMENT_KEY_FILE))).toBe(false);
  });
});
