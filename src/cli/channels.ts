import type { Command } from 'commander';
import { action, call } from './client.js';

interface CreateOptions {
  secretHeader?: string;
  secret?: string;
  /** Not --token: that is the API token every command takes. */
  channelToken?: string;
}

export function channelsCommand(program: Command): void {
  const channels = program
    .command('channels')
    .description('Kaiman Webhooks Proxy channels: webhooks POSTed to /api/webhook/<name>, taken with GET and the channel’s token');
  channels.command('list').action(action((client) => call(client, 'GET', 'channels')));
  channels
    .command('create <name>')
    .description('create a channel; its token is printed only now')
    .option('--secret-header <header>', 'the header every POST must carry the secret in (absent: POSTs are not checked)')
    .option('--secret <secret>', 'the secret that header must hold')
    .option('--channel-token <token>', 'the bearer that reads the channel (absent: one is generated)')
    .action(
      action((client, name: string, opts: CreateOptions) =>
        call(client, 'POST', 'channels', { body: { name, secret_header: opts.secretHeader, secret: opts.secret, token: opts.channelToken } }),
      ),
    );
  channels.command('get <name>').action(action((client, name: string) => call(client, 'GET', `channel/${encodeURIComponent(name)}`)));
  channels
    .command('delete <name>')
    .description('delete a channel with its log and every webhook in it')
    .action(action((client, name: string) => call(client, 'DELETE', `channel/${encodeURIComponent(name)}`)));
}
