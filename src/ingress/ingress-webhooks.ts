import type { IncomingHttpHeaders } from 'node:http';
import { fail } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { DUPLICATE_WINDOW_MS, type HmacAlgorithm, type IngressWebhook, type MessageHeaders, type RejectReason, type SignatureEncoding } from '../domain/types.js';
import type { Publisher } from '../log/publisher.js';
import type { IngressChanges, IngressStore, LogStore } from '../store/store.js';
import { ingressType, verifiers } from './providers/index.js';
import { standardWebhooksKey } from './providers/standard-webhooks.js';

/** Hop-by-hop headers describe one connection, not the webhook, so they are not stored. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/**
 * How long a webhook's settings are reused without reading the store. Changes
 * made through this process apply at once; this bounds how long another node's
 * change can take to be seen.
 */
const SETTINGS_CACHE_MS = 1000;

const ALGORITHMS: readonly HmacAlgorithm[] = ['sha1', 'sha256', 'sha512'];
const ENCODINGS: readonly SignatureEncoding[] = ['hex', 'base64'];

export interface IngressInput {
  logId: string;
  type: string;
  secret?: string;
  metadata?: string;
  header?: string;
  algorithm?: string;
  encoding?: string;
  prefix?: string;
  deduplicate?: boolean;
}

export type IngressUpdate = Omit<Partial<IngressInput>, 'logId' | 'type'>;

export type Received =
  | { status: 'accepted'; offset: number }
  | { status: 'duplicate' }
  | { status: 'answered'; contentType: string; body: string };

export interface IngressMetrics {
  received: number;
  accepted: number;
  duplicates: number;
  rejected: Partial<Record<RejectReason, number>>;
}

export interface MetricsLogger {
  error(obj: object, msg: string): void;
}

/**
 * Ingress webhooks: public URLs that check a provider's signature and append
 * the exact request body to a log. A request is acknowledged only once its
 * message is committed; a provider retrying a delivery within 24 hours gets
 * 200 again without a second message.
 */
export class IngressWebhooks {
  private readonly cache = new Map<string, { webhook: IngressWebhook; until: number }>();

  constructor(
    private readonly store: IngressStore,
    private readonly logs: Pick<LogStore, 'get'>,
    private readonly publisher: Pick<Publisher, 'publish' | 'publishOnce'>,
    private readonly logger: MetricsLogger,
  ) {}

  async create(input: IngressInput): Promise<IngressWebhook> {
    const type = ingressType(input.type) ?? fail('field_invalid', `type must be one of ${Object.keys(verifiers).join(', ')} (or gitHub, svix)`);
    if (!(await this.logs.get(input.logId))) fail('log_not_found', `log '${input.logId}' does not exist`);
    const webhook: IngressWebhook = {
      id: newId('iwh'),
      logId: input.logId,
      metadata: input.metadata ?? '',
      type: input.type,
      secret: input.secret ?? '',
      header: input.header ?? '',
      algorithm: oneOf(ALGORITHMS, input.algorithm ?? 'sha256', 'algorithm'),
      encoding: oneOf(ENCODINGS, input.encoding ?? 'hex', 'encoding'),
      prefix: input.prefix ?? '',
      deduplicate: input.deduplicate ?? true,
    };
    checkSettings(type, webhook);
    await this.store.create(webhook);
    return webhook;
  }

  async get(id: string): Promise<IngressWebhook> {
    return (await this.store.get(id)) ?? notFound(id);
  }

  list(filter: { metadata?: string }): Promise<IngressWebhook[]> {
    return this.store.list(filter);
  }

