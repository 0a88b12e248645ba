import { hash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import { demand, onLog, type Principal } from '../auth/principal.js';
import { attributesOf, isEventId, isEventType } from '../domain/attributes.js';
import { fail } from '../domain/errors.js';
import { isId, newId, newOrderedId } from '../domain/ids.js';
import {
  DUPLICATE_WINDOW_MS,
  type EventRecord,
  type HmacAlgorithm,
  type IngressWebhook,
  type MessageAttributes,
  type NewMessage,
  type RejectReason,
  type SignatureEncoding,
} from '../domain/types.js';
import type { Publisher } from '../log/publisher.js';
import type { EventStore, IngressChanges, IngressStore, LogStore } from '../store/store.js';
import { providerOf, typeNames } from './providers/registry.js';
import type { Provider } from './providers/verifier.js';
import { storedHeaders } from './stored-headers.js';

/**
 * How long a webhook's settings are reused without reading the store. The
 * store announces every change, here and from other nodes (see `forget`);
 * this bounds how stale they can be when an announcement is missed.
 */
const SETTINGS_CACHE_MS = 1000;

/**
 * How often the counters of received requests are written; reading them
 * writes first. Counting is best effort: a crash loses at most this much of
 * it. Written every event-loop turn, they were a transaction of their own
 * beside each group commit: 6–10 µs of a verified webhook's 100 µs of CPU.
 */
const COUNTS_FLUSH_MS = 1000;

/** Refused requests kept per webhook; older ones go as new ones come. Those older than QUARANTINE_DAYS go too (the retention job). */
export const QUARANTINE_KEEP = 1000;
export const QUARANTINE_DAYS = 7;
/** Most bytes of a refused body kept: enough to see what was sent; its size and hash are the whole body's. */
export const QUARANTINE_BODY_BYTES = 64 * 1024;

const ALGORITHMS: readonly HmacAlgorithm[] = ['sha1', 'sha256', 'sha512'];
const ENCODINGS: readonly SignatureEncoding[] = ['hex', 'base64'];

/** What an HTTP header name may be: an RFC 7230 token. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

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
  keepRejected?: boolean;
}

export type IngressUpdate = Omit<Partial<IngressInput>, 'logId' | 'type'>;

export type Received = { status: 'accepted'; offset: number } | { status: 'duplicate' } | { status: 'answered'; contentType: string; body: string };

/**
 * A webhook's counters. Each request to a known webhook's URL counts in
 * `received` and in exactly one outcome, so that
 *   received = accepted + duplicates + handshakes + failed + sum(rejected)
 * once the counts, written after the answer and best effort, have landed.
 */
export interface IngressMetrics {
  received: number;
  accepted: number;
  /** A delivery id seen within 24 hours: answered 200, not appended again. */
  duplicates: number;
  /** Answered without appending: a provider's handshake, such as Slack's url_verification. */
  handshakes: number;
  /** Verified, but the append failed (such as a 503 while the database is unreachable); the provider retries. */
  failed: number;
  rejected: Partial<Record<RejectReason, number>>;
}

/** The names counters are stored under. */
type IngressCounter = 'received' | IngressResult;

/** What a request to a known webhook's URL came to. */
export type IngressResult = 'accepted' | 'duplicate' | 'handshake' | 'failed' | `rejected:${RejectReason}`;

/** Where ingress writes its operational events: refused requests (info), and quarantines or counts that could not be stored (error). */
export interface IngressLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** What ingress tells the metrics: each request's outcome (all but `received`), and how long a verified one took to commit. */
export interface IngressRecorder {
  ingressResult(webhookId: string, result: IngressResult): void;
  ingested(seconds: number): void;
}

const NOT_RECORDED: IngressRecorder = { ingressResult() {}, ingested() {} };

/**
 * Ingress webhooks: public URLs that check a provider's signature and append
 * the exact request body to a log. A request is acknowledged only once its
 * message is committed; a provider retrying a delivery within 24 hours gets
 * 200 again without a second message.
 */
export class IngressWebhooks {
  private readonly cache = new Map<string, { webhook: IngressWebhook; provider: Provider; until: number }>();
  /** Webhooks whose refused request is being quarantined on this node. */
  private readonly quarantining = new Set<string>();
  /** Counts not yet written, summed per webhook and counter. */
  private counts = new Map<string, { webhookId: string; name: IngressCounter; by: number }>();
  private countsTimer: NodeJS.Timeout | null = null;
  /** Settles once the counts handed to the store so far are written. */
  private countsWritten: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: IngressStore,
    private readonly logs: Pick<LogStore, 'get'>,
    private readonly publisher: Pick<Publisher, 'publish' | 'publishOnce'>,
    private readonly events: Pick<EventStore, 'quarantine'>,
    private readonly logger: IngressLog,
    private readonly recorder: IngressRecorder = NOT_RECORDED,
  ) {}

  /** Creates a webhook for `by`, who must be allowed to publish to its log: its public URL appends there. */
  async create(by: Principal, input: IngressInput): Promise<IngressWebhook> {
    demand(by, onLog('publish', input.logId));
    const provider = providerOf(input.type) ?? fail('field_invalid', `type must be one of ${typeNames()}`);
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
      keepRejected: input.keepRejected ?? true,
    };
    checkSettings(provider, webhook);
    await this.store.create(webhook);
    return webhook;
  }

  async get(id: string): Promise<IngressWebhook> {
    return (await this.store.get(id)) ?? notFound(id);
  }

  list(filter: { metadata?: string }): Promise<IngressWebhook[]> {
    return this.store.list(filter);
  }

  /**
   * Changes a webhook. Every setting but metadata and keepRejected decides
   * which requests its URL appends, so changing one needs the right to
   * publish to its log.
   */
  async update(by: Principal, id: string, update: IngressUpdate): Promise<IngressWebhook> {
    const current = await this.get(id);
    const verifiesDifferently = Object.entries(update).some(([field, value]) => field !== 'metadata' && field !== 'keepRejected' && value !== undefined);
    if (verifiesDifferently) demand(by, onLog('publish', current.logId));
    const changes: IngressChanges = {
      metadata: update.metadata,
      secret: update.secret,
      header: update.header,
      algorithm: update.algorithm === undefined ? undefined : oneOf(ALGORITHMS, update.algorithm, 'algorithm'),
      encoding: update.encoding === undefined ? undefined : oneOf(ENCODINGS, update.encoding, 'encoding'),
      prefix: update.prefix,
      deduplicate: update.deduplicate,
      keepRejected: update.keepRejected,
    };
    const merged = { ...current, ...Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined)) };
    const provider = providerOf(current.type) ?? fail('field_invalid', `type '${current.type}' is not supported; delete this webhook and create another`);
    checkSettings(provider, merged);
    return (await this.store.update(id, changes)) ?? notFound(id);
  }

  async delete(id: string): Promise<IngressWebhook> {
    return (await this.store.delete(id)) ?? notFound(id);
  }

  /** Webhook `id` changed or was deleted, here or on another node: its settings are read afresh. */
  forget(id: string): void {
    this.cache.delete(id);
  }

  /** Announcements may have been missed (the store's watch reconnected): every webhook's settings are read afresh. */
  forgetAll(): void {
    this.cache.clear();
  }

  async metrics(id: string): Promise<IngressMetrics> {
    await this.get(id);
    await this.flushCounts();
    const counters = await this.store.counters(id);
    const rejected = Object.fromEntries(
      Object.entries(counters)
        .filter(([name]) => name.startsWith('rejected:'))
        .map(([name, count]) => [name.slice('rejected:'.length), count]),
    );
    return {
      received: counters.received ?? 0,
      accepted: counters.accepted ?? 0,
      duplicates: counters.duplicate ?? 0,
      handshakes: counters.handshake ?? 0,
      failed: counters.failed ?? 0,
      rejected,
    };
  }

  /**
   * Verifies one request to the public URL and appends it, with the record
   * of its arrival; fails with 404 or 401 as the provider should see. A
   * request refused for its signature is kept in the quarantine first, where
   * the webhook says so.
   */
  async receive(id: string, body: Buffer, headers: IncomingHttpHeaders): Promise<Received> {
    const receivedAt = Date.now();
    const started = performance.now();
    const { webhook, provider } = (await this.settings(id)) ?? notFound(id);
    this.count(id, 'received');
    const verdict = provider.verify({ body, headers, secret: webhook.secret, nowSeconds: Date.now() / 1000, options: webhook });
    const secretHeader = provider.secretInHeader ? webhook.header : undefined;
    const record = (): EventRecord => ({
      id: newOrderedId('evt', receivedAt),
      sourceId: id,
      logId: webhook.logId,
      offset: null,
      receivedAt,
      validatedAt: Date.now(),
      queuedAt: null,
      size: body.length,
      hash: hash('sha256', body, 'hex'),
    });
    if (!verdict.ok) {
      this.rejected(id, verdict.reason);
      if (webhook.keepRejected)
        await this.quarantine({
          ...record(),
          refused: {
            reason: verdict.reason,
            detail: verdict.message,
            headers: storedHeaders(headers, secretHeader),
            body: body.subarray(0, QUARANTINE_BODY_BYTES),
          },
        });
      fail('signature_invalid', verdict.message);
    }
    if (verdict.respond) {
      this.count(id, 'handshake');
      return { status: 'answered', ...verdict.respond };
    }
    const attributes = eventAttributes(verdict);
    const message: NewMessage = {
      key: verdict.deliveryId === undefined ? null : Buffer.from(verdict.deliveryId),
      value: body,
      headers: storedHeaders(headers, secretHeader),
      ...(attributes && { attributes }),
    };
    const appended = await this.append(webhook, message, verdict.deliveryId, record()).catch((err: unknown) => {
      this.count(id, 'failed');
      throw err;
    });
    this.count(id, appended.status);
    this.recorder.ingested((performance.now() - started) / 1000);
    return appended;
  }

  /** A request refused before it reached `receive`, because its body was over the limit. */
  async tooLarge(id: string): Promise<void> {
    if (await this.settings(id)) {
      this.count(id, 'received');
      this.rejected(id, 'body_too_large');
    }
  }

  /** Counts a refused request and logs its reason code: never its headers, body or the verifier's detail, which quotes what was sent. */
  private rejected(id: string, reason: RejectReason): void {
    this.count(id, `rejected:${reason}`);
    this.logger.info({ webhookId: id, reason }, 'ingress request rejected');
  }

  /** Appends a verified request, unless its delivery id was appended within the duplicate window. */
  private async append(
    webhook: IngressWebhook,
    message: NewMessage,
    deliveryId: string | undefined,
    event: EventRecord,
  ): Promise<Received & { status: 'accepted' | 'duplicate' }> {
    if (webhook.deduplicate && deliveryId !== undefined) {
      const now = Date.now();
      const claim = { scope: webhook.id, key: deliveryId, since: now - DUPLICATE_WINDOW_MS, now };
      const once = await this.publisher.publishOnce(webhook.logId, [message], [claim], event);
      return 'duplicate' in once ? { status: 'duplicate' } : { status: 'accepted', offset: once.offset };
    }
    const next = await this.publisher.publish(webhook.logId, [message], event);
    return { status: 'accepted', offset: next - 1 };
  }

  /**
   * A webhook's settings and provider for the public URL, from the cache when
   * fresh. Unknown ids are not cached. A type stored before types were looked
   * up strictly (such as `constructor`) has no provider: that webhook cannot
   * receive anything, so its URL answers as if it did not exist.
   */
  private async settings(id: string): Promise<{ webhook: IngressWebhook; provider: Provider } | undefined> {
    // Anyone can call the public URL: text that is no id never reaches the store (PostgreSQL refuses a NUL with a 500).
    if (!isId('iwh', id)) return undefined;
    const now = Date.now();
    const cached = this.cache.get(id);
    if (cached && cached.until > now) return cached;
    const webhook = await this.store.get(id);
    const provider = webhook && providerOf(webhook.type);
    if (!webhook || !provider) {
      this.cache.delete(id);
      return undefined;
    }
    const settings = { webhook, provider, until: now + SETTINGS_CACHE_MS };
    this.cache.set(id, settings);
    return settings;
  }

  /**
   * Keeps a refused request for inspection, the newest QUARANTINE_KEEP per
   * webhook. Best effort, like counting: the sender gets its 401 whether or
   * not it was kept. Anyone may send forgeries, so a webhook has one write at
   * a time on a node, and requests refused meanwhile are counted but not
   * kept: a flood costs one database connection, and a sample of it stays.
   */
  private async quarantine(record: EventRecord): Promise<void> {
    if (this.quarantining.has(record.sourceId)) return;
    this.quarantining.add(record.sourceId);
    try {
      await this.events.quarantine(record, QUARANTINE_KEEP);
    } catch (err) {
      this.logger.error({ err, webhookId: record.sourceId }, 'quarantining a refused request failed');
    } finally {
      this.quarantining.delete(record.sourceId);
    }
  }

  private count(webhookId: string, name: IngressCounter): void {
    if (name !== 'received') this.recorder.ingressResult(webhookId, name);
    const key = `${webhookId}\u0000${name}`;
    const pending = this.counts.get(key);
    if (pending) pending.by++;
    else this.counts.set(key, { webhookId, name, by: 1 });
    this.countsTimer ??= setTimeout(() => void this.flushCounts(), COUNTS_FLUSH_MS).unref();
  }

  /**
   * Writes the counts made so far, and resolves once every count made before
   * the call is written (those of a flush already under way too). Counters
   * are best effort: a failure to count never fails a webhook.
   */
  async flushCounts(): Promise<void> {
    if (this.countsTimer) clearTimeout(this.countsTimer);
    this.countsTimer = null;
    if (this.counts.size > 0) {
      const deltas = [...this.counts.values()];
      this.counts = new Map();
      this.countsWritten = this.countsWritten
        .then(() => this.store.count(deltas))
        .catch((err: unknown) => this.logger.error({ err }, 'counting ingress events failed'));
    }
    await this.countsWritten;
  }
}

