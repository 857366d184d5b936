import { Option, type Command } from 'commander';
import { loadConfig } from '../config.ts';
import { systemClock, type Ctx } from '../core/context.ts';
import { AppError } from '../core/errors.ts';
import { createBillingProvider } from '../billing/select-provider.ts';
import { openDatabase, type Database } from '../db/client.ts';
import { schemaStatus } from '../db/migrate.ts';
import * as support from '../admin/service.ts';
import { presentAuditEntry } from '../audit/present.ts';
import { CliError, EXIT_CONFIG, EXIT_NOT_FOUND, EXIT_REFUSED, EXIT_USAGE } from './errors.ts';
import { describeDatabase } from './failures.ts';
import { entryId, wholeNumber } from './numbers.ts';
import { operatorName } from './operator.ts';
import { printable, refuseControlCharacters } from './text.ts';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Opens the configured database and a context whose actor is the operator running the CLI. */
export async function withOperator<T>(work: (ctx: Ctx, database: Database) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const operator = operatorName();
  if (!config.databaseUrl) requireEmbeddedDatabase(config.dataDir);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    await requireCurrentSchema(
      database,
      config.databaseUrl ? describeDatabase(config.databaseUrl) : `in DATA_DIR ${resolve(config.dataDir)}`,
    );
    const ctx: Ctx = {
      db: database.db,
      config,
      clock: systemClock,
      // The server's provider (Stripe when configured): set-plan --cancel-subscription cancels there.
      billing: createBillingProvider(config),
      requestId: `cli-${randomUUID()}`,
      actor: {
        userId: '00000000-0000-0000-0000-000000000000',
        email: `${operator}@operator`,
        name: operator,
        emailVerified: true,
        membership: null,
        via: 'operator',
        credentialId: null,
      },
    };
    return await work(ctx, database);
  } catch (error) {
    throw error instanceof AppError ? toCliError(error) : error;
  } finally {
    await database.close();
  }
}

/**
 * Admin commands never migrate: on a database that is not the server's (DATABASE_URL or DATA_DIR
 * mistyped) they would create Roster's tables and act there, e.g. print a service token that no
 * server knows; on one not migrated yet (a rolling upgrade before `roster migrate`) they would
 * migrate it from under the running servers. Only `start` and `migrate` migrate.
 */
async function requireCurrentSchema(database: Database, where: string): Promise<void> {
  const status = await schemaStatus(database.db);
  if (status.state === 'none') {
    throw new CliError(
      `the database ${where} holds no Roster data: check that DATABASE_URL (or DATA_DIR) names the server's database; ` +
        'for a new one, run `roster migrate` first.',
      EXIT_CONFIG,
    );
  }
  if (status.state === 'behind') {
    throw new CliError(
      `the database ${where} is not migrated to this version (${status.pending.length} pending, up to ${status.pending.at(-1)}): ` +
        'run `roster migrate` first.',
      EXIT_CONFIG,
    );
  }
}

/**
 * An admin command acts on the server's data: on a DATA_DIR that holds no database yet (unset or
 * mistyped) it would create an empty one (seconds and most of a gigabyte) and act on that, e.g.
 * print a service token that no server knows. Only `start` and `migrate` create the directory.
 */
function requireEmbeddedDatabase(dataDir: string): void {
  if (existsSync(join(dataDir, 'PG_VERSION'))) return;
  throw new CliError(
    `DATA_DIR ${resolve(dataDir)} holds no Roster database. Set DATA_DIR to the server's data directory ` +
      "(or DATABASE_URL to the server's PostgreSQL); `roster migrate` or `roster start` creates a new one.",
    EXIT_NOT_FOUND,
  );
}

