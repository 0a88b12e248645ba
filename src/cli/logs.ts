import type { Command } from 'commander';
import { action, call, integer } from './client.js';

interface CreateOptions {
  metadata?: string;
  compacting?: boolean;
  trimBytes?: number;
  trimSeconds?: number;
  compactSeconds?: number;
  expireSeconds?: number;
}

export function logsCommand(program: Command): void {
  const logs = program.command('logs').description('manage logs');
  logs
    .command('list')
    .option('--metadata <text>', 'only logs with this metadata')
    .action(action((client, opts: { metadata?: string }) => call(client, 'GET', 'logs', { query: { metadata: opts.metadata } })));
  logs
    .command('create')
    .option('--metadata <text>', 'metadata of the log')
    .option('--compacting', 'keep only the newest message per key')
    .option('--trim-bytes <n>', 'delete the oldest messages above this many key+value bytes', integer('--trim-bytes', 0))
    .option('--trim-seconds <n>', 'delete messages older than this', integer('--trim-seconds', 0))
    .option('--compact-seconds <n>', 'on a compacting log, remove overwritten messages once this old', integer('--compact-seconds', 0))
    .option('--expire-seconds <n>', 'delete messages with a key and no value once this old', integer('--expire-seconds', 0))
    .action(
      action((client, opts: CreateOptions) =>
        call(client, 'POST', 'logs', {
          body: {
            metadata: opts.metadata,
            compacting: opts.compacting,
            trim_bytes: opts.trimBytes,
            trim_seconds: opts.trimSeconds,
            compact_seconds: opts.compactSeconds,
            expire_seconds: opts.expireSeconds,
          },
        }),
      ),
    );
  logs.command('get <log_id>').action(action((client, id: string) => call(client, 'GET', `log/${encodeURIComponent(id)}`)));
  logs.command('delete <log_id>').action(action((client, id: string) => call(client, 'DELETE', `log/${encodeURIComponent(id)}`)));
}
