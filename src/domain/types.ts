/**
 * Glossary of the core model. Every dialect maps onto these shapes.
 *
 * - Log: an ordered sequence of messages. Offsets start at 0 and grow by one
 *   per message, with no gaps at publish time; retention may later delete
 *   messages, so readers skip to the next offset that still exists.
 * - Message: offset, time (microseconds since the Unix epoch), key and value.
 *   Key and value are bytes or null ("nil"); null and empty are different.
 * - Cursor offset ("offset" in klev): a stored position in a log that a
 *   consumer resumes from. -1 means the end of the log, -2 its start.
 * - Token: a bearer credential with an ACL; an empty ACL means full access.
 */

export interface RetentionSettings {
  /** Keep the newest message per key only. Default false. */
  compacting: boolean;
  /** Delete the oldest messages while the log holds more key+value bytes than this. 0 = off. */
  trimBytes: number;
  /** Delete messages older than this many seconds. 0 = off. */
  trimSeconds: number;
  /** On a compacting log, wait this long before an overwritten message is removed. 0 = at the next run. */
  compactSeconds: number;
  /** Delete messages with a key and a nil value once older than this many seconds. 0 = off. */
  expireSeconds: number;
}

export interface Log extends RetentionSettings {
  id: string;
  metadata: string;
  /** The offset the next published message will get. */
  nextOffset: number;
}

/** HTTP request headers kept with a message that came in through an ingress webhook. */
export type MessageHeaders = Record<string, string>;

/**
 * Optional attributes written once with a message, that destinations filter
 * on and dialects show: Svix's eventType, eventId, channels and tags, or an
 * ingress provider's event name (as eventType) and delivery id (as eventId).
 */
export interface MessageAttributes {
  eventType?: string;
  eventId?: string;
  channels?: string[];
  tags?: string[];
  /** The one destination (egress webhook id) the message is for, an example sent to it; every other destination skips it. */
  destination?: string;
}

/** A stored message. Key and value are bytes, or text when read already decoded as UTF-8. */
export interface Message<Bytes extends Buffer | string = Buffer> {
  offset: number;
  /** Microseconds since the Unix epoch. */
  time: number;
  key: Bytes | null;
  value: Bytes | null;
  /** Present only when asked for, and only on messages that have headers. */
  headers?: MessageHeaders;
  /** Present only on messages that have attributes. */
  attributes?: MessageAttributes;
}

/** A message as a publisher hands it in: the log assigns offset, and time when absent. */
export interface NewMessage {
  time?: number;
  key: Buffer | null;
  value: Buffer | null;
  headers?: MessageHeaders;
  attributes?: MessageAttributes;
}

export interface Token {
  id: string;
  metadata: string;
  acl: string[];
  /** SHA-256 of the bearer's secret part, hex. The secret itself is never stored. */
  secretHash: string;
  /** The log of the one application the token was made for (app portal access), whose tokens can be expired at once. */
  application?: string;
  /** Milliseconds since the epoch after which the token no longer authenticates; absent: never. */
  expiresAt?: number;
}

export interface CursorOffset {
  id: string;
  logId: string;
  metadata: string;
  /** Where a consumer using this offset starts: an offset, or -1 (end) / -2 (start). */
  value: number;
  valueMetadata: string;
}

export const OFFSET_END = -1;
export const OFFSET_START = -2;

/** What an egress webhook sends: the whole message as JSON, or the raw key or value bytes. */
export type EgressPayload = 'message' | 'key' | 'value';
export const EGRESS_PAYLOADS: readonly EgressPayload[] = ['message', 'key', 'value'];

/**
 * ordered: a failing message blocks the cursor until it succeeds or the retry
 * schedule is used up. parallel: it is parked in a retry set and the cursor
 * moves on.
 */
export type DeliveryMode = 'ordered' | 'parallel';
export const DELIVERY_MODES: readonly DeliveryMode[] = ['ordered', 'parallel'];

/** How requests to a destination are signed: klev's X-Klev-Signature, or the Standard Webhooks scheme under its own header names (`webhook-*`) or Svix's (`svix-*`). */
export type EgressSigning = 'klev' | 'standard-webhooks' | 'svix';
export const EGRESS_SIGNINGS: readonly EgressSigning[] = ['klev', 'standard-webhooks', 'svix'];

/** Headers sent with every request to a destination, by lower-case name. */
export type CustomHeaders = Record<string, string>;

/**
 * Which messages a destination gets: one whose event type is listed (when
 * event types are), and that has a listed channel (when channels are). The
 * others are skipped, and recorded so.
 */
export interface EgressFilter {
  eventTypes: string[];
  channels: string[];
}

