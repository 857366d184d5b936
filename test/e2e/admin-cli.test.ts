import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { openDatabase, queryRows, type Database } from '../../src/db/client.ts';
import { migrate } from '../../src/db/migrate.ts';
import { buildApp } from '../../src/http/app.ts';
import { EXIT_NOT_FOUND, EXIT_REFUSED, EXIT_USAGE } from '../../src/cli/errors.ts';
import { TEST_PUBLIC_URL } from '../kit/app.ts';
import { TestClock } from '../kit/clock.ts';
import { createTestDatabase } from '../kit/engine.ts';
import { createGiven, type Given, type TestOrg } from '../kit/given.ts';
import { createHttp, type Http } from '../kit/http.ts';
import { runRoster, runRosterInProcess, runRosterIntoClosedPipe } from '../kit/server.ts';
import { signedEvent, startStripeStub, STUB_PRICE_TEAM, type StripeStub } from '../kit/stripe-stub.ts';
import { recordGlobalAudit } from '../../src/audit/record.ts';
import { insertServiceToken } from '../../src/auth/queries.ts';
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
/** An org that support removes a member from and revokes an invitation of. */
let removal: TestOrg;
/** An org that a script changes with --json on every mutating command. */
let scripted: TestOrg;

interface Filling {
  app: FastifyInstance;
  database: Database;
  http: Http;
  given: Given;
  clock: TestClock;
}

/**
 * A migrated database on the suite's engine, filled by `fill` through the real app (configured with
 * `appEnv` over the test defaults), then handed to the CLI: `env` names it (DATA_DIR or
 * DATABASE_URL); `cleanup` removes it once the commands have run.
 */
async function preparedDatabase(
  fill: (filling: Filling) => Promise<void>,
  appEnv: Record<string, string> = {},
): Promise<{ env: Record<string, string>; cleanup: () => Promise<void> }> {
  let database: Database;
  let dataDir: string | undefined;
  let env: Record<string, string>;
  if (process.env.TEST_DATABASE_URL) {
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
    config: loadConfig({ PUBLIC_URL: TEST_PUBLIC_URL, LOG_LEVEL: 'silent', ...appEnv }),
    database,
    clock,
    logger: false,
  });
  const http = createHttp(app);
  await fill({ app, database, http, given: createGiven({ database: { ...database, url: undefined }, http, clock }), clock });
  await app.close();
  if (dataDir) {
    const directory = dataDir;
    await database.close();
    return { env, cleanup: async () => rmSync(directory, { recursive: true, force: true }) };
  }
  // Closing a test database drops it: keep it until the commands have run.
  return { env, cleanup: () => database.close() };
}

