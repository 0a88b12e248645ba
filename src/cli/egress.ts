import { type Command, InvalidArgumentError } from 'commander';
import { action, call, integer } from './client.js';
import { deliveryCommands, filterOptions } from './deliveries.js';
import { transformationCommands } from './transformations.js';

interface CreateOptions {
  logId: string;
  destination: string;
  metadata?: string;
  payload?: string;
  mode?: string;
  signing?: string;
  header?: Record<string, string>;
  filterEventType?: string[];
  filterChannel?: string[];
  rateLimit?: number;
  /** false with --no-filters. */
  filters?: boolean;
}

interface UpdateOptions {
  metadata?: string;
  destination?: string;
  activate?: boolean;
  header?: Record<string, string>;
  /** false with --no-headers. */
  headers?: boolean;
  filterEventType?: string[];
  filterChannel?: string[];
  rateLimit?: number;
  /** false with --no-filters. */
  filters?: boolean;
}

/** The filter and rate limit flags as the API takes them; --no-filters clears both lists. */
const deliveryOptions = (opts: CreateOptions | UpdateOptions) => ({
  filter_event_types: opts.filters === false ? null : opts.filterEventType,
  filter_channels: opts.filters === false ? null : opts.filterChannel,
  rate_limit: opts.rateLimit,
});

/** `--header 'Name: value'`, repeatable: collects the headers into one object. */
function header(text: string, previous: Record<string, string> = {}): Record<string, string> {
  const colon = text.indexOf(':');
  if (colon <= 0) throw new InvalidArgumentError(`expected 'Name: value', got ${JSON.stringify(text)}`);
  return { ...previous, [text.slice(0, colon).trim()]: text.slice(colon + 1).trim() };
}

export function egressCommand(program: Command): void {
  const egress = program.command('egress-webhooks').description('push a log to an HTTP destination, signed');
  const path = (id: string) => `egress_webhook/${encodeURIComponent(id)}`;
  egress
    .command('list')
    .option('--metadata <text>', 'only webhooks with this metadata')
    .action(action((client, opts: { metadata?: string }) => call(client, 'GET', 'egress_webhooks', { query: { metadata: opts.metadata } })));
  filterOptions(
    egress
      .command('create')
      .description('create a webhook; its secret is shown only now and on rotation')
      .requiredOption('--log-id <log_id>', 'the log whose messages are sent')
      .requiredOption('--destination <url>', 'where messages are POSTed')
      .option('--metadata <text>', 'metadata of the webhook')
      .option('--payload <payload>', 'message (JSON, default), key or value (raw bytes)')
      .option('--mode <mode>', 'ordered (default: a failing message holds back the rest) or parallel (it is retried aside)')
      .option('--signing <scheme>', 'klev (default: X-Klev-Signature) or standard-webhooks (webhook-id, webhook-timestamp, webhook-signature)')
      .option('--header <header>', "a header sent with every request, as 'Name: value'; repeatable", header),
  ).action(
    action((client, opts: CreateOptions) =>
      call(client, 'POST', 'egress_webhooks', {
        body: {
          log_id: opts.logId,
          destination: opts.destination,
          metadata: opts.metadata,
          payload: opts.payload,
          mode: opts.mode,
          signing: opts.signing,
          headers: opts.header,
          ...deliveryOptions(opts),
        },
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
  filterOptions(
    egress
      .command('update <webhook_id>')
      .option('--metadata <text>', 'new metadata')
      .option('--destination <url>', 'new destination')
      .option('--activate', 're-activate an inactive webhook: it resumes from the message that failed')
      .option('--header <header>', "replaces the headers sent with every request, as 'Name: value'; repeatable", header)
      .option('--no-headers', 'sends no custom headers any more'),
  ).action(
    action((client, id: string, opts: UpdateOptions) =>
      call(client, 'PATCH', path(id), {
        body: {
          metadata: opts.metadata,
          destination: opts.destination,
          active: opts.activate,
          headers: opts.headers === false ? {} : opts.header,
          ...deliveryOptions(opts),
        },
      }),
    ),
  );
  deliveryCommands(egress, path);
  transformationCommands(egress, path);
}
