import type { Command } from 'commander';
import { action, call, integer } from './client.js';

export function offsetsCommand(program: Command): void {
  const offsets = program.command('offsets').description('manage stored consumer offsets');
  offsets
    .command('list')
    .option('--log-id <log_id>', 'only offsets of this log')
    .option('--metadata <text>', 'only offsets with this metadata')
    .action(
      action((client, opts: { logId?: string; metadata?: string }) =>
        call(client, 'GET', 'offsets', { query: { log_id: opts.logId, metadata: opts.metadata } }),
      ),
    );
  offsets
    .command('create')
    .requiredOption('--log-id <log_id>', 'the log this offset points into')
    .option('--metadata <text>', 'metadata of the offset')
    .action(
      action((client, opts: { logId: string; metadata?: string }) =>
        call(client, 'POST', 'offsets', { body: { log_id: opts.logId, metadata: opts.metadata } }),
      ),
    );
  offsets.command('get <offset_id>').action(action((client, id: string) => call(client, 'GET', `offset/${encodeURIComponent(id)}`)));
  offsets
    .command('set <offset_id>')
    .requiredOption('--value <n>', 'the offset to store (-1 end of log, -2 start)', integer('--value', -2))
    .option('--value-metadata <text>', 'metadata stored with the value')
    .action(
      action((client, id: string, opts: { value: number; valueMetadata?: string }) =>
        call(client, 'POST', `offset/${encodeURIComponent(id)}`, { body: { value: opts.value, value_metadata: opts.valueMetadata } }),
      ),
    );
  offsets.command('delete <offset_id>').action(action((client, id: string) => call(client, 'DELETE', `offset/${encodeURIComponent(id)}`)));
}
