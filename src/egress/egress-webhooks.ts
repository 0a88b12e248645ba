import { randomBytes } from 'node:crypto';
import { demand, onLog, type Principal } from '../auth/principal.js';
import { hostOf, isRefusedAddress } from '../delivery/address-policy.js';
import { EVENT_TYPE_RULE, isEventType, isLabel, LABEL_RULE } from '../domain/attributes.js';
import { fail } from '../domain/errors.js';
import { newId, randomBase62 } from '../domain/ids.js';
import type { DeliveryMode, EgressFilter, EgressPayload, EgressSigning, EgressWebhook } from '../domain/types.js';
import type { EgressStore, LogStore } from '../store/store.js';
import { customHeaders } from './custom-headers.js';

export interface NewEgressWebhookInput {
  logId: string;
  destination: string;
  metadata?: string;
  payload?: EgressPayload;
  mode?: DeliveryMode;
  signing?: EgressSigning;
  /** Sent with every request; see custom-headers.ts for what is refused. */
  headers?: Record<string, string>;
  filter?: Partial<EgressFilter>;
  /** Requests per second at most; absent or null for no limit. */
  rateLimit?: number | null;
}

export interface EgressUpdate {
  metadata?: string;
  destination?: string;
  /** true re-activates: delivery resumes at the cursor with a fresh retry schedule. */
  active?: boolean;
  /** Replaces the custom headers, from the next request on. */
  headers?: Record<string, string>;
  /** Replaces the lists given; a list left out stays. */
  filter?: Partial<EgressFilter>;
  /** null removes the limit. */
  rateLimit?: number | null;
}

export interface EgressStatus {
  webhook: EgressWebhook;
  /** The last offset currently in the source log; -1 when it has none yet. */
  availableOffset: number;
}

/**
 * Egress webhooks: where a log's messages are pushed. A webhook starts at the
 * end of its log, so it delivers what is published after it was made. The
 * store announces every change, which is how delivery follows at once.
 */
export class EgressWebhooks {
  constructor(
    private readonly store: EgressStore,
    private readonly logs: Pick<LogStore, 'get'>,
    private readonly allowPrivateDestinations: boolean,
  ) {}

  /** Creates a webhook for `by`, who must be allowed to read its log; its secret is returned here and on rotation only. */
  async create(by: Principal, input: NewEgressWebhookInput): Promise<{ webhook: EgressWebhook; secret: string }> {
    // The destination will receive every message of the log.
    demand(by, onLog('consume', input.logId));
    const destination = this.checkDestination(input.destination);
    const headers = customHeaders(input.headers ?? {});
    const log = (await this.logs.get(input.logId)) ?? fail('log_not_found', `log '${input.logId}' does not exist`);
    const signing = input.signing ?? 'klev';
    const secret = newSecret(signing);
    const webhook = await this.store.create({
      id: newId('ewh'),
      logId: log.id,
      metadata: input.metadata ?? '',
      destination,
      payload: input.payload ?? 'message',
      mode: input.mode ?? 'ordered',
      signing,
      headers,
      filter: checkFilter({ eventTypes: input.filter?.eventTypes ?? [], channels: input.filter?.channels ?? [] }),
      rateLimit: checkRateLimit(input.rateLimit ?? null),
      secret,
      startOffset: log.nextOffset,
      nowMs: Date.now(),
    });
    return { webhook, secret };
  }

  async get(id: string): Promise<EgressWebhook> {
    return (await this.store.get(id)) ?? notFound(id);
  }

  list(filter: { metadata?: string }): Promise<EgressWebhook[]> {
    return this.store.list(filter);
  }

  /** Changes a webhook; pointing it elsewhere needs the right to read its log, as creating it did. */
  async update(by: Principal, id: string, update: EgressUpdate): Promise<EgressWebhook> {
    // Headers can decide where a receiver files what it gets (an Authorization, a tenant): as much a change of destination as the URL.
    if (update.destination !== undefined || update.headers !== undefined) demand(by, onLog('consume', (await this.get(id)).logId));
    if (update.active === false) fail('field_invalid', 'active can only be set to true: a webhook becomes inactive by itself when delivery gives up');
    // A wider filter lets more of the log through to the destination.
    if (update.filter !== undefined) demand(by, onLog('consume', (await this.get(id)).logId));
    const filter = update.filter && { ...(await this.get(id)).filter, ...definedOf(update.filter) };
    const webhook = await this.store.update(id, {
      filter: filter && checkFilter(filter),
      rateLimit: update.rateLimit === undefined ? undefined : checkRateLimit(update.rateLimit),
      metadata: update.metadata,
      destination: update.destination === undefined ? undefined : this.checkDestination(update.destination),
      headers: update.headers === undefined ? undefined : customHeaders(update.headers),
      reactivateAt: update.active ? Date.now() : undefined,
    });
    if (!webhook) notFound(id);
    return webhook;
  }

