import type { Command } from 'commander';
import * as support from '../admin/service.ts';
import { presentAuditEntry } from '../audit/present.ts';
import { entryId, wholeNumber } from './numbers.ts';
import { withOperator } from './operator.ts';
import { printJson } from './output.ts';
import { printable } from './text.ts';

/** `roster admin audit <slug>` and `global-audit`: the audit logs, newest first, paged with --before. */
export function registerAuditCommands(admin: Command): void {
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
