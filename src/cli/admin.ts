import { Option, type Command } from 'commander';
import * as support from '../admin/service.ts';
import { registerAuditCommands } from './admin-audit.ts';
import { registerServiceTokenCommands } from './admin-service-tokens.ts';
import { wholeNumber } from './numbers.ts';
import { withOperator } from './operator.ts';
import { JSON_OPTION, printJson, reply } from './output.ts';
import { printable } from './text.ts';

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

  registerServiceTokenCommands(admin);
  registerAuditCommands(admin);
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
