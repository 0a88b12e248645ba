import type { Command } from 'commander';
import { PROVIDERS, typesUsing } from '../ingress/providers/registry.js';
import { action, type ClientOptions, call, urlOf } from './client.js';

interface Settings {
  metadata?: string;
  secret?: string;
  header?: string;
  algorithm?: string;
  encoding?: string;
  prefix?: string;
  deduplicate?: boolean;
  keepRejected?: boolean;
}

/** The options that set a webhook's settings, shared by create and update. */
function withSettings(command: Command): Command {
  return command
    .option('--metadata <text>', 'metadata of the webhook')
    .option('--secret <secret>', 'the secret signatures are checked with (never shown again)')
    .option('--header <name>', `${typesUsing('header')}: the header that carries the signature or secret`)
    .option('--algorithm <algorithm>', `${typesUsing('signatureOptions')}: sha1, sha256 (default) or sha512`)
    .option('--encoding <encoding>', `${typesUsing('signatureOptions')}: hex (default) or base64`)
    .option('--prefix <prefix>', `${typesUsing('signatureOptions')}: text before the signature, such as 'sha256='`)
    .option('--no-deduplicate', 'append a repeated provider delivery id again instead of answering it as a duplicate')
    .option('--no-keep-rejected', 'do not keep requests refused for their signature (the quarantine that `hooklog events` shows)');
}

interface IngressWebhook {
  path?: string;
}

/**
 * Adds `url`, the address to give the provider: the API's `path` joined to the
 * address this CLI reaches the server by (HOOKLOG_URL or --url). Behind a
 * proxy that is the public host only when the CLI goes through it too.
 */
function withUrl(client: ClientOptions, webhook: IngressWebhook) {
  return webhook.path === undefined ? webhook : { ...webhook, url: urlOf(client, webhook.path).href };
}

async function callWebhook(client: ClientOptions, method: string, path: string, input: { body?: unknown } = {}) {
  return withUrl(client, (await call(client, method, path, input)) as IngressWebhook);
}

function settingsBody(opts: Settings) {
  return {
    metadata: opts.metadata,
    secret: opts.secret,
    header: opts.header,
    algorithm: opts.algorithm,
    encoding: opts.encoding,
    prefix: opts.prefix,
    deduplicate: opts.deduplicate,
    keep_rejected: opts.keepRejected,
  };
}

export function ingressCommand(program: Command): void {
  const ingress = program.command('ingress-webhooks').description('receive provider webhooks at a public URL, verified, into a log');
  const path = (id: string) => `ingress_webhook/${encodeURIComponent(id)}`;
  ingress
    .command('list')
    .option('--metadata <text>', 'only webhooks with this metadata')
    .action(
      action(async (client, opts: { metadata?: string }) => {
        const list = (await call(client, 'GET', 'ingress_webhooks', { query: { metadata: opts.metadata } })) as { items: IngressWebhook[] };
        return { ...list, items: list.items.map((webhook) => withUrl(client, webhook)) };
      }),
    );
  withSettings(
    ingress
      .command('create')
      .description('create a webhook; prints its url, where the provider POSTs: $HOOKLOG_URL/ingress/<webhook_id>')
      .requiredOption('--log-id <log_id>', 'the log that receives the webhooks')
      .requiredOption(
        '--type <type>',
        `one of: ${PROVIDERS.map((provider) => `${[provider.type, ...(provider.aliases ?? [])].join(' or ')} (${provider.summary})`).join('; ')}`,
      ),
  ).action(
    action((client, opts: Settings & { logId: string; type: string }) =>
      callWebhook(client, 'POST', 'ingress_webhooks', { body: { log_id: opts.logId, type: opts.type, ...settingsBody(opts) } }),
    ),
  );
  ingress.command('get <webhook_id>').action(action((client, id: string) => callWebhook(client, 'GET', path(id))));
  withSettings(ingress.command('update <webhook_id>')).action(
    action((client, id: string, opts: Settings) => {
      // commander sets negatable flags to true unless --no-… is given; an update sends them only when given.
      const given = (flag: boolean | undefined) => (flag === false ? false : undefined);
      const body = settingsBody({ ...opts, deduplicate: given(opts.deduplicate), keepRejected: given(opts.keepRejected) });
      return callWebhook(client, 'PATCH', path(id), { body });
    }),
  );
  ingress.command('delete <webhook_id>').action(action((client, id: string) => call(client, 'DELETE', path(id))));
  ingress
    .command('metrics <webhook_id>')
    .description('requests received, accepted, duplicates, handshakes, failed and rejected by reason')
    .action(action((client, id: string) => call(client, 'GET', `${path(id)}/metrics`)));
}
