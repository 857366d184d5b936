import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { openDatabase, type Database } from '../../src/db/client.ts';
import { migrate } from '../../src/db/migrate.ts';
import { buildApp } from '../../src/http/app.ts';
import { EXIT_NOT_FOUND, EXIT_REFUSED, EXIT_USAGE } from '../../src/cli/errors.ts';
import { TEST_PUBLIC_URL } from '../kit/app.ts';
import { TestClock } from '../kit/clock.ts';
import { createTestDatabase } from '../kit/engine.ts';
import { createGiven, type TestOrg } from '../kit/given.ts';
import { createHttp } from '../kit/http.ts';
import { runRoster, runRosterInProcess } from '../kit/server.ts';
import { createServiceToken } from '../../src/admin/service.ts';
import { createLocalBillingProvider } from '../../src/billing/local-provider.ts';

/**
 * The `roster admin` commands against the suite's engine, through the CLI's entry (`runCli`) in
 * this process; the first test runs them as separate processes too (`roster` as an operator runs
 * it). On PGlite the data directory is prepared here and closed before each command runs (PGlite
 * is single-process); on PostgreSQL, the file's own database.
 */
let env: Record<string, string>;
let cleanup: () => Promise<void>;
let org: TestOrg;
/** An org whose owner support replaces (transfer-ownership). */
let handover: TestOrg;
let disabledMember: TestOrg['members'][number];
let outsider: string;

beforeAll(async () => {
  const onPostgres = Boolean(process.env.TEST_DATABASE_URL);
  let database: Database;
  let dataDir: string | undefined;
  if (onPostgres) {
    const testDatabase = await createTestDatabase({ poolSize: 2 });
    database = testDatabase;
    env = { DATABASE_URL: testDatabase.url ?? '' };
  } else {
    dataDir = mkdtempSync(join(tmpdir(), 'roster-cli-'));
    database = await openDatabase({ dataDir });
    await migrate(database);
    env = { DATA_DIR: dataDir, DATABASE_URL: '' };
  }
  const clock = new TestClock();
  const app = await buildApp({
    config: loadConfig({ PUBLIC_URL: TEST_PUBLIC_URL, LOG_LEVEL: 'silent' }),
    database,
    clock,
    logger: false,
  });
  const http = createHttp(app);
  const given = createGiven({ database: { ...database, url: undefined }, http, clock });
  org = await given.org({ seats: 5, members: 1, slug: 'cli-acme' });
  await given.invitation(org, { email: 'pending@example.com' });
  handover = await given.org({ seats: 5, members: 2, slug: 'cli-handover' });
  disabledMember = handover.members[1]!;
  expect((await http.post(`/api/v1/org/members/${disabledMember.id}/disable`, { as: handover.owner })).status).toBe(200);
  outsider = (await given.user()).email;
  // Stored before the CLI refused control characters: a token name and an actor label with line breaks.
  const config = loadConfig({ PUBLIC_URL: TEST_PUBLIC_URL, LOG_LEVEL: 'silent' });
  await createServiceToken(
    {
      db: database.db,
      config,
      clock,
      billing: createLocalBillingProvider(config.publicUrl),
      requestId: 'cli-test',
      actor: {
        userId: '00000000-0000-0000-0000-000000000000',
        email: 'forger@operator',
        name: 'forger\n#1 2020-01-01T00:00:00.000Z operator:root',
        emailVerified: true,
        membership: null,
        via: 'operator',
        credentialId: null,
      },
    },
    { name: 'legacy\nforged-token  [admin]', scopes: 'authz:read' },
  );
  await app.close();
  if (dataDir) {
    await database.close();
    cleanup = async () => rmSync(dataDir, { recursive: true, force: true });
  } else {
    // Closing a test database drops it: keep it until the commands have run.
    cleanup = () => database.close();
  }
}, 120_000);

afterAll(async () => {
  await cleanup?.();
});

