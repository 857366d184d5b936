import type { Command } from 'commander';
import * as support from '../admin/service.ts';
import { withOperator } from './operator.ts';
import { JSON_OPTION, printJson, reply } from './output.ts';
import { printable, refuseControlCharacters } from './text.ts';

/** `roster admin create-service-token | list-service-tokens | revoke-service-token`: the host app's credentials. */
export function registerServiceTokenCommands(admin: Command): void {
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
}
