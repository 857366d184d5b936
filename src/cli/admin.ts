import type { Command } from 'commander';
import { loadConfig } from '../config.ts';
import { systemClock, type Ctx } from '../core/context.ts';
import { createLocalBillingProvider } from '../billing/local-provider.ts';
import { openDatabase, type Database } from '../db/client.ts';
import { migrate } from '../db/migrate.ts';
import { allMembers } from '../orgs/queries.ts';
import { findOrgBySlug, orgView } from '../orgs/service.ts';
import { CliError, EXIT_NOT_FOUND } from './errors.ts';
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';

/** Opens the configured database and a context whose actor is the operator running the CLI. */
export async function withOperator<T>(work: (ctx: Ctx, database: Database) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    await migrate(database);
    const operator = process.env.ROSTER_OPERATOR || userInfo().username;
    const ctx: Ctx = {
      db: database.db,
      config,
      clock: systemClock,
      billing: createLocalBillingProvider(config.publicUrl),
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
  } finally {
    await database.close();
  }
}

export function registerAdminCommands(program: Command): void {
  const admin = program.command('admin').description('Support operations (every change is audited)');

  admin
    .command('show-org <slug>')
    .description('Members, seats, pending invitations, plan and storage of an organization')
    .option('--json', 'print JSON')
    .action(async (slug: string, options: { json?: boolean }) => {
      await withOperator(async (ctx) => {
        const org = await findOrgBySlug(ctx.db, slug);
        if (!org) throw new CliError(`No organization with slug "${slug}".`, EXIT_NOT_FOUND);
        const view = await orgView(ctx.db, org.id, ctx.clock.now());
        const members = await allMembers(ctx.db, org.id);
        const report = {
          id: org.id,
          name: org.name,
          slug: org.slug,
          plan: org.plan,
          seats: { limit: org.seatLimit, active_members: view.seats.activeMembers, pending_invites: view.seats.pendingInvites },
          storage: { used_bytes: org.storageUsedBytes, limit_bytes: view.storageLimitBytes },
          members: members.map((member) => ({ email: member.email, name: member.displayName, role: member.role, status: member.status })),
        };
        if (options.json) {
          console.log(JSON.stringify(report, null, 2));
          return;
        }
        console.log(`${report.name} (${report.slug}) — id ${report.id}`);
        console.log(`Plan: ${report.plan ?? 'none'}`);
        console.log(
          `Seats: ${view.seats.activeMembers + view.seats.pendingInvites} of ${report.seats.limit} used — ${view.seats.activeMembers} members, ${view.seats.pendingInvites} pending`,
        );
        console.log(`Storage: ${report.storage.used_bytes} of ${report.storage.limit_bytes ?? 'unlimited'} bytes`);
        console.log('Members:');
        for (const member of report.members) console.log(`  ${member.role.padEnd(6)} ${member.status.padEnd(8)} ${member.email}  ${member.name}`);
      });
    });
}