/** Where a destination's delivery stands. Times are milliseconds since the epoch. */
export interface DeliveryState {
  active: boolean;
  inactiveReason: string;
  /** The next offset of the log to deliver (the cursor). */
  nextOffset: number;
  /** Failed attempts in a row of the message at the cursor (ordered mode). */
  failures: number;
  /** No attempt is made before this time. */
  nextAttemptAt: number;
  /** The offset, time, response and error of the last attempt; null before the first. */
  lastOffset: number | null;
  lastTime: number | null;
  lastResponse: string;
  lastError: string;
}

export interface EgressWebhook {
  id: string;
  logId: string;
  metadata: string;
  destination: string;
  payload: EgressPayload;
  mode: DeliveryMode;
  signing: EgressSigning;
  headers: CustomHeaders;
  filter: EgressFilter;
  /** At most this many requests per second; null for no limit. */
  rateLimit: number | null;
  state: DeliveryState;
}

/**
 * A destination's transformation: JavaScript whose handler may change each
 * request (method, URL, headers, payload) or cancel it, run in a sandbox
 * just before the request is signed (src/transformation/).
 */
export interface Transformation {
  code: string;
  /** A disabled transformation is kept but not run. */
  enabled: boolean;
  /** Milliseconds since the epoch. */
  updatedAt: number;
}

/** One request of a delivery, as it will be signed and sent. */
export interface DeliveryRequest {
  method: string;
  url: string;
  /** By lower-case name, without the signature's headers, which are added last. */
  headers: Record<string, string>;
  body: Buffer;
}

/** Whether an HTTP status is a success: only a 2xx is. */
export function isSuccess(statusCode: number | null): boolean {
  return statusCode !== null && statusCode >= 200 && statusCode < 300;
}

/** One HTTP try of one message to one destination. */
export interface DeliveryAttempt {
  /** Given by the store; later attempts of a webhook have higher ids. */
  id?: number;
  webhookId: string;
  offset: number;
  /** 1 for the first try of this message, 2 for its first retry, … */
  attempt: number;
  /** Milliseconds since the epoch, when the request was sent. */
  time: number;
  /** null when no response came (timeout, refused, reset). */
  statusCode: number | null;
  durationMs: number;
  /** The response body, truncated. */
  response: string;
  error: string;
  trigger: 'scheduled' | 'manual';
}

/**
 * Where one message stands with one destination. A message the destination
 * has not dealt with yet has no stored state: it is pending when at or after
 * the cursor. `sending` is known only to the node sending it.
 */
export type DeliveryStatus = 'pending' | 'sending' | 'success' | 'failed' | 'skipped';
export type StoredDeliveryStatus = Exclude<DeliveryStatus, 'sending'>;

export interface MessageDelivery {
  offset: number;
  status: StoredDeliveryStatus;
  /** Attempts made so far, manual ones included. */
  attempts: number;
  /** While pending: when the next scheduled attempt is due (ms). */
  nextAttemptAt: number | null;
  /** The last attempt's status code; null without a response or an attempt. */
  statusCode: number | null;
  /** Milliseconds since the epoch. */
  updatedAt: number;
}

/**
 * A background delivery operation on one destination, persisted so that it
 * survives a restart: resend one message, replay a range, or recover what
 * failed. The node holding the destination's lease runs it, as manual
 * attempts, from `position` on.
 */
export interface DeliveryTask {
  id: string;
  webhookId: string;
  /** replay-missing: a replay of the messages the destination has no delivery state for (never attempted nor skipped). */
  kind: 'resend' | 'replay' | 'replay-missing' | 'recover';
  /** A resend of these offsets alone (ascending) within [position, endOffset); null: the whole range. */
  offsets: number[] | null;
  status: 'running' | 'finished' | 'failed';
  /**
   * resend and replay: offsets [since, endOffset), and with byTime only the
   * messages whose time (µs) is in [since, until); replay-missing likewise.
   * recover: failures recorded in [since, until) (ms; until null: up to
   * now), at offsets below endOffset.
   */
  since: number;
  until: number | null;
  byTime: boolean;
  /** The next offset to consider. */
  position: number;
  endOffset: number;
  /** Messages to send, as far as known when the task began; null when unknown (a replay by time). */
  total: number | null;
  sent: number;
  succeeded: number;
  failed: number;
  /** Why a failed task stopped. */
  error: string;
  createdAt: number;
  updatedAt: number;
}

/** Which attempts of a destination to read, newest first. */
export interface AttemptQuery {
  /** One message's attempts. */
  offset?: number;
  /** true: those answered with a 2xx; false: the others. */
  succeeded?: boolean;
  /** 1 to 5 for 1xx to 5xx; 0 for attempts that got no response. */
  codeClass?: number;
  /** Sent at or after this time (ms). */
  after?: number;
  /** Sent before this time (ms). */
  before?: number;
  /** Only attempts with a lower id: the cursor of the page before. */
  belowId?: number;
  /** Only attempts with this id or a higher one: bounds how far back a filtered page looks. */
  fromId?: number;
  limit: number;
}

/** A message that failed in parallel mode, waiting for its next try. */
export interface ParkedRetry {
  offset: number;
  failures: number;
  nextAttemptAt: number;
}

