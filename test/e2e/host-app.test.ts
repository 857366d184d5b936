import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RosterWebhookEvent } from '@roster/client/webhooks';
import { buildHostApp } from '../../examples/host-app/app.ts';
import { testDatabaseUrl } from '../kit/engine.ts';
import { PASSWORD } from '../kit/given.ts';
import { createScratchDatabase, type ScratchDatabase } from '../kit/postgres.ts';
import { callServer, runRosterInProcess, startServerProcess, type ServerProcess } from '../kit/server.ts';

/**
 * The example host app (examples/host-app) against a real Roster server process, set up as the
 * README tells a host developer: a service token from the operator CLI, an org with a member who
 * joined by invitation, a usage limit; then the example's protected route until Roster's 429.
 * On PGlite the CLI runs before the server starts (one process per data directory).
 */
let env: Record<string, string>;
let server: ServerProcess | undefined;
let scratch: ScratchDatabase | undefined;
let dataDir: string | undefined;
let serviceToken: string;

beforeAll(async () => {
  const postgres = testDatabaseUrl();
  if (postgres) {
    scratch = await createScratchDatabase(postgres, 'roster_e2e_host');
    env = { DATABASE_URL: scratch.url };
  } else {
    dataDir = mkdtempSync(join(tmpdir(), 'roster-host-'));
    env = { DATA_DIR: dataDir, DATABASE_URL: '' };
  }
  // Admin commands act only on an existing database (a new DATA_DIR is refused): create it first,
  // as the server would.
  const migrated = await runRosterInProcess(['migrate'], { ...env, LOG_LEVEL: 'silent' });
  expect(migrated.code, migrated.stderr).toBe(0);
  const created = await runRosterInProcess(
    ['admin', 'create-service-token', '--name', 'example host app', '--scopes', 'usage:write,authz:read,webhooks:manage'],
    { ...env, ROSTER_OPERATOR: 'ops', LOG_LEVEL: 'silent' },
  );
  expect(created.code, created.stderr).toBe(0);
  serviceToken = /rs_svc_[A-Za-z0-9_-]+/.exec(created.stdout)?.[0] ?? '';
  expect(serviceToken).not.toBe('');
  server = await startServerProcess({ env, dataDir });
}, 180_000);

afterAll(async () => {
  await server?.stop();
  await scratch?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** An owner with a Team org and a member who joined through an invitation link, over HTTP. */
async function orgWithMember(roster: ServerProcess) {
  const suffix = Math.random().toString(36).slice(2, 8);
  const signup = (email: string, inviteToken?: string) =>
    callServer(roster, 'POST', '/api/v1/auth/signup', {
      body: { email, password: PASSWORD, name: email.split('@')[0], ...(inviteToken ? { invite_token: inviteToken } : {}) },
    });
  const owner = (await signup(`owner-${suffix}@example.com`)).body;
  const checkout = await callServer(roster, 'POST', '/api/v1/billing/checkout', {
    token: owner.token,
    body: { plan: 'team', seats: 5, scope: 'personal' },
  });
  expect(checkout.status).toBe(200);
  const org = await callServer(roster, 'POST', '/api/v1/org', {
    token: owner.token,
    body: { name: 'Acme', slug: `acme-${suffix}` },
  });
  expect(org.status).toBe(201);
  const memberEmail = `member-${suffix}@example.com`;
  const invite = await callServer(roster, 'POST', '/api/v1/org/invite', {
    token: owner.token,
    body: { email: memberEmail, role: 'member' },
  });
  expect(invite.status).toBe(201);
  const inviteToken = /rs_inv_[A-Za-z0-9_-]+/.exec(invite.body.invite.link)?.[0];
  const joined = await signup(memberEmail, inviteToken);
  expect(joined.status, JSON.stringify(joined.body)).toBe(201);
  return { owner, member: joined.body, org: org.body.org };
}

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

describe('the example host app against a real Roster server', () => {
  it("serves its protected route to a member until the usage limit, then answers Roster's 429 with Retry-After", async () => {
    const roster = server!;
    const { owner, member, org } = await orgWithMember(roster);
    const limit = await callServer(roster, 'PUT', `/api/v1/org/members/${member.user.id}/usage-limit`, {
      token: owner.token,
      body: { daily: 3, monthly: null },
    });
    expect(limit.status).toBe(200);

    const host = await buildHostApp({ rosterUrl: roster.url, serviceToken, webhookSecret: () => undefined, logLevel: 'silent' });
    try {
      const hostUrl = await listen(host);
      const report = () => fetch(`${hostUrl}/reports`, { method: 'POST', headers: { authorization: `Bearer ${member.token}` } });
      for (let used = 1; used <= 3; used += 1) {
        const reply = await report();
        expect(reply.status).toBe(200);
        expect(await reply.json()).toEqual({ report: `Report for ${org.name}`, role: 'member', used_today: used });
      }
      const refused = await report();
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await refused.json()).error.code).toBe('usage_limit_exceeded');

      const anonymous = await fetch(`${hostUrl}/reports`, { method: 'POST' });
      expect(anonymous.status).toBe(401);
      const usage = await callServer(roster, 'GET', '/api/v1/usage', { token: member.token });
      expect(usage.body.day.used).toBe(3);
    } finally {
      await host.close();
    }
  });

  it("delivers member.disabled to the example's webhook receiver, verified with the secret shown once", async () => {
    const roster = server!;
    const { owner, member, org } = await orgWithMember(roster);
    let secret: string | undefined;
    let received!: (event: RosterWebhookEvent) => void;
    const disabledEvent = new Promise<RosterWebhookEvent>((resolve) => (received = resolve));
    const host = await buildHostApp({
      rosterUrl: roster.url,
      webhookSecret: () => secret,
      onEvent: (event) => {
        if (event.type === 'member.disabled' && event.data.user_id === member.user.id) received(event);
      },
      logLevel: 'silent',
    });
    try {
      const hostUrl = await listen(host);
      const endpoint = await callServer(roster, 'POST', '/api/v1/webhooks', {
        token: serviceToken,
        body: { url: `${hostUrl}/webhooks/roster`, events: ['member.disabled'], org_id: org.id },
      });
      expect(endpoint.status, JSON.stringify(endpoint.body)).toBe(201);
      secret = endpoint.body.secret;
      expect(secret).toMatch(/^whsec_/);

      const disabled = await callServer(roster, 'POST', `/api/v1/org/members/${member.user.id}/disable`, { token: owner.token });
      expect(disabled.status).toBe(200);
      // The receiver resolves this once it has verified the delivery: no sleeping, no polling.
      const event = await disabledEvent;
      expect(event).toMatchObject({ type: 'member.disabled', org_id: org.id, data: { user_id: member.user.id } });
    } finally {
      await host.close();
    }
  });
});