const operatorEnv = () => ({ ...env, ROSTER_OPERATOR: 'support-sam', LOG_LEVEL: 'silent' });

function roster(...args: string[]) {
  return runRosterInProcess(['admin', ...args], operatorEnv());
}

/** The same command as a separate `roster` process: output, exit codes and the data directory handover. */
function rosterProcess(...args: string[]) {
  return runRoster(['admin', ...args], operatorEnv());
}

describe('roster admin (CLI end to end)', () => {
  it('runs as a separate process with the same output and exit codes as in-process', async () => {
    const [json, inProcess] = [
      await rosterProcess('show-org', 'cli-acme', '--json'),
      await roster('show-org', 'cli-acme', '--json'),
    ];
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(JSON.parse(inProcess.stdout));
    const usage = await rosterProcess('set-plan', 'cli-acme', '--plan', 'gold', '--seats', '3');
    expect(usage.code).toBe(EXIT_USAGE);
    expect(usage.stderr).toContain('roster: Unknown plan "gold". Use one of: team, enterprise.');
  });

  it('show-org prints members, seats, pending invitations, plan and storage', async () => {
    const result = await roster('show-org', 'cli-acme', '--json');
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({
      slug: 'cli-acme',
      plan: 'team',
      seats: { limit: 5, active_members: 2, pending_invites: 1 },
      storage: { used_bytes: 0, limit_bytes: 5 * 1024 ** 3 },
      pending_invitations: [{ email: 'pending@example.com', role: 'member' }],
    });
    expect(report.members).toHaveLength(2);
    const text = await roster('show-org', 'cli-acme');
    expect(text.stdout).toContain('pending@example.com');
    expect(text.stdout).toContain('Seats: 3 of 5 used');
  });

  it('set-plan refuses seats below members plus pending invitations with a clear message', async () => {
    const result = await roster('set-plan', 'cli-acme', '--plan', 'enterprise', '--seats', '2');
    expect(result.code).toBe(EXIT_REFUSED);
    expect(result.stderr).toMatch(/2 members and 1 pending invitations; choose at least 3 seats/);
    expect(result.stderr).toContain('seats_below_usage');
  });

  it("set-plan --plan enterprise without --seats gives Enterprise's 25 seats (contract); team still needs --seats", async () => {
    const result = await roster('set-plan', 'cli-acme', '--plan', 'enterprise');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('enterprise with 25 seats and unlimited storage');
    const team = await roster('set-plan', 'cli-acme', '--plan', 'team');
    expect(team.code).toBe(EXIT_USAGE);
    expect(team.stderr).toContain('Give the number of seats (--seats) for the Team plan.');
    const help = await roster('set-plan', '--help');
    expect(help.stdout.replace(/\s+/g, ' ')).toContain('--seats <n> number of seats');
    expect(help.stdout.replace(/\s+/g, ' ')).toContain('required for team, enterprise defaults to 25');
  });

  it('set-plan moves the org to Enterprise', async () => {
    const result = await roster('set-plan', 'cli-acme', '--plan', 'enterprise', '--seats', '30');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('enterprise with 30 seats and unlimited storage');
    const report = JSON.parse((await roster('show-org', 'cli-acme', '--json')).stdout);
    expect(report).toMatchObject({ plan: 'enterprise', seats: { limit: 30 }, storage: { limit_bytes: null } });
  });

  it('refuses usage mistakes with EXIT_USAGE and unknown orgs or users with EXIT_NOT_FOUND', async () => {
    const commands = [
      ['set-plan', 'cli-acme', '--plan', 'gold', '--seats', '3'],
      ['set-plan', 'cli-acme', '--plan', 'team'],
      ['set-plan', 'cli-acme', '--plan', 'team', '--seats', 'many'],
      ['set-plan', 'no-such-org', '--plan', 'team', '--seats', '3'],
      ['show-org', 'no-such-org'],
      ['audit', 'no-such-org'],
      ['enable-user', 'nobody@example.com'],
      ['disable-user', 'not-an-address'],
    ];
    // One at a time: an embedded data directory is opened by one process at a time.
    const outcomes = [];
    for (const command of commands) outcomes.push(await roster(...command));
    expect(outcomes.map((outcome) => outcome.code)).toEqual([
      EXIT_USAGE,
      EXIT_USAGE,
      EXIT_USAGE,
      EXIT_NOT_FOUND,
      EXIT_NOT_FOUND,
      EXIT_NOT_FOUND,
      EXIT_NOT_FOUND,
      EXIT_USAGE,
    ]);
    expect(outcomes[3]?.stderr).toContain('No organization with slug "no-such-org"');
    // With --json the failure is JSON on stderr, with the API's code, and stdout stays empty.
    const failed = await roster('show-org', 'no-such-org', '--json');
    expect([failed.code, failed.stdout]).toEqual([EXIT_NOT_FOUND, '']);
    expect(JSON.parse(failed.stderr)).toEqual({
      error: { code: 'org_not_found', message: expect.stringContaining('no-such-org'), exit_code: EXIT_NOT_FOUND },
    });
    // The parser's own refusals too.
    const unknownOption = await roster('show-org', 'cli-acme', '--json', '--colour');
    expect(unknownOption.code).toBe(EXIT_USAGE);
    expect(JSON.parse(unknownOption.stderr)).toEqual({
      error: { code: 'invalid_usage', message: expect.stringContaining('--colour'), exit_code: EXIT_USAGE },
    });
    expect(outcomes[6]?.stderr).toContain('No account uses the address nobody@example.com');
  });

  it('create-service-token validates scopes (EXIT_USAGE); list shows scopes and last use; revoke', async () => {
    const unknown = await roster('create-service-token', '--name', 'backend', '--scopes', 'authz:read,admin');
    expect([unknown.code, unknown.stdout]).toEqual([EXIT_USAGE, '']);
    expect(unknown.stderr).toContain('Unknown scope "admin"');

    const created = await roster('create-service-token', '--name', 'backend', '--scopes', 'authz:read,storage:write');
    expect(created.code, created.stderr).toBe(0);
    const token = /rs_svc_[A-Za-z0-9_-]{43}/.exec(created.stdout)?.[0];
    expect(token).toBeDefined();
    const listed = JSON.parse((await roster('list-service-tokens', '--json')).stdout);
    const row = listed.find((entry: { name: string }) => entry.name === 'backend');
    expect(row).toMatchObject({ scopes: ['authz:read', 'storage:write'], last_used_at: null, revoked_at: null });
    expect(JSON.stringify(listed)).not.toContain(token);
    const text = await roster('list-service-tokens');
    expect(text.stdout).toMatch(
      new RegExp(`${row.id}  backend  \\[authz:read,storage:write\\]  created \\S+  never used  active`),
    );

    const revoked = await roster('revoke-service-token', row.id);
    expect([revoked.code, revoked.stdout.trim()]).toEqual([0, `Revoked service token ${row.id} "backend".`]);

    // Both changes are in the global audit log (service tokens belong to no org), never the token.
    const logged = JSON.parse((await roster('global-audit', '--json')).stdout) as { action: string; target_id: string }[];
    expect(logged.filter((entry) => entry.target_id === row.id).map((entry) => entry.action)).toEqual([
      'service_token.revoked',
      'service_token.created',
    ]);
    expect(JSON.stringify(logged)).not.toContain(token);
    // The org audit's entry shape: `actor` is a user or null, `actor_label` names the operator.
    expect(logged[0]).toMatchObject({ actor: null, actor_label: expect.stringMatching(/^operator:/) });
    expect(Object.keys(logged[0]!)).toEqual(
      Object.keys(JSON.parse((await roster('audit', 'cli-acme', '--json', '--limit', '1')).stdout)[0]).filter(
        (key) => key !== 'target_label',
      ),
    );
    const lines = await roster('global-audit', '--limit', '1');
    expect(lines.stdout).toMatch(new RegExp(`^#\\d+ \\S+ operator:\\S+ service_token.revoked service_token:${row.id} `));
  });

  it('disable-user and enable-user change the member and are audited with the operator as actor', async () => {
    const member = org.members[0]!;
    const disabled = await roster('disable-user', member.email);
    expect(disabled.code, disabled.stderr).toBe(0);
    expect(disabled.stdout).toContain(`Disabled ${member.email}`);
    const shown = JSON.parse((await roster('show-org', 'cli-acme', '--json')).stdout);
    expect(shown.members.find((entry: any) => entry.email === member.email).status).toBe('disabled');
    const enabled = await roster('enable-user', member.email);
    expect(enabled.code, enabled.stderr).toBe(0);
    expect((await roster('enable-user', member.email)).stdout).toContain('is not disabled; nothing changed');

    const audit = await roster('audit', 'cli-acme', '--json', '--actor', 'operator:support-sam');
    expect(audit.code, audit.stderr).toBe(0);
    const entries = JSON.parse(audit.stdout);
    expect(entries.map((entry: any) => entry.action)).toEqual([
      'member.enabled',
      'member.disabled',
      'billing.subscription_changed', // --seats 30
      'billing.subscription_changed', // Enterprise without --seats: 25
    ]);
    for (const entry of entries) expect(entry).toMatchObject({ actor: null, actor_label: 'operator:support-sam' });
    const text = await roster('audit', 'cli-acme', '--limit', '1');
    expect(text.stdout).toContain(`operator:support-sam member.enabled user:${member.id} (${member.email}) `);
  });

  it('set-allocation sets an Enterprise allocation or makes it unlimited, audited; refuses bad values and Team orgs', async () => {
    const set = await roster('set-allocation', 'cli-acme', '--monthly', '5000');
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain('cli-acme now has 5000 credits per month (0 used this month).');
    const unlimited = await roster('set-allocation', 'cli-acme', '--monthly', 'unlimited');
    expect(unlimited.code, unlimited.stderr).toBe(0);
    expect(unlimited.stdout).toContain('cli-acme now has unlimited');
    expect((await roster('set-allocation', 'cli-acme', '--monthly', 'unlimited')).stdout).toContain('nothing changed');
    const bad = await roster('set-allocation', 'cli-acme', '--monthly', 'lots');
    expect(bad.code).toBe(EXIT_USAGE);
    expect(bad.stderr).toContain('"unlimited"');
    expect((await roster('set-allocation', 'no-such-org', '--monthly', '5')).code).toBe(EXIT_NOT_FOUND);

    const audit = JSON.parse((await roster('audit', 'cli-acme', '--json', '--action', 'usage.allocation_changed')).stdout);
    expect(audit.map((entry: any) => [entry.actor_label, entry.before, entry.after])).toEqual([
      ['operator:support-sam', { monthly: 5000 }, { monthly: null }],
      ['operator:support-sam', { monthly: null }, { monthly: 5000 }],
    ]);

    expect((await roster('set-plan', 'cli-acme', '--plan', 'team', '--seats', '30')).code).toBe(0);
    const team = await roster('set-allocation', 'cli-acme', '--monthly', '5');
    expect(team.code).toBe(EXIT_REFUSED);
    expect(team.stderr).toContain('not_enterprise');
  });

  it('transfer-ownership makes a member the owner, audited as the operator; the old owner can then be disabled', async () => {
    const [newOwner] = handover.members;
    const refusedFirst = await roster('disable-user', handover.owner.email);
    expect(refusedFirst.code).toBe(EXIT_REFUSED);
    expect(refusedFirst.stderr).toContain('transfer ownership first');

    const result = await roster('transfer-ownership', 'cli-handover', '--to', newOwner!.email);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe(
      `${newOwner!.email} now owns cli-handover; the previous owner ${handover.owner.email} is an admin.`,
    );
    const members = JSON.parse((await roster('show-org', 'cli-handover', '--json')).stdout).members as any[];
    expect(members.filter((member) => member.role === 'owner').map((member) => member.email)).toEqual([newOwner!.email]);
    expect(members.find((member) => member.email === handover.owner.email).role).toBe('admin');
    const audit = JSON.parse((await roster('audit', 'cli-handover', '--json', '--action', 'org.ownership_transferred')).stdout);
    expect(audit).toEqual([
      expect.objectContaining({
        actor: null,
        actor_label: 'operator:support-sam',
        before: { owner: handover.owner.id, new_owner_role: 'member' },
        after: { owner: newOwner!.id, previous_owner_role: 'admin' },
      }),
    ]);

    const disabled = await roster('disable-user', handover.owner.email);
    expect(disabled.code, disabled.stderr).toBe(0);
  });

  it('transfer-ownership refuses a non-member, a disabled member and unknown users or orgs', async () => {
    const outcomes = [];
    for (const args of [
      ['cli-handover', '--to', outsider],
      ['cli-handover', '--to', org.members[0]!.email],
      ['cli-handover', '--to', disabledMember.email],
      ['cli-handover', '--to', 'nobody@example.com'],
      ['no-such-org', '--to', disabledMember.email],
      ['cli-handover'],
    ])
      outcomes.push(await roster('transfer-ownership', ...args));
    expect(outcomes.map((outcome) => outcome.code)).toEqual([
      EXIT_REFUSED,
      EXIT_REFUSED,
      EXIT_REFUSED,
      EXIT_NOT_FOUND,
      EXIT_NOT_FOUND,
      EXIT_USAGE,
    ]);
    expect(outcomes[0]!.stderr).toContain(`${outsider} is not a member of cli-handover. (not_a_member)`);
    expect(outcomes[2]!.stderr).toContain('(member_disabled)');
    const owners = JSON.parse((await roster('show-org', 'cli-handover', '--json')).stdout).members.filter(
      (member: any) => member.role === 'owner',
    );
    expect(owners).toHaveLength(1);
    expect((await roster('--help')).stdout).toContain('transfer-ownership [options] <slug>');
  });

  it('refuses control characters in ROSTER_OPERATOR and in a service token --name (EXIT_USAGE), changing nothing', async () => {
    const forged = await runRosterInProcess(['admin', 'create-service-token', '--name', 'ok', '--scopes', 'authz:read'], {
      ...operatorEnv(),
      ROSTER_OPERATOR: 'sam\n#9 2020-01-01T00:00:00.000Z operator:root user.enabled',
    });
    expect([forged.code, forged.stdout]).toEqual([EXIT_USAGE, '']);
    expect(forged.stderr).toContain('ROSTER_OPERATOR must not contain control characters');
    const named = await roster('create-service-token', '--name', 'two\nlines', '--scopes', 'authz:read');
    expect([named.code, named.stdout]).toEqual([EXIT_USAGE, '']);
    expect(named.stderr).toContain('--name must not contain control characters');
    const tokens = JSON.parse((await roster('list-service-tokens', '--json')).stdout) as { name: string }[];
    expect(tokens.map((token) => token.name)).not.toContain('ok');
  });

  it('escapes control characters of stored names in text output, one line per entry (regression: forged lines)', async () => {
    const listed = await roster('list-service-tokens');
    const line = listed.stdout.split('\n').find((text) => text.includes('legacy'));
    expect(line).toContain('  legacy\\nforged-token  [admin]  [authz:read]');
    expect(listed.stdout).not.toMatch(/^forged-token/m);
    const audit = await roster('global-audit', '--limit', '1000');
    expect(audit.stdout).toContain('operator:forger\\n#1 2020-01-01T00:00:00.000Z operator:root service_token.created');
    expect(audit.stdout).not.toMatch(/^#1 2020-01-01/m);
  });
});
