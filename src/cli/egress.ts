import type { Command } from 'commander';
import { action, call, integer } from './client.js';

interface CreateOptions {
  logId: string;
  destination: string;
  metadata?: string;
  payload?: string;
}

interface UpdateOptions {
  metadata?: string;
  destination?: string;
  activate?: boolean;
}

export function egressCommand(program: Command): void {
  const egress = program.command('egress-webhooks').description('push a log to an HTTP destination, signed');
  const path = (id: string) => `egress_webhook/${encodeURIComponent(id)}`;
  egress
    .command('list')
    .option('--metadata <text>', 'only webhooks with this metadata')
    .action(action((client, opts: { metadata?: string }) => call(client, 'GET', 'egress_webhooks', { query: { metadata: opts.metadata } })));
  egress
    .command('create')
    .description('create a webhook; its secret is shown only now and on rotation')
    .requiredOption('--log-id <log_id>', 'the log whose messages are sent')
    .requiredOption('--destination <url>', 'where messages are POSTed')
    .option('--metadata <text>', 'metadata of the webhook')
    .option('--payload <payload>', 'message (JSON, default), key or value (raw bytes)')
    .action(
      action((client, opts: CreateOptions) =>
        call(client, 'POST', 'egress_webhooks', {
          body: { log_id: opts.logId, destination: opts.destination, metadata: opts.metadata, payload: opts.payload },
        }),
      ),
    );
  egress.command('get <webhook_id>').action(action((client, id: string) => call(client, 'GET', path(id))));
  egress.command('delete <webhook_id>').action(action((client, id: string) => call(client, 'DELETE', path(id))));
  egress
    .command('status <webhook_id>')
    .description('delivery status: cursor, last attempt and its response')
    .action(action((client, id: string) => call(client, 'GET', `${path(id)}/status`)));
  egress
    .command('rotate <webhook_id>')
    .description('make a new secret; the old one keeps signing for --expire-seconds')
    .option('--expire-seconds <n>', 'how long the old secret stays valid', integer('--expire-seconds', 0))
    .action(
      action((client, id: string, opts: { expireSeconds?: number }) =>
        call(client, 'PATCH', `${path(id)}/secret`, { body: { expire_seconds: opts.expireSeconds } }),
      ),
    );
  egress
    .command('update <webhook_id>')
    .option('--metadata <text>', 'new metadata')
    .option('--destination <url>', 'new destination')
    .option('--activate', 're-activate an inactive webhook: it resumes from the message that failed')
    .action(
      action((client, id: string, opts: UpdateOptions) =>
        call(client, 'PATCH', path(id), { body: { metadata: opts.metadata, destination: opts.destination, active: opts.activate } }),
      ),
    );
}