/**
 * The provider's event name as the message's event type, and its delivery id
 * as its event id. A name that is no valid event type or id is left out: the
 * provider's delivery never fails for it.
 */
function eventAttributes({ eventType, deliveryId }: { eventType?: string; deliveryId?: string }): MessageAttributes | undefined {
  return attributesOf({
    eventType: eventType !== undefined && isEventType(eventType) ? eventType : undefined,
    eventId: deliveryId !== undefined && isEventId(deliveryId) ? deliveryId : undefined,
  });
}

/** What a webhook's settings must hold, as its provider declares it. */
function checkSettings({ type, needs, checkSecret }: Provider, webhook: IngressWebhook): void {
  if (needs.secret && webhook.secret === '') fail('secret_invalid', `a ${type} webhook needs a secret`);
  const unusable = checkSecret?.(webhook.secret);
  if (unusable) fail('secret_invalid', unusable);
  if (needs.header && webhook.header === '') fail('field_invalid', `a ${type} webhook needs a header`);
  if (webhook.header !== '' && !HEADER_NAME.test(webhook.header)) {
    fail('field_invalid', `header must be an HTTP header name (letters, digits and !#$%&'*+-.^_\`|~), got ${JSON.stringify(webhook.header)}`);
  }
}

function oneOf<T extends string>(values: readonly T[], value: string, field: string): T {
  if (!(values as readonly string[]).includes(value)) fail('field_invalid', `${field} must be one of ${values.join(', ')}`);
  return value as T;
}

function notFound(id: string): never {
  fail('ingress_webhook_not_found', `ingress webhook '${id}' does not exist`);
}