  async delete(id: string): Promise<EgressWebhook> {
    const webhook = (await this.store.delete(id)) ?? notFound(id);
    return webhook;
  }

  /** A new secret; the old one keeps signing alongside it for `expireSeconds` (0: stops at once). */
  async rotate(id: string, expireSeconds: number): Promise<{ webhook: EgressWebhook; secret: string }> {
    // Every valid secret signs every request: without bounds, rotations would
    // grow the signature header until receivers refuse it.
    if (expireSeconds > MAX_OVERLAP_SECONDS) fail('field_invalid', `expire_seconds may be at most ${MAX_OVERLAP_SECONDS} (a week)`);
    const now = Date.now();
    if (expireSeconds > 0 && (await this.store.secrets(id, now)).length >= MAX_VALID_SECRETS) {
      fail('field_invalid', `${MAX_VALID_SECRETS} secrets are valid already; rotate with expire_seconds 0, or wait until older ones expire`);
    }
    const secret = newSecret((await this.get(id)).signing);
    const webhook = (await this.store.rotateSecret(id, secret, now + expireSeconds * 1000, now)) ?? notFound(id);
    return { webhook, secret };
  }

  async status(id: string): Promise<EgressStatus> {
    const webhook = await this.get(id);
    const log = await this.logs.get(webhook.logId);
    return { webhook, availableOffset: (log?.nextOffset ?? 0) - 1 };
  }

  private checkDestination(destination: string): string {
    let url: URL;
    try {
      url = new URL(destination);
    } catch {
      fail('destination_invalid', `'${destination}' is not an absolute URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') fail('destination_invalid', 'the destination must be an http or https URL');
    if (url.username || url.password) fail('destination_invalid', 'credentials in the destination URL are not supported');
    const host = hostOf(url);
    if (!this.allowPrivateDestinations && (host === 'localhost' || isRefusedAddress(host))) {
      fail('destination_invalid', `${host} is a private address; set HOOKLOG_ALLOW_PRIVATE_DESTINATIONS=true to allow it`);
    }
    return destination;
  }
}

/** Svix's limits on an endpoint's filter; the names are those messages may carry (domain/attributes.ts). */
const MAX_FILTER_EVENT_TYPES = 1000;
const MAX_FILTER_CHANNELS = 10;
const MAX_RATE_LIMIT = 65_535;

function checkFilter(filter: EgressFilter): EgressFilter {
  const check = (list: string[], name: string, max: number, fits: (text: string) => boolean, rule: string) => {
    if (list.length > max) fail('field_invalid', `${name}: at most ${max} may be given`);
    const bad = list.find((item) => !fits(item));
    if (bad !== undefined) fail('field_invalid', `${name}: ${JSON.stringify(bad)} is not ${rule}`);
    return [...new Set(list)];
  };
  return {
    eventTypes: check(filter.eventTypes, 'filter_event_types', MAX_FILTER_EVENT_TYPES, isEventType, EVENT_TYPE_RULE),
    channels: check(filter.channels, 'filter_channels', MAX_FILTER_CHANNELS, isLabel, LABEL_RULE),
  };
}

function checkRateLimit(limit: number | null): number | null {
  if (limit !== null && !(Number.isInteger(limit) && limit >= 1 && limit <= MAX_RATE_LIMIT)) {
    fail('field_invalid', `the rate limit must be a whole number of requests per second from 1 to ${MAX_RATE_LIMIT}`);
  }
  return limit;
}

function definedOf<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const SECRET_LENGTH = 33;
/** Longest time an old secret keeps signing after a rotation, and most secrets valid at once. */
const MAX_OVERLAP_SECONDS = 7 * 24 * 3600;
const MAX_VALID_SECRETS = 10;

/**
 * A new signing secret. Standard Webhooks receivers (the standardwebhooks and
 * svix libraries) take `whsec_` and the base64 of the key: 24 random bytes,
 * as many bits as klev's 33 base62 characters hold near enough.
 */
function newSecret(signing: EgressSigning): string {
  if (signing === 'standard-webhooks') return `whsec_${randomBytes(24).toString('base64')}`;
  return `ewhsec_${randomBase62(SECRET_LENGTH)}`;
}

function notFound(id: string): never {
  fail('egress_webhook_not_found', `egress webhook '${id}' does not exist`);
}