  async update(id: string, update: IngressUpdate): Promise<IngressWebhook> {
    const current = await this.get(id);
    const changes: IngressChanges = {
      metadata: update.metadata,
      secret: update.secret,
      header: update.header,
      algorithm: update.algorithm === undefined ? undefined : oneOf(ALGORITHMS, update.algorithm, 'algorithm'),
      encoding: update.encoding === undefined ? undefined : oneOf(ENCODINGS, update.encoding, 'encoding'),
      prefix: update.prefix,
      deduplicate: update.deduplicate,
    };
    const merged = { ...current, ...Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined)) };
    checkSettings(ingressType(current.type)!, merged);
    this.cache.delete(id);
    return (await this.store.update(id, changes)) ?? notFound(id);
  }

  async delete(id: string): Promise<IngressWebhook> {
    this.cache.delete(id);
    return (await this.store.delete(id)) ?? notFound(id);
  }

  async metrics(id: string): Promise<IngressMetrics> {
    await this.get(id);
    const counters = await this.store.counters(id);
    const rejected = Object.fromEntries(
      Object.entries(counters)
        .filter(([name]) => name.startsWith('rejected:'))
        .map(([name, count]) => [name.slice('rejected:'.length), count]),
    );
    return { received: counters.received ?? 0, accepted: counters.accepted ?? 0, duplicates: counters.duplicate ?? 0, rejected };
  }

  /** Verifies one request to the public URL and appends it; fails with 404 or 401 as the provider should see. */
  async receive(id: string, body: Buffer, headers: IncomingHttpHeaders): Promise<Received> {
    const webhook = (await this.settings(id)) ?? notFound(id);
    this.count(id, 'received');
    const verdict = verifiers[ingressType(webhook.type)!]({ body, headers, secret: webhook.secret, now: Date.now() / 1000, options: webhook });
    if (!verdict.ok) {
      this.count(id, `rejected:${verdict.reason}`);
      fail('signature_invalid', verdict.message);
    }
    if (verdict.respond) return { status: 'answered', ...verdict.respond };

    const message = { key: verdict.deliveryId === undefined ? null : Buffer.from(verdict.deliveryId), value: body, headers: storedHeaders(headers) };
    if (webhook.deduplicate && verdict.deliveryId !== undefined) {
      const now = Date.now();
      const next = await this.publisher.publishOnce(webhook.logId, [message], { scope: id, key: verdict.deliveryId, since: now - DUPLICATE_WINDOW_MS, now });
      this.count(id, next === null ? 'duplicate' : 'accepted');
      return next === null ? { status: 'duplicate' } : { status: 'accepted', offset: next - 1 };
    }
    const next = await this.publisher.publish(webhook.logId, [message]);
    this.count(id, 'accepted');
    return { status: 'accepted', offset: next - 1 };
  }

  /** A request refused before it reached `receive`, because its body was over the limit. */
  async tooLarge(id: string): Promise<void> {
    if (await this.settings(id)) {
      this.count(id, 'received');
      this.count(id, 'rejected:body_too_large');
    }
  }

  /** A webhook's settings for the public URL, from the cache when fresh. Unknown ids are not cached. */
  private async settings(id: string): Promise<IngressWebhook | undefined> {
    const now = Date.now();
    const cached = this.cache.get(id);
    if (cached && cached.until > now) return cached.webhook;
    const webhook = await this.store.get(id);
    if (webhook) this.cache.set(id, { webhook, until: now + SETTINGS_CACHE_MS });
    else this.cache.delete(id);
    return webhook;
  }

  private count(webhookId: string, name: string): void {
    // Counters are best effort: a failure to count never fails the webhook.
    this.store.count([{ webhookId, name, by: 1 }]).catch((err: unknown) => this.logger.error({ err, webhookId }, 'counting an ingress event failed'));
  }
}

function checkSettings(type: ReturnType<typeof ingressType> & string, webhook: IngressWebhook): void {
  if (type !== 'none' && webhook.secret === '') fail('secret_invalid', `a ${type} webhook needs a secret`);
  if (type === 'standard-webhooks' && !standardWebhooksKey(webhook.secret)) fail('secret_invalid', "a standard-webhooks secret is 'whsec_' followed by base64");
  if ((type === 'hmac' || type === 'secret-header') && webhook.header === '') fail('field_invalid', `a ${type} webhook needs a header`);
}

function storedHeaders(headers: IncomingHttpHeaders): MessageHeaders {
  const named = String(headers.connection ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase());
  const stored: MessageHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.includes(name)) continue;
    stored[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return stored;
}

function oneOf<T extends string>(values: readonly T[], value: string, field: string): T {
  if (!(values as readonly string[]).includes(value)) fail('field_invalid', `${field} must be one of ${values.join(', ')}`);
  return value as T;
}

function notFound(id: string): never {
  fail('ingress_webhook_not_found', `ingress webhook '${id}' does not exist`);
}
