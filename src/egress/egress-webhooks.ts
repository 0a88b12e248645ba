import { randomBytes } from 'node:crypto';
import { demand, onLog, type Principal } from '../auth/principal.js';
import { hostOf, isRefusedAddress } from '../delivery/address-policy.js';
import { EVENT_TYPE_RULE, isEventType, isLabel, LABEL_RULE } from '../domain/attributes.js';
import { definedOf } from '../domain/defined.js';
import { fail } from '../domain/errors.js';
import { newId, randomBase62 } from '../domain/ids.js';
import type { DeliveryMode, EgressFilter, EgressPayload, EgressSigning, EgressWebhook, EndpointFields } from '../domain/types.js';
import { secretKey } from '../protocols/standard-webhooks/signature.js';
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
  /** The signing secret, of the scheme's form; absent: a new one is made. */
  secret?: string;
  /** Its fields as a Svix endpoint, stored with it; the webhook id is filled in. */
  endpoint?: Omit<EndpointFields, 'webhookId'>;
  /** Made inactive with this reason (a disabled endpoint). */
  disable?: string;
}

export interface EgressUpdate {
  metadata?: string;
  destination?: string;
  /** true re-activates: delivery resumes at the cursor with a fresh retry schedule. */
  active?: boolean;
  /** Deactivates the webhook with this reason (a disabled endpoint); nothing is sent until it is re-activated. */
  disable?: string;
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
    const secret = input.secret === undefined ? newSecret(signing) : checkSecret(signing, input.secret);
    const id = newId('ewh');
    const webhook = await this.store.create({
      id,
      ...(input.endpoint && { endpoint: { ...input.endpoint, webhookId: id } }),
      ...(input.disable && { inactiveReason: input.disable }),
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
    return (await this.find(id)) ?? notFound(id);
  }

  /** The webhook, or undefined when there is none. */
  find(id: string): Promise<EgressWebhook | undefined> {
    return this.store.get(id);
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
      deactivate: update.disable,
    });
    if (!webhook) notFound(id);
    return webhook;
  }

  async delete(id: string): Promise<EgressWebhook> {
    const webhook = (await this.store.delete(id)) ?? notFound(id);
    return webhook;
  }

  /**
   * Makes `secret` (checked against the webhook's signing scheme), or a new
   * one, the current secret; the old one keeps signing alongside it for
   * `expireSeconds` (0: stops at once).
   */
  async rotate(id: string, expireSeconds: number, secret?: string): Promise<{ webhook: EgressWebhook; secret: string }> {
    // Every valid secret signs every request: without bounds, rotations would
    // grow the signature header until receivers refuse it. Past
    // MAX_VALID_SECRETS, the store ends those that would expire first.
    if (expireSeconds > MAX_OVERLAP_SECONDS) fail('field_invalid', `expire_seconds may be at most ${MAX_OVERLAP_SECONDS} (a week)`);
    const { signing } = await this.get(id);
    const current = secret === undefined ? newSecret(signing) : checkSecret(signing, secret);
    const now = Date.now();
    const webhook = (await this.store.rotateSecret(id, current, now + expireSeconds * 1000, now, MAX_VALID_SECRETS)) ?? notFound(id);
    return { webhook, secret: current };
  }

  /** The secret requests are signed with now (older ones may still sign alongside it). */
  async currentSecret(id: string): Promise<string> {
    const [current] = await this.store.secrets(id, Date.now());
    return current?.secret ?? notFound(id);
  }

  async status(id: string): Promise<EgressStatus> {
    const webhook = await this.get(id);
    const log = await this.logs.get(webhook.logId);
    return { webhook, availableOffset: (log?.nextOffset ?? 0) - 1 };
  }

  private checkDestination(destination: string): string {
    const url = checkDeliveryUrl(destination, 'the destination');
    const host = hostOf(url);
    if (!this.allowPrivateDestinations && (host === 'localhost' || isRefusedAddress(host))) {
      fail('destination_invalid', `${host} is a private address; set HOOKLOG_ALLOW_PRIVATE_DESTINATIONS=true to allow it`);
    }
    return destination;
  }
}

/**
 * The rules of every URL deliveries go to, a destination's or one a
 * transformation gives: absolute, http or https, without credentials, not too
 * long. `name` is what the messages call it. Private addresses are refused
 * apart (and again as the outbound client connects).
 */
export function checkDeliveryUrl(given: string, name: string): URL {
  // Every attempt listed shows it: a long one would make every page of history long.
  if (given.length > MAX_DESTINATION_LENGTH) fail('destination_invalid', `${name} may be at most ${MAX_DESTINATION_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    fail('destination_invalid', `'${given}' is not an absolute URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail('destination_invalid', `${name} must be an http or https URL`);
  if (url.username || url.password) fail('destination_invalid', `credentials in ${name} are not supported`);
  return url;
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

const SECRET_LENGTH = 33;
const MAX_DESTINATION_LENGTH = 4096;
/** Longest time an old secret keeps signing after a rotation. */
const MAX_OVERLAP_SECONDS = 7 * 24 * 3600;
/** Most secrets valid at once, the current one included. */
export const MAX_VALID_SECRETS = 10;

/** Whether a scheme signs as Standard Webhooks does, with a `whsec_` key (under either scheme's header names). */
const isStandard = (signing: EgressSigning) => signing === 'standard-webhooks' || signing === 'svix';

/**
 * A new signing secret. Standard Webhooks receivers (the standardwebhooks and
 * svix libraries) take `whsec_` and the base64 of the key: 24 random bytes,
 * as many bits as klev's 33 base62 characters hold near enough.
 */
function newSecret(signing: EgressSigning): string {
  if (isStandard(signing)) return `whsec_${randomBytes(24).toString('base64')}`;
  return `ewhsec_${randomBase62(SECRET_LENGTH)}`;
}

/** Svix's bounds on a key given by the user: 24 to 75 bytes (32 to 100 base64 characters). */
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 75;
const KLEV_SECRET = new RegExp(`^ewhsec_[0-9A-Za-z]{${SECRET_LENGTH},100}$`);

/** A secret given by the user, if it is of the form the scheme's own secrets take, and no weaker. */
export function checkSecret(signing: EgressSigning, secret: string): string {
  if (!isStandard(signing)) {
    if (!KLEV_SECRET.test(secret)) fail('field_invalid', `the secret must be 'ewhsec_' followed by ${SECRET_LENGTH} to 100 letters and digits`);
    return secret;
  }
  const key = secret.startsWith('whsec_') ? secretKey(secret) : undefined;
  if (!key || key.length < MIN_KEY_BYTES || key.length > MAX_KEY_BYTES) {
    fail('field_invalid', `the secret must be 'whsec_' followed by the base64 of a key of ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} bytes`);
  }
  return secret;
}

function notFound(id: string): never {
  fail('egress_webhook_not_found', `egress webhook '${id}' does not exist`);
}