export type HmacAlgorithm = 'sha1' | 'sha256' | 'sha512';
export type SignatureEncoding = 'hex' | 'base64';

/** Settings of the configurable types: hmac (all four) and secret-header (header). */
export interface SignatureOptions {
  header: string;
  algorithm: HmacAlgorithm;
  encoding: SignatureEncoding;
  prefix: string;
}

export interface IngressWebhook extends SignatureOptions {
  id: string;
  logId: string;
  metadata: string;
  /** As the user gave it, so aliases round-trip; src/ingress/providers/registry.ts lists the types. */
  type: string;
  /** Used to verify; never shown. */
  secret: string;
  /** Answer a repeated provider delivery id within 24 hours without appending again. */
  deduplicate: boolean;
  /** Keep requests refused for their signature in the quarantine, for inspection. */
  keepRejected: boolean;
}

/** How long an idempotency key (a provider's delivery id) is remembered: a repeat within it is a duplicate. */
export const DUPLICATE_WINDOW_MS = 24 * 3600 * 1000;

/** Why a request to an ingress webhook was refused; counted per webhook. */
export type RejectReason = 'missing_signature' | 'malformed_signature' | 'bad_signature' | 'stale_timestamp' | 'body_too_large';

/**
 * One request an ingress webhook received: accepted and appended at
 * `offset`, or refused for its signature and kept in the quarantine with
 * what the sender sent. An accepted event's record outlives its message
 * (retention), as long as the attempt history.
 */
export interface EventRecord {
  /** evt_<KSUID>: sorts by the time it was received. */
  id: string;
  sourceId: string;
  logId: string;
  /** null: refused, never appended. */
  offset: number | null;
  /** ms since the epoch. */
  receivedAt: number;
  /** When the signature was checked (ms). */
  validatedAt: number;
  /** When its append was committed (ms), written by the append; null when refused. */
  queuedAt: number | null;
  size: number;
  /** sha256 of the body, hex. */
  hash: string;
  /** A refused request as it came; `body` is read with one record at a time, not with lists. */
  refused?: { reason: RejectReason; detail: string; headers: MessageHeaders; body?: Buffer };
}

/** A Kaiman Webhooks Proxy channel: a log fed by an ingress webhook, drained by its own bearer. */
export interface Channel {
  name: string;
  logId: string;
  /** The ingress webhook whose URL the channel's POSTs go through. */
  sourceId: string;
  /** Offsets below it were read and count as gone. */
  cursor: number;
  /** Declared in the YAML config: synchronised from it at start. */
  fromConfig: boolean;
  createdAt: number;
}

/** Text labels of an application or endpoint, by name. */
export type Labels = Record<string, string>;

/**
 * A log seen as a Svix application: its messages are the application's,
 * its egress webhooks with endpoint fields its endpoints. Times are ms.
 */
export interface Application {
  logId: string;
  /** The user's own id for it, unique among applications; null: none. */
  uid: string | null;
  name: string;
  rateLimit: number | null;
  metadata: Labels;
  createdAt: number;
  updatedAt: number;
}

/** The fields an egress webhook has as a Svix endpoint. */
export interface EndpointFields {
  webhookId: string;
  logId: string;
  /** Unique within the application; null: none. */
  uid: string | null;
  description: string;
  version: number;
  metadata: Labels;
  createdAt: number;
  updatedAt: number;
}

/** An entry of the event type catalogue, which endpoint filters name. */
export interface EventType {
  name: string;
  description: string;
  /** JSON schemas by version, as the user gave them; null: none. */
  schemas: unknown;
  archived: boolean;
  deprecated: boolean;
  featureFlag: string | null;
  groupName: string | null;
  createdAt: number;
  updatedAt: number;
}

/** A named key for one application: its bearer is a token scoped to that application. */
export interface Integration {
  id: string;
  logId: string;
  name: string;
  featureFlags: string[];
  tokenId: string;
  /** The bearer, kept so that it can be shown again. */
  key: string;
  createdAt: number;
  updatedAt: number;
}

/** A page of objects ordered by id (or name): those after `after`, or before `before`, in ascending order. */
export interface PageQuery {
  after?: string;
  before?: string;
  limit: number;
}

/**
 * Why a node is not ready, from a fixed set that probes and dashboards can
 * match on. database_error: the database answered the probe with an error
 * other than being unreachable or out of time (a missing table, a refused permission).
 */
export type UnreadyReason = 'shutting_down' | 'database_timeout' | 'database_unreachable' | 'database_error' | 'migrations_behind';

/**
 * What a readiness probe found: ready to serve, or the reason it is not. The
 * detail is written for anyone who asks (the probe takes no token), so it
 * never holds a host, a credential or a driver's message; `cause` is for the log.
 */
export type Readiness = { ready: true } | { ready: false; reason: UnreadyReason; detail: string; cause?: unknown };
