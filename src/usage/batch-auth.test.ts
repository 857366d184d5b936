import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorCtx, startApp, type TestApp } from '../../test/kit/app.ts';
import { onCitus } from '../../test/kit/engine.ts';
import { createServiceToken, revokeServiceToken, setPlan } from '../admin/service.ts';
import { authenticatorOf } from '../auth/authenticate.ts';
import { actorQuery, type CredentialKind } from '../auth/credential-query.ts';
import { decide } from '../auth/permissions.ts';
import { hashToken } from '../core/tokens.ts';
import { queryRows } from '../db/client.ts';
import { applyBatch } from './batch.ts';

// The authentication rule lives in src/auth/credential-query.ts and, for a usage batch on
// PostgreSQL and PGlite, in the database function roster_usage_batch (its step 1); Citus runs the
// batch from node with the rule of credential-query.ts. Whatever the engine, a batch must
// authenticate every credential as the request hook does.
describe('a usage batch authenticates as the request hook does', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('every kind of credential, valid or not: the same user and org, or none', async () => {
    const org = await t.given.org({ members: 2 });
    // Enterprise, unlimited: no request here is refused for the org's allocation (request n records 2^n).
    await setPlan(operatorCtx(t, 'ops'), { slug: org.slug, plan: 'enterprise', seats: 25 });
    const [member, toDisable] = org.members as [(typeof org.members)[0], (typeof org.members)[0]];
    const loner = await t.given.user();
    const expiring = await t.given.user();
    const memberApi = await t.given.apiToken(member);
    const disabledApi = await t.given.apiToken(toDisable);
    const db = t.database.db;
    await db.execute(sql`UPDATE users SET disabled_at = now() WHERE id = ${toDisable.id}`);
    await db.execute(sql`UPDATE sessions SET expires_at = now() - interval '1 day' WHERE user_id = ${expiring.id}`);
    const serviceToken = async (scopes: string) => {
      const { token, record } = await createServiceToken(operatorCtx(t), { name: 'host app', scopes });
      return { id: record.id, token };
    };
    const service = (await serviceToken('usage:write')).token;
    const unscoped = (await serviceToken('authz:read,storage:write')).token;
    const revoked = await serviceToken('usage:write');
    await revokeServiceToken(operatorCtx(t), { id: revoked.id });

    const credentials: { label: string; kind: CredentialKind; token?: string; userId?: string }[] = [
      { label: "owner's session", kind: 'session', token: org.owner.token },
      { label: "member's session", kind: 'session', token: member.token },
      { label: 'session of a user in no org', kind: 'session', token: loner.token },
      { label: "disabled member's session", kind: 'session', token: toDisable.token },
      { label: 'expired session', kind: 'session', token: expiring.token },
      { label: 'unknown session', kind: 'session', token: 'rs_sess_unknown' },
      { label: "member's API token", kind: 'api', token: memberApi.token },
      { label: "disabled member's API token", kind: 'api', token: disabledApi.token },
      { label: 'unknown API token', kind: 'api', token: 'rs_api_unknown' },
      { label: 'a session token presented as an API token', kind: 'api', token: member.token },
      { label: 'on behalf of the owner', kind: 'user', userId: org.owner.id },
      { label: 'on behalf of a user in no org', kind: 'user', userId: loner.id },
      { label: 'on behalf of a disabled member', kind: 'user', userId: toDisable.id },
      { label: 'on behalf of an unknown user', kind: 'user', userId: randomUUID() },
      { label: 'service token, on behalf of a member', kind: 'service', token: service, userId: member.id },
      { label: 'service token, on behalf of a user in no org', kind: 'service', token: service, userId: loner.id },
      { label: 'service token, on behalf of a disabled member', kind: 'service', token: service, userId: toDisable.id },
      { label: 'service token, on behalf of an unknown user', kind: 'service', token: service, userId: randomUUID() },
      { label: 'service token without usage:write', kind: 'service', token: unscoped, userId: member.id },
      { label: 'revoked service token', kind: 'service', token: revoked.token, userId: member.id },
      { label: 'unknown service token', kind: 'service', token: 'rs_svc_unknown', userId: member.id },
      { label: 'an API token presented as a service token', kind: 'service', token: memberApi.token, userId: member.id },
    ];
    const now = t.clock.now();

    // What the request hook's rule answers for each credential. A service token: the hook's own
    // lookup, and the policy's scope check for recording usage, then the user it names.
    const expected = [];
    for (const credential of credentials) {
      if (credential.kind === 'service') {
        const caller = await authenticatorOf(db)(credential.token!, now, 'bearer');
        if (caller?.via !== 'service_token' || !decide(caller, 'usage.record').allowed) {
          expected.push({ label: credential.label, actor: null });
          continue;
        }
      }
      const rows = await queryRows<{ user_id: string; org_id: string | null }>(
        db,
        sql`SELECT user_id, org_id FROM (${actorQuery(
          credential.kind === 'service' ? 'user' : credential.kind,
          { withOrg: false, membership: onCitus() ? 'user_orgs' : 'join' },
          {
            hash: sql`${credential.token ? hashToken(credential.token) : null}::bytea`,
            now: sql`${now}::timestamptz`,
            userId: sql`${credential.userId ?? null}::uuid`,
          },
        )}) a`,
      );
      expected.push({ label: credential.label, actor: rows[0] ? { user: rows[0].user_id, org: rows[0].org_id } : null });
    }

    // One batch of all of them. Request n records 2^n units, so each member's counters tell
    // exactly which requests were recorded as theirs.
    const ctx = { ...operatorCtx(t), actor: null };
    const outcomes = await applyBatch(
      ctx,
      credentials.map((credential, n) => ({
        kind: credential.kind,
        hash: credential.token ? hashToken(credential.token) : undefined,
        userId: credential.userId,
        activity: 'api.call',
        quantity: 2 ** n,
      })),
    );
    const counters = await queryRows<{ user_id: string; used: string | number }>(
      db,
      sql`SELECT user_id, sum(month_used) AS used FROM usage_counters WHERE org_id = ${org.id} GROUP BY user_id`,
    );
    const recordedAs = new Map<number, string>();
    for (const row of counters) {
      credentials.forEach((_, n) => {
        if ((Number(row.used) & (2 ** n)) !== 0) recordedAs.set(n, row.user_id);
      });
    }
    const actual = outcomes.map((outcome, n) => {
      const label = credentials[n]!.label;
      if (outcome.status === 'recorded')
        return { label, actor: { user: recordedAs.get(n) ?? 'not in the counters', org: org.id } };
      if (outcome.status === 'no_org') return { label, actor: { user: outcome.userId, org: null } };
      if (outcome.status === 'unauthenticated') return { label, actor: null };
      return { label, actor: outcome.status };
    });
    expect(actual).toEqual(expected);
    // The comparison covers each outcome: members recorded, users in no org, and refusals.
    expect(outcomes.filter((outcome) => outcome.status === 'recorded')).toHaveLength(5);
    expect(outcomes.filter((outcome) => outcome.status === 'no_org')).toHaveLength(3);
    expect(outcomes.filter((outcome) => outcome.status === 'unauthenticated')).toHaveLength(14);
  });
});