/** Domain refusals become operator messages with an exit code per kind of failure. */
function toCliError(error: AppError): CliError {
  if (error.code.endsWith('_not_found')) return new CliError(error.message, EXIT_NOT_FOUND, error.code);
  if (error.code.startsWith('invalid_')) return new CliError(`${error.message} (${error.code})`, EXIT_USAGE, error.code);
  return new CliError(`${error.message} (${error.code})`, EXIT_REFUSED, error.code);
}

function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

const JSON_OPTION = ['--json', 'print JSON (what changed, for scripts)'] as const;

/** A command's outcome: `json` with --json, else the text lines for a person. */
function reply(options: { json?: boolean }, json: unknown, text: () => (string | false)[]): void {
  if (options.json) return printJson(json);
  for (const line of text()) if (line !== false) console.log(line);
}

const NO_ORG_NOTE = 'The user belongs to no organization: the global audit log records this (roster admin global-audit).';

export function registerAdminCommands(program: Command): void {
  const admin = program.command('admin').description('Support operations (every change to an organization is audited)');

  admin
    .command('enable-user <email>')
    .description('Re-enable a disabled account (the only way to re-enable one)')
    .option(...JSON_OPTION)
    .action(async (email: string, options: { json?: boolean }) => {
      await withOperator(async (ctx) => {
        const result = await support.enableUser(ctx, { email });
        reply(options, presentStatusChange(result, 'active'), () => [
          result.changed ? `Enabled ${result.email}.` : `${result.email} is not disabled; nothing changed.`,
          result.changed && !result.orgSlug && NO_ORG_NOTE,
        ]);
      });
    });

  admin
    .command('disable-user <email>')
    .description('Disable an account: every session and API token stops working at once')
    .option(...JSON_OPTION)
    .action(async (email: string, options: { json?: boolean }) => {
      await withOperator(async (ctx) => {
        const result = await support.disableUser(ctx, { email });
        const { sessionsEnded, apiTokensRevoked, projectsLeft, adminInvitesRevoked } = result.sideEffects;
        const json = {
          ...presentStatusChange(result, 'disabled'),
          sessions_ended: sessionsEnded,
          api_tokens_revoked: apiTokensRevoked,
          projects_left: projectsLeft,
          admin_invites_revoked: adminInvitesRevoked,
        };
        reply(options, json, () => [
          result.changed ? `Disabled ${result.email}.` : `${result.email} is already disabled.`,
          result.changed && describeDisable(result.sideEffects),
          result.changed && !result.orgSlug && NO_ORG_NOTE,
        ]);
      });
    });

  admin
    .command('transfer-ownership <slug>')
    .description(
      'Make an active member the owner of an organization; the owner becomes an admin (then disable-user can disable them)',
    )
    .requiredOption('--to <email>', 'the new owner: an active member of the organization')
    .option(...JSON_OPTION)
    .action(async (slug: string, options: { to: string; json?: boolean }) => {
      await withOperator(async (ctx) => {
        const { org, owner, previousOwner } = await support.transferOwnership(ctx, { slug, toEmail: options.to });
        const json = {
          org_slug: org.slug,
          owner: { user_id: owner.userId, email: owner.email },
          previous_owner: { user_id: previousOwner.userId, email: previousOwner.email, role: previousOwner.role },
        };
        reply(options, json, () => [
          `${printable(owner.email)} now owns ${org.slug}; the previous owner ${printable(previousOwner.email)} is an admin.`,
        ]);
      });
    });

  admin
    .command('remove-member <slug> <email>')
    .description('Remove a member from an organization, as its owner could (the owner is refused: transfer ownership first)')
    .option(...JSON_OPTION)
    .action(async (slug: string, email: string, options: { json?: boolean }) => {
      await withOperator(async (ctx) => {
        const { org, email: removed, released } = await support.removeMember(ctx, { slug, email });
        const json = {
          org_slug: org.slug,
          email: removed,
          projects_left: released.projectsLeft,
          admin_invites_revoked: released.adminInvitesRevoked,
        };
        reply(options, json, () => [
          `Removed ${printable(removed)} from ${org.slug}; their seat is free.`,
          `Also: ${describeReleased(released)}.`,
        ]);
      });
    });

  admin
    .command('revoke-invite <slug> <email>')
    .description("Revoke an organization's pending invitation to an address: its link stops working and its seat is free")
    .option(...JSON_OPTION)
    .action(async (slug: string, email: string, options: { json?: boolean }) => {
      await withOperator(async (ctx) => {
        const { org, email: revoked } = await support.revokeInvite(ctx, { slug, email });
        reply(options, { org_slug: org.slug, email: revoked }, () => [
          `Revoked the invitation of ${printable(revoked)} to ${org.slug}; its seat is free.`,
        ]);
      });
    });

  admin
    .command('set-plan <slug>')
    .description("Set an organization's plan and seats (Enterprise is managed only here)")
    // Checked by setPlan (invalid_plan), not by the parser, so the refusal names its code.
    .addOption(new Option('--plan <plan>', 'team or enterprise').makeOptionMandatory())
    .option(
      '--seats <n>',
      'number of seats (at least members plus pending invitations); required for team, enterprise defaults to 25',
      wholeNumber('--seats'),
    )
    .option(
      '--cancel-subscription',
      'when the org pays through Stripe: cancel that subscription now (prorated) as part of the change; without it the change is refused, so the customer is never billed twice',
    )
    .option(...JSON_OPTION)
    .action(async (slug: string, options: { plan: string; seats?: number; cancelSubscription?: boolean; json?: boolean }) => {
      await withOperator(async (ctx) => {
        const view = await support.setPlan(ctx, {
          slug,
          plan: options.plan,
          seats: options.seats,
          cancelSubscription: options.cancelSubscription === true,
        });
        const storage = view.storageLimitBytes === null ? 'unlimited storage' : `${view.storageLimitBytes} bytes of storage`;
        const json = {
          org_slug: view.org.slug,
          changed: view.changed,
          plan: view.org.plan,
          seats: view.org.seatLimit,
          storage_limit_bytes: view.storageLimitBytes,
        };
        reply(options, json, () => [
          view.changed
            ? `${view.org.slug} is now on ${view.org.plan} with ${view.org.seatLimit} seats and ${storage}.`
            : `${view.org.slug} is already on ${view.org.plan} with ${view.org.seatLimit} seats; nothing changed.`,
        ]);
      });
    });

  admin
    .command('set-allocation <slug>')
    .description("Set an Enterprise organization's monthly usage allocation (credits), or make it unlimited")
    .requiredOption('--monthly <n>', 'credits per UTC month, or "unlimited"')
    .option(...JSON_OPTION)
    .action(async (slug: string, options: { monthly: string; json?: boolean }) => {
      await withOperator(async (ctx) => {
        const result = await support.setAllocation(ctx, { slug, monthly: options.monthly });
        const { monthly, used } = result.allocation;
        const amount = monthly === null ? 'unlimited credits' : `${monthly} credits per month`;
        reply(options, { org_slug: result.org.slug, changed: result.changed, allocation: result.allocation }, () => [
          result.changed
            ? `${result.org.slug} now has ${amount} (${used} used this month).`
            : `${result.org.slug} already has ${amount}; nothing changed.`,
        ]);
      });
    });

  admin
    .command('show-org <slug>')
    .description('Members, seats, pending invitations, plan and storage of an organization')
    .option('--json', 'print JSON')
    .option(
      '--limit <n>',
      'members and pending invitations to list (the first ones; counts are always whole)',
      wholeNumber('--limit'),
      100,
    )
    .action(async (slug: string, options: { json?: boolean; limit: number }) => {
      await withOperator(async (ctx) => {
        const report = await support.showOrg(ctx, { slug, limit: options.limit });
        const { org, seats } = report;
        const json = {
          id: org.id,
          name: org.name,
          slug: org.slug,
          plan: org.plan,
          seats: { limit: org.seatLimit, active_members: seats.activeMembers, pending_invites: seats.pendingInvites },
          storage: { used_bytes: org.storageUsedBytes, limit_bytes: report.storageLimitBytes },
          billing: {
            status: report.billing.status,
            billed_by: report.billing.provider,
            managed_by_support: report.billing.managedBySupport,
            over_capacity: report.billing.overCapacity,
            current_period_end: report.billing.currentPeriodEnd?.toISOString() ?? null,
            cancel_at_period_end: report.billing.cancelAtPeriodEnd,
          },
          allocation: report.billing.allocation,
          member_count: report.memberCount,
          members: report.members.map((member) => ({
            email: member.email,
            name: member.displayName,
            role: member.role,
            status: member.status,
            usage_limit: member.usageLimit ?? null,
          })),
          pending_invitations: report.pendingInvitations.map((invite) => ({
            email: invite.email,
            role: invite.role,
            created_at: invite.createdAt.toISOString(),
            expires_at: invite.expiresAt.toISOString(),
          })),
        };
        if (options.json) return printJson(json);
        console.log(`${printable(org.name)} (${org.slug}) — id ${org.id}`);
        const { billing } = report;
        const billedBy =
          billing.provider === 'operator' ? 'set by support' : billing.provider ? `billed by ${billing.provider}` : null;
        console.log(
          `Plan: ${org.plan ?? 'none'} — ${billing.status}${billedBy ? `, ${billedBy}` : ''}` +
            `${billing.overCapacity ? ', OVER CAPACITY (more members and invitations than seats)' : ''}` +
            `${billing.currentPeriodEnd ? `, period ends ${billing.currentPeriodEnd.toISOString()}${billing.cancelAtPeriodEnd ? ' (cancels then)' : ''}` : ''}`,
        );
        const allocation = billing.allocation;
        console.log(
          `Usage allocation this month: ${allocation.monthly === null ? `unlimited (${allocation.used} used)` : `${allocation.used} of ${allocation.monthly} used, ${allocation.remaining} left`}`,
        );
        console.log(
          `Seats: ${seats.activeMembers + seats.pendingInvites} of ${org.seatLimit} used — ${seats.activeMembers} members, ${seats.pendingInvites} pending`,
        );
        console.log(`Storage: ${org.storageUsedBytes} of ${report.storageLimitBytes ?? 'unlimited'} bytes`);
        const firstOf = (shown: number, total: number) =>
          shown < total ? ` (first ${shown} of ${total}; --limit shows more)` : '';
        console.log(`Members: ${report.memberCount}${firstOf(json.members.length, report.memberCount)}`);
        for (const member of json.members)
          console.log(
            `  ${member.role.padEnd(6)} ${member.status.padEnd(8)} ${printable(member.email)}  ${printable(member.name)}`,
          );
        console.log(
          `Pending invitations: ${json.pending_invitations.length === 0 ? 'none' : seats.pendingInvites}${firstOf(json.pending_invitations.length, seats.pendingInvites)}`,
        );
        for (const invite of json.pending_invitations)
          console.log(`  ${invite.role.padEnd(6)} ${printable(invite.email)}  expires ${invite.expires_at}`);
      });
    });

  admin
    .command('show-user <email>')
    .description(
      'An account: disabled or not, email verified or not, its organization and role, live sessions and API tokens, failed sign-ins now (reads only)',
    )
    .option('--json', 'print JSON')
    .action(async (email: string, options: { json?: boolean }) => {
      await withOperator(async (ctx) => {
        const user = await support.showUser(ctx, { email });
        const json = {
          id: user.id,
          email: user.email,
          name: user.name,
          email_verified: user.emailVerified,
          disabled_at: user.disabledAt?.toISOString() ?? null,
          created_at: user.createdAt.toISOString(),
          org: user.membership ? { id: user.membership.orgId, slug: user.membership.slug, role: user.membership.role } : null,
          sessions: user.sessions,
          api_tokens: user.apiTokens,
          failed_sign_ins: {
            count: user.failedSignIns.count,
            limit: user.failedSignIns.limit,
            retry_after_seconds: user.failedSignIns.retryAfterSeconds,
          },
        };
        if (options.json) return printJson(json);
        console.log(`${printable(user.email)} (${printable(user.name)}) — id ${user.id}, since ${json.created_at}`);
        console.log(`Status: ${user.disabledAt ? `DISABLED since ${json.disabled_at} (enable-user re-enables)` : 'active'}`);
        console.log(`Email: ${user.emailVerified ? 'verified' : 'not verified'}`);
        console.log(`Organization: ${user.membership ? `${user.membership.slug} (${user.membership.role})` : 'none'}`);
        console.log(`Signed in: ${user.sessions} live sessions, ${user.apiTokens} API tokens`);
        const { count, limit, retryAfterSeconds } = user.failedSignIns;
        console.log(
          `Failed sign-ins in the last 15 minutes: ${count} of ${limit}` +
            (retryAfterSeconds > 0 ? ` — sign-in is refused (429) for ${Math.ceil(retryAfterSeconds / 60)} more minutes` : ''),
        );
      });
    });

  admin
    .command('create-service-token')
    .description("Create a service token for the host app's backend; it is printed once (only its hash is kept)")
    .requiredOption('--name <name>', 'what the token is for, e.g. "billing backend" (one line)', (value: string) =>
      refuseControlCharacters(value, '--name'),
    )
    .requiredOption('--scopes <scopes>', 'comma-separated: usage:write, authz:read, storage:write, webhooks:manage')
    .option(...JSON_OPTION)
    .action(async (options: { name: string; scopes: string; json?: boolean }) => {
      await withOperator(async (ctx) => {
        const { token, record } = await support.createServiceToken(ctx, { name: options.name, scopes: options.scopes });
        reply(options, { id: record.id, name: record.name, scopes: record.scopes, token }, () => [
          `Created service token ${record.id} "${printable(record.name)}" with scopes ${record.scopes.join(', ')}.`,
          'Copy it now; it is not shown again:',
          token,
          'Service tokens are global (no organization): the global audit log records this (roster admin global-audit).',
        ]);
      });
    });

  admin
    .command('list-service-tokens')
    .description('Service tokens: id, name, scopes, created, last used (to the minute) and revoked times (never the tokens)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      await withOperator(async (ctx) => {
        const tokens = await support.listServiceTokens(ctx);
        const json = tokens.map((token) => ({
          id: token.id,
          name: token.name,
          scopes: token.scopes,
          created_at: token.createdAt.toISOString(),
          revoked_at: token.revokedAt?.toISOString() ?? null,
          last_used_at: token.lastUsedAt?.toISOString() ?? null,
        }));
        if (options.json) return printJson(json);
        if (json.length === 0) console.log('No service tokens.');
        for (const token of json) {
          const state = token.revoked_at ? `revoked ${token.revoked_at}` : 'active';
          const used = token.last_used_at ? `last used ${token.last_used_at}` : 'never used';
          console.log(
            `${token.id}  ${printable(token.name)}  [${token.scopes.join(',')}]  created ${token.created_at}  ${used}  ${state}`,
          );
        }
      });
    });

  admin
    .command('revoke-service-token <id>')
    .description('Revoke a service token: its next request is refused (401)')
    .option(...JSON_OPTION)
    .action(async (id: string, options: { json?: boolean }) => {
      await withOperator(async (ctx) => {
        const { record, changed } = await support.revokeServiceToken(ctx, { id });
        reply(options, { id: record.id, name: record.name, changed }, () => [
          changed ? `Revoked service token ${record.id} "${printable(record.name)}".` : `${record.id} was already revoked.`,
        ]);
      });
    });

  admin
    .command('audit <slug>')
    .description("Recent entries of an organization's audit log, newest first")
    .option('--limit <n>', 'how many entries', wholeNumber('--limit'), 50)
    .option('--before <id>', 'only entries older than this one (its #id), to page back', entryId('--before'))
    .option('--action <action>', 'only this action, e.g. member.disabled')
    .option('--actor <actor>', 'only this actor: user id, email or operator:<name>')
    .option('--json', 'print JSON')
    .action(
      async (slug: string, options: { limit: number; before?: string; action?: string; actor?: string; json?: boolean }) => {
        await withOperator(async (ctx) => {
          const { entries } = await support.orgAudit(ctx, { slug, ...options });
          if (options.json) return printJson(entries.map(presentAuditEntry));
          if (entries.length === 0) console.log('No audit entries.');
          for (const entry of entries) {
            const label = entry.targetLabel ? ` (${printable(entry.targetLabel)})` : '';
            const target = entry.targetType ? ` ${entry.targetType}:${entry.targetId}${label}` : '';
            const change = `${JSON.stringify(entry.before)} -> ${JSON.stringify(entry.after)}`;
            console.log(
              `#${entry.id} ${entry.createdAt.toISOString()} ${printable(entry.actorLabel)} ${entry.action}${target} ${change}`,
            );
          }
        });
      },
    );

  admin
    .command('global-audit')
    .description(
      'Recent changes that belong to no organization (service tokens, webhook endpoints, accounts outside any org), newest first',
    )
    .option('--limit <n>', 'how many entries', wholeNumber('--limit'), 50)
    .option('--before <id>', 'only entries older than this one (its #id), to page back', entryId('--before'))
    .option('--json', 'print JSON')
    .action(async (options: { limit: number; before?: string; json?: boolean }) => {
      await withOperator(async (ctx) => {
        const entries = await support.globalAudit(ctx, { limit: options.limit, before: options.before });
        if (options.json)
          return printJson(
            // The org audit's entry shape (`admin audit --json`, GET /org/audit): no user acts here.
            entries.map((entry) => ({
              id: entry.id,
              action: entry.action,
              actor: null,
              actor_label: entry.actorLabel,
              target_type: entry.targetType,
              target_id: entry.targetId,
              before: entry.before,
              after: entry.after,
              created_at: entry.createdAt.toISOString(),
              request_id: entry.requestId,
            })),
          );
        if (entries.length === 0) console.log('No global audit entries.');
        for (const entry of entries) {
          const change = `${JSON.stringify(entry.before)} -> ${JSON.stringify(entry.after)}`;
          console.log(
            `#${entry.id} ${entry.createdAt.toISOString()} ${printable(entry.actorLabel)} ${entry.action} ${entry.targetType}:${entry.targetId} ${change}`,
          );
        }
      });
    });
}

/** What a disable also did, so support can tell the user (enable-user brings none of it back). */
function describeDisable(done: support.UserStatusChange['sideEffects']): string {
  return [
    `Also: ${count(done.sessionsEnded, 'session', 'sessions')} ended`,
    `${count(done.apiTokensRevoked, 'API token', 'API tokens')} revoked`,
    `${describeReleased(done)}.`,
  ].join(', ');
}

/** What a member gave up on leaving an org or being disabled (remove-member, disable-user). */
function describeReleased(released: { projectsLeft: number; adminInvitesRevoked: number }): string {
  return (
    `left ${count(released.projectsLeft, 'project', 'projects')}, ` +
    `${count(released.adminInvitesRevoked, 'pending admin invitation', 'pending admin invitations')} revoked`
  );
}

/** "1 project", "2 projects". */
function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** enable-user and disable-user with --json: the account after the command. */
function presentStatusChange(result: support.UserStatusChange, status: 'active' | 'disabled') {
  return { user_id: result.userId, email: result.email, changed: result.changed, status, org_slug: result.orgSlug };
}
