// Test-only (left out of the published build): a real Roster app listening on a loopback port,
// so the client and the middleware talk to it over HTTP exactly as a host app does; stand-ins for a
// Roster that is down, hangs or fails; and host apps (Fastify, Express) that use the middleware.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { operatorCtx, startApp, type TestApp } from '../../../test/kit/app.ts';
import { PASSWORD } from '../../../test/kit/given.ts';
import { createServiceToken, revokeServiceToken } from '../../../src/admin/service.ts';
import { createRosterExpress } from './express.ts';
import { createRosterFastify } from './fastify.ts';
import type { CheckAction, RosterMiddlewareOptions } from './middleware.ts';

export interface LiveRoster extends TestApp {
  url: string;
}

export async function startRoster(): Promise<LiveRoster> {
  const t = await startApp();
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = t.app.server.address() as AddressInfo;
  return Object.assign(t, { url: `http://127.0.0.1:${port}` });
}

/** Signs `email` in through the API: the session cookie and the CSRF cookie a browser would hold. */
export async function browserSession(roster: LiveRoster, email: string): Promise<{ session: string; csrf: string }> {
  const response = await fetch(`${roster.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  if (response.status !== 200) throw new Error(`login answered ${response.status}`);
  const cookies = Object.fromEntries(
    response.headers.getSetCookie().map((line) => {
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
  return { session: cookies.roster_session ?? '', csrf: cookies.roster_csrf ?? '' };
}

/** A service token as the operator creates it (`roster admin create-service-token`). */
export async function serviceToken(roster: LiveRoster, scopes: string): Promise<string> {
  const { token } = await createServiceToken(operatorCtx(roster), { name: 'host app', scopes });
  return token;
}

/** A service token that the operator has revoked since (`roster admin revoke-service-token`). */
export async function revokedServiceToken(roster: LiveRoster, scopes: string): Promise<string> {
  const ctx = operatorCtx(roster);
  const { token, record } = await createServiceToken(ctx, { name: 'revoked host app', scopes });
  await revokeServiceToken(ctx, { id: record.id });
  return token;
}

/** A loopback port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

export interface FakeRoster {
  url: string;
  close(): Promise<void>;
}

/** A stand-in for Roster that answers every request with `handler` (a proxy's page, a hang, a 503). */
export async function fakeRoster(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<FakeRoster> {
  const server = createHttpServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        // A fake that never answers holds its connections open: end them so close() returns.
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

export interface HostApp {
  url: string;
  close(): Promise<void>;
}

/**
 * A host app on loopback that calls Roster as one in production does, with the framework's DEFAULT
 * error handler (none set): GET /whoami answers request.roster; GET /may/:action asks Roster's
 * policy; POST /reports records one `report` (with the caller's Idempotency-Key) and answers the receipt.
 */
export type HostFactory = (options: RosterMiddlewareOptions<never>) => Promise<HostApp>;

export const fastifyHost: HostFactory = async (options) => {
  const host = Fastify();
  const roster = createRosterFastify(options as RosterMiddlewareOptions);
  host.get('/whoami', { preHandler: roster.authenticate }, async (request) => ({ roster: request.roster }));
  host.get<{ Params: { action: CheckAction } }>('/may/:action', { preHandler: roster.authenticate }, async (request) =>
    roster.check(request, request.params.action),
  );
  host.post('/reports', { preHandler: roster.authenticate }, async (request, reply) => {
    const key = request.headers['idempotency-key'];
    const usage = await roster.recordUsage(request, reply, {
      activity: 'report',
      quantity: 1,
      ...(typeof key === 'string' ? { key } : {}),
    });
    if (!usage.ok) return reply;
    return reply.status(201).send({ used_today: usage.receipt.day.used });
  });
  await host.listen({ port: 0, host: '127.0.0.1' });
  return { url: `http://127.0.0.1:${(host.server.address() as AddressInfo).port}`, close: () => host.close() };
};

export const expressHost: HostFactory = async (options) => {
  const host = express();
  const roster = createRosterExpress(options as RosterMiddlewareOptions);
  host.get('/whoami', roster.authenticate, (req, res) => {
    res.json({ roster: req.roster });
  });
  host.get('/may/:action', roster.authenticate, async (req, res) => {
    res.json(await roster.check(req, req.params.action as CheckAction));
  });
  host.post('/reports', roster.authenticate, async (req, res) => {
    const key = req.get('idempotency-key');
    const usage = await roster.recordUsage(req, res, { activity: 'report', quantity: 1, ...(key ? { key } : {}) });
    if (!usage.ok) return;
    res.status(201).json({ used_today: usage.receipt.day.used });
  });
  const server = host.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
};

/** A host's reply: status, JSON body (null when empty or not JSON: Express's default error page) and headers. */
export async function call(host: HostApp, method: string, path: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${host.url}${path}`, { method, headers });
  const text = await response.text();
  return { status: response.status, body: jsonOrNull(text), headers: response.headers };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- HTTP replies in tests are untyped JSON (as in *.test.ts)
function jsonOrNull(text: string): any {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
