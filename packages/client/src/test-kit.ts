// Test-only (left out of the published build): a real Roster app listening on a loopback port,
// so the client and the middleware talk to it over HTTP exactly as a host app does.
import type { AddressInfo } from 'node:net';
import { operatorCtx, startApp, type TestApp } from '../../../test/kit/app.ts';
import { PASSWORD } from '../../../test/kit/given.ts';
import { createServiceToken } from '../../../src/admin/service.ts';

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
