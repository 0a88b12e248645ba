import type { Command } from 'commander';
import { action, call, collect } from './client.js';

export function tokensCommand(program: Command): void {
  const tokens = program.command('tokens').description('manage API tokens');
  tokens
    .command('list')
    .option('--metadata <text>', 'only tokens with this metadata')
    .action(action((client, opts: { metadata?: string }) => call(client, 'GET', 'tokens', { query: { metadata: opts.metadata } })));
  tokens
    .command('create')
    .description('create a token; its bearer is shown only now')
    .option('--metadata <text>', 'metadata of the token')
    .option('--acl <entry>', 'ACL entry subject[:action[:object_id]] (repeatable); none means full access', collect)
    .action(
      action((client, opts: { metadata?: string; acl?: string[] }) => call(client, 'POST', 'tokens', { body: { metadata: opts.metadata, acl: opts.acl } })),
    );
  tokens.command('get <token_id>').action(action((client, id: string) => call(client, 'GET', `token/${encodeURIComponent(id)}`)));
  tokens.command('delete <token_id>').action(action((client, id: string) => call(client, 'DELETE', `token/${encodeURIComponent(id)}`)));
}