beforeAll(async () => {
  const prepared = await preparedDatabase(async ({ database, http, given, clock }) => {
    org = await given.org({ seats: 5, members: 1, slug: 'cli-acme' });
    await given.invitation(org, { email: 'pending@example.com' });
    handover = await given.org({ seats: 5, members: 2, slug: 'cli-handover' });
    disabledMember = handover.members[1]!;
    expect((await http.post(`/api/v1/org/members/${disabledMember.id}/disable`, { as: handover.owner })).status).toBe(200);
    outsider = (await given.user()).email;
    removal = await given.org({ seats: 5, members: 1, slug: 'cli-removal' });
    scripted = await given.org({ seats: 5, members: 2, slug: 'cli-json' });
    await given.invitation(scripted, { email: 'json-invitee@example.com' });
    await given.invitation(removal, { email: 'revoke-me@example.com' });
    // Stored before names with control characters were refused (the service refuses them now, so
    // written here as they were then): a token name and an operator's label with line breaks.
    const config = loadConfig({ PUBLIC_URL: TEST_PUBLIC_URL, LOG_LEVEL: 'silent' });
    const forger = {
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
        via: 'operator' as const,
        credentialId: null,
      },
    };
    await database.db.transaction(async (tx) => {
      const created = await insertServiceToken(tx, {
        name: 'legacy\nforged-token  [admin]',
        scopes: ['authz:read'],
        tokenHash: Buffer.alloc(32, 7),
        now: clock.now(),
      });
      await recordGlobalAudit(tx, forger, {
        action: 'service_token.created',
        targetType: 'service_token',
        targetId: created.id,
        after: { name: created.name, scopes: created.scopes },
      });
    });
  });
  env = prepared.env;
  cleanup = prepared.cleanup;
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

  it('stops quietly when the reader of its output has gone (`| head -3`), exit 0 (regression: an EPIPE stack trace)', async () => {
    const piped = await runRosterIntoClosedPipe(['admin', 'show-org', 'cli-acme'], operatorEnv());
    expect(piped.stderr).toBe('');
    expect([piped.code, piped.signal]).toEqual([0, null]);
  });

  it('reads every numeric option as a whole number, digits only (regression: show-org --limit took 0x2 and 1e1)', async () => {
    const mistakes: [string[], string, string][] = [
      [['show-org', 'cli-acme', '--limit', 'abc'], '--limit', 'abc'],
      [['show-org', 'cli-acme', '--limit', '0x2'], '--limit', '0x2'],
      [['show-org', 'cli-acme', '--limit', '1e1'], '--limit', '1e1'],
      [['show-org', 'cli-acme', '--limit', '2.0'], '--limit', '2.0'],
      [['show-org', 'cli-acme', '--limit', '-1'], '--limit', '-1'],
      [['show-org', 'cli-acme', '--limit', ' 2'], '--limit', ' 2'],
      [['audit', 'cli-acme', '--limit', '1e1'], '--limit', '1e1'],
      [['global-audit', '--limit', '0x2'], '--limit', '0x2'],
      [['set-plan', 'cli-acme', '--plan', 'team', '--seats', '1e1'], '--seats', '1e1'],
    ];
    for (const [args, option, value] of mistakes) {
      const result = await roster(...args);
      expect([result.code, result.stdout], args.join(' ')).toEqual([EXIT_USAGE, '']);
      expect(result.stderr.trim()).toBe(`roster: ${option} must be a whole number, not "${value}".`);
    }
    // A whole number out of range: the command's own message, as for audit --limit.
    for (const args of [
      ['show-org', 'cli-acme', '--limit', '0'],
      ['audit', 'cli-acme', '--limit', '0'],
    ]) {
      const result = await roster(...args);
      expect(result.code).toBe(EXIT_USAGE);
      expect(result.stderr).toContain('Choose a limit between 1 and 1000 entries.');
    }
    const one = await roster('show-org', 'cli-acme', '--limit', '1', '--json');
    expect(one.code, one.stderr).toBe(0);
    expect(JSON.parse(one.stdout).members).toHaveLength(1);
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
      billing: { status: 'active', billed_by: 'local', managed_by_support: false, over_capacity: false },
      allocation: { monthly: 5 * 1000, used: 0, remaining: 5 * 1000 },
    });
    expect(report.members).toHaveLength(2);
    const text = await roster('show-org', 'cli-acme');
    expect(text.stdout).toContain('pending@example.com');
    expect(text.stdout).toContain('Seats: 3 of 5 used');
    expect(text.stdout).toContain('Plan: team — active, billed by local');
    expect(text.stdout).toContain('Usage allocation this month: 0 of 5000 used, 5000 left');
  });

  it('show-user tells support why someone cannot sign in, reading only', async () => {
    const disabled = await roster('show-user', disabledMember.email.toUpperCase(), '--json');
    expect(disabled.code, disabled.stderr).toBe(0);
    expect(JSON.parse(disabled.stdout)).toMatchObject({
      email: disabledMember.email,
      email_verified: false,
      disabled_at: expect.any(String),
      org: { slug: 'cli-handover', role: 'member' },
      sessions: 0,
      failed_sign_ins: { count: 0, limit: 10, retry_after_seconds: 0 },
    });
    const text = await roster('show-user', disabledMember.email);
    expect(text.stdout).toMatch(/Status: DISABLED since .* \(enable-user re-enables\)/);
    expect(text.stdout).toContain('Organization: cli-handover (member)');
    const loner = await roster('show-user', outsider);
    expect(loner.stdout).toContain('Organization: none');
    expect(loner.stdout).toContain('Status: active');
    const unknown = await roster('show-user', 'nobody@example.com');
    expect(unknown.code).toBe(EXIT_NOT_FOUND);
    expect(unknown.stderr).toContain('No account uses the address nobody@example.com.');
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
    // The documented code follows the message (regression: invalid_plan was never shown).
    expect(outcomes[0]?.stderr.trim()).toMatch(/ \(invalid_plan\)$/);
    expect(outcomes[7]?.stderr.trim()).toMatch(/ \(invalid_email\)$/);
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
    // What else it ended, so support can tell the user (regression: only "sessions are revoked").
    expect(disabled.stdout).toMatch(
      /Also: \d+ sessions? ended, \d+ API tokens? revoked, left \d+ projects?, \d+ pending admin invitations? revoked\./,
    );
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
      'usage.allocation_changed', // entering Enterprise: Team's credits per seat, then unlimited
      'billing.subscription_changed', // Enterprise without --seats: 25
    ]);
    for (const entry of entries) expect(entry).toMatchObject({ actor: null, actor_label: 'operator:support-sam' });
    const text = await roster('audit', 'cli-acme', '--limit', '1');
    expect(text.stdout).toContain(`operator:support-sam member.enabled user:${member.id} (${member.email}) `);
    // Paging back from an entry as the list prints it, "#id" (regression: global-audit refused it).
    const newest = /^#(\d+) /.exec(text.stdout)![1]!;
    const older = JSON.parse((await roster('audit', 'cli-acme', '--json', '--limit', '1', '--before', `#${newest}`)).stdout);
    expect(older.map((entry: any) => [entry.id, entry.action])).toEqual([[entries[1].id, 'member.disabled']]);
    const globalPage = await roster('global-audit', '--before', '#999999999');
    expect([globalPage.code, globalPage.stderr]).toEqual([0, '']);
    const bad = await roster('audit', 'cli-acme', '--before', '#x');
    expect([bad.code, bad.stderr.trim()]).toEqual([
      EXIT_USAGE,
      'roster: --before must be the id of an entry as listed (#12 or 12), not "#x".',
    ]);
  });

  it('remove-member and revoke-invite act as the owner could, audited as the operator; the owner is refused', async () => {
    const member = removal.members[0]!;
    const owner = await roster('remove-member', 'cli-removal', removal.owner.email);
    expect([owner.code, owner.stderr.trim()]).toEqual([
      EXIT_REFUSED,
      `roster: ${removal.owner.email} owns cli-removal: transfer ownership first. (cannot_remove_owner)`,
    ]);
    const removed = await roster('remove-member', 'cli-removal', member.email);
    expect([removed.code, removed.stdout]).toEqual([
      0,
      `Removed ${member.email} from cli-removal; their seat is free.\nAlso: left 0 projects, 0 pending admin invitations revoked.\n`,
    ]);
    expect((await roster('remove-member', 'cli-removal', member.email)).code).toBe(EXIT_REFUSED);

    const revoked = await roster('revoke-invite', 'cli-removal', 'Revoke-Me@example.com');
    expect([revoked.code, revoked.stdout.trim()]).toEqual([
      0,
      'Revoked the invitation of Revoke-Me@example.com to cli-removal; its seat is free.',
    ]);
    const again = await roster('revoke-invite', 'cli-removal', 'revoke-me@example.com');
    expect(again.code).toBe(EXIT_NOT_FOUND);

    const shown = JSON.parse((await roster('show-org', 'cli-removal', '--json')).stdout);
    expect([shown.members.length, shown.pending_invitations]).toEqual([1, []]);
    const audit = JSON.parse((await roster('audit', 'cli-removal', '--json', '--limit', '2')).stdout);
    expect(audit.map((entry: any) => [entry.action, entry.actor_label])).toEqual([
      ['invite.revoked', 'operator:support-sam'],
      ['member.removed', 'operator:support-sam'],
    ]);
  });

  it('prints what changed as JSON with --json on every command that changes state, for scripts', async () => {
    const [member, next] = scripted.members;
    const json = async (...args: string[]) => {
      const result = await roster(...args, '--json');
      expect([result.code, result.stderr], args.join(' ')).toEqual([0, '']);
      return JSON.parse(result.stdout);
    };
    expect(await json('disable-user', member!.email)).toEqual({
      user_id: member!.id,
      email: member!.email,
      changed: true,
      status: 'disabled',
      org_slug: 'cli-json',
      sessions_ended: 1,
      api_tokens_revoked: 0,
      projects_left: 0,
      admin_invites_revoked: 0,
    });
    expect(await json('enable-user', member!.email)).toEqual({
      user_id: member!.id,
      email: member!.email,
      changed: true,
      status: 'active',
      org_slug: 'cli-json',
    });
    expect(await json('revoke-invite', 'cli-json', 'json-invitee@example.com')).toEqual({
      org_slug: 'cli-json',
      email: 'json-invitee@example.com',
    });
    expect(await json('remove-member', 'cli-json', member!.email)).toEqual({
      org_slug: 'cli-json',
      email: member!.email,
      projects_left: 0,
      admin_invites_revoked: 0,
    });
    expect(await json('transfer-ownership', 'cli-json', '--to', next!.email)).toEqual({
      org_slug: 'cli-json',
      owner: { user_id: next!.id, email: next!.email },
      previous_owner: { user_id: scripted.owner.id, email: scripted.owner.email, role: 'admin' },
    });
    expect(await json('set-plan', 'cli-json', '--plan', 'team', '--seats', '6')).toEqual({
      org_slug: 'cli-json',
      changed: true,
      plan: 'team',
      seats: 6,
      storage_limit_bytes: 6 * 1024 ** 3,
    });
    const created = await json('create-service-token', '--name', 'scripted', '--scopes', 'authz:read');
    expect(created).toEqual({
      id: expect.any(String),
      name: 'scripted',
      scopes: ['authz:read'],
      token: expect.stringMatching(/^rs_svc_/),
    });
    expect(await json('revoke-service-token', created.id)).toEqual({ id: created.id, name: 'scripted', changed: true });
  });

  it('set-allocation sets an Enterprise allocation or makes it unlimited, audited; refuses bad values and Team orgs', async () => {
    const set = await roster('set-allocation', 'cli-acme', '--monthly', '5000');
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain('cli-acme now has 5000 credits per month (0 used this month).');
    const unlimited = await roster('set-allocation', 'cli-acme', '--monthly', 'unlimited');
    expect(unlimited.code, unlimited.stderr).toBe(0);
    expect(unlimited.stdout).toContain('cli-acme now has unlimited credits (');
    expect((await roster('set-allocation', 'cli-acme', '--monthly', 'unlimited')).stdout).toContain('nothing changed');
    const bad = await roster('set-allocation', 'cli-acme', '--monthly', 'lots');
    expect(bad.code).toBe(EXIT_USAGE);
    expect(bad.stderr).toContain('"unlimited"');
    expect((await roster('set-allocation', 'no-such-org', '--monthly', '5')).code).toBe(EXIT_NOT_FOUND);

    const audit = JSON.parse((await roster('audit', 'cli-acme', '--json', '--action', 'usage.allocation_changed')).stdout);
    expect(audit.map((entry: any) => [entry.actor_label, entry.before, entry.after])).toEqual([
      ['operator:support-sam', { monthly: 5000 }, { monthly: null }],
      ['operator:support-sam', { monthly: null }, { monthly: 5000 }],
      // Entering Enterprise (set-plan, earlier): from Team's 1,000 credits a seat to unlimited.
      ['operator:support-sam', { monthly: 5000 }, { monthly: null }],
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

  it('refuses a blank or overlong ROSTER_OPERATOR (EXIT_USAGE), changing nothing (regression: audited as "operator:   ")', async () => {
    for (const [name, message] of [
      ['   ', 'ROSTER_OPERATOR must name you: it is blank.'],
      ['\u00a0', 'ROSTER_OPERATOR must name you: it is blank.'],
      ['x'.repeat(101), 'ROSTER_OPERATOR must be at most 100 characters.'],
    ]) {
      const result = await runRosterInProcess(
        ['admin', 'create-service-token', '--name', 'blank-operator', '--scopes', 'authz:read'],
        {
          ...operatorEnv(),
          ROSTER_OPERATOR: name!,
        },
      );
      expect([result.code, result.stdout]).toEqual([EXIT_USAGE, '']);
      expect(result.stderr.trim()).toBe(`roster: ${message}`);
    }
    const tokens = JSON.parse((await roster('list-service-tokens', '--json')).stdout) as { name: string }[];
    expect(tokens.map((token) => token.name)).not.toContain('blank-operator');
  });

  it('under sudo, without ROSTER_OPERATOR, audits the person who ran sudo (SUDO_USER), not root', async () => {
    const result = await runRosterInProcess(['admin', 'create-service-token', '--name', 'under sudo', '--scopes', 'authz:read'], {
      ...operatorEnv(),
      ROSTER_OPERATOR: '',
      SUDO_USER: 'alice-admin',
    });
    expect(result.code, result.stderr).toBe(0);
    const [entry] = JSON.parse((await roster('global-audit', '--json', '--limit', '1')).stdout);
    expect(entry).toMatchObject({ action: 'service_token.created', actor_label: 'operator:alice-admin' });
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

describe('roster admin set-plan on an org billed through Stripe (regression: the CLI always used the local provider)', () => {
  const WEBHOOK_SECRET = 'whsec_roster_cli_test';
  let stub: StripeStub;
  let stripeEnv: Record<string, string>;
  let database: { env: Record<string, string>; cleanup: () => Promise<void> } | undefined;
  const subscriptionId = 'sub_cli_stripe_1';

  beforeAll(async () => {
    stub = await startStripeStub();
    stripeEnv = {
      STRIPE_SECRET_KEY: 'sk_test_roster',
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_PRICE_TEAM: STUB_PRICE_TEAM,
      STRIPE_API_BASE: stub.url,
    };
    // As src/billing/stripe.test.ts buys Team: Checkout, the subscription at Stripe, its signed webhook.
    database = await preparedDatabase(async ({ app, database, http, given }) => {
      const owner = await given.user();
      const checkout = await http.post('/api/v1/billing/checkout', {
        as: owner,
        body: { plan: 'team', seats: 5, scope: 'personal' },
      });
      expect(checkout.status, JSON.stringify(checkout.body)).toBe(200);
      const [customer] = await queryRows<{ id: string }>(
        database.db,
        sql`SELECT provider_customer_id AS id FROM billing_customers WHERE user_id = ${owner.id}`,
      );
      stub.setSubscription({ id: subscriptionId, customer: customer!.id, quantity: 5 });
      const completed = signedEvent(
        {
          type: 'checkout.session.completed',
          object: {
            id: 'cs_cli',
            object: 'checkout.session',
            mode: 'subscription',
            customer: customer!.id,
            subscription: subscriptionId,
          },
        },
        { secret: WEBHOOK_SECRET },
      );
      const delivered = await app.inject({
        method: 'POST',
        url: '/api/v1/billing/webhook',
        headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': completed.signature },
        payload: completed.body,
      });
      expect(delivered.statusCode, delivered.body).toBe(200);
      const created = await http.post('/api/v1/org', { as: owner, body: { name: 'Stripe Org', slug: 'cli-stripe' } });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
    }, stripeEnv);
    stub.requests.length = 0;
  }, 120_000);

  afterAll(async () => {
    await database?.cleanup();
    await stub?.close();
  });

  const setPlan = (...args: string[]) =>
    runRosterInProcess(['admin', 'set-plan', 'cli-stripe', '--plan', 'enterprise', ...args], {
      ...database!.env,
      ...stripeEnv,
      ROSTER_OPERATOR: 'support-sam',
      LOG_LEVEL: 'silent',
    });

  it('cancels the Stripe subscription (prorated) with --cancel-subscription and moves the org to Enterprise', async () => {
    const refused = await setPlan('--seats', '30');
    expect(refused.code).toBe(EXIT_REFUSED);
    expect(refused.stderr).toContain('(provider_subscription_active)');
    expect(stub.requests).toEqual([]);

    const moved = await setPlan('--seats', '30', '--cancel-subscription');
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout).toContain('cli-stripe is now on enterprise with 30 seats and unlimited storage.');
    expect(stub.requests.filter((request) => request.method === 'DELETE')).toEqual([
      { method: 'DELETE', path: `/v1/subscriptions/${subscriptionId}`, params: { prorate: 'true', invoice_now: 'true' } },
    ]);
    expect(stub.subscriptions.get(subscriptionId)?.status).toBe('canceled');
  });
});
