import type {
  Application,
  AttemptQuery,
  Channel,
  CursorOffset,
  DeliveryAttempt,
  DeliveryState,
  DeliveryTask,
  EgressWebhook,
  EndpointFields,
  EventRecord,
  EventType,
  IngressWebhook,
  Integration,
  Log,
  Message,
  MessageDelivery,
  NewMessage,
  PageQuery,
  ParkedRetry,
  Readiness,
  RetentionSettings,
  StoredDeliveryStatus,
  Token,
  Transformation,
} from '../domain/types.js';

/**
 * The one storage interface. Every backend implements it and passes the
 * conformance suite in test/store.conformance.ts.
 *
 * Glossary
 * - log seq: a backend may key messages by an internal integer instead of the
 *   log id; that never leaks through this interface.
 * - append: one transaction for many publish requests (group commit). Each
 *   request gets its own outcome, so one bad request never fails the others.
 * - read: messages at or after an offset, in offset order. Offsets deleted by
 *   retention are skipped, which is how "the next available message" works.
 * - late message: one appended with a time before that of an earlier message
 *   of its log (times given by publishers need not rise). Trimming by age
 *   removes the old prefix of a log and then its old late messages.
 * - retention step: deletes at most `limit` messages and returns how many it
 *   deleted, so the caller can spread a large clean-up over many short
 *   transactions instead of one long one.
 *
 * - delivery progress: the cursor, attempts and retries of egress webhooks.
 *   These writes resolve once committed, without waiting for the disk flush:
 *   losing the newest of them to a power cut means delivering a message
 *   again, never skipping one. The records of attempts that end within
 *   DELIVERY_RECORD_WINDOW_MS of each other share one transaction, and an
 *   attempt's record commits with the cursor that moves past its message, so
 *   a crash loses at most that window's records: those messages are sent
 *   again, in order, and no cursor ever passes a message without its attempt.
 *
 * Every other write resolves only after it is durably committed.
 *
 * - lease: a worker node's claim on a piece of background work (an egress
 *   webhook's lane, the retention job) until a time. Leases that are not
 *   renewed expire, so another node takes over the work of a node that died.
 */
/** How long a delivery record waits for others to share its transaction: one commit per window instead of one per attempt. */
export const DELIVERY_RECORD_WINDOW_MS = 25;

export interface Store {
  readonly capabilities: StoreCapabilities;
  readonly tokens: TokenStore;
  readonly logs: LogStore;
  readonly messages: MessageStore;
  readonly offsets: OffsetStore;
  readonly retention: RetentionStore;
  readonly egress: EgressStore;
  readonly ingress: IngressStore;
  readonly cluster: ClusterStore;
  readonly applications: ApplicationStore;
  readonly endpoints: EndpointStore;
  readonly eventTypes: EventTypeStore;
  readonly idempotency: IdempotencyStore;
  readonly integrations: IntegrationStore;
  readonly events: EventStore;
  readonly channels: ChannelStore;
  /**
   * Calls `listener` with every change made through this store, right after
   * its commit and before the write resolves, and, where nodes share the
   * store, with the changes other nodes make (see ChangeFeed). Resolves once
   * listening.
   */
  watch(listener: (change: StoreChange) => void): Promise<void>;
  /**
   * Stores `token` as the first-start admin token, in the same transaction as
   * the mark that this was done, so it happens once per database ever.
   * Resolves false (storing nothing) when it was done before.
   */
  createBootstrapToken(token: Token): Promise<boolean>;
  /** Connections of the pool, where the backend has one (PostgreSQL): for the metrics. */
  poolUsage?(): PoolUsage;
  /**
   * Whether the database answers within `timeoutMs` and holds every
   * migration this code knows: the readiness probe. Never rejects.
   */
  ready(timeoutMs: number): Promise<Readiness>;
  close(): Promise<void>;
}

export interface PoolUsage {
  /** Connections open, idle or checked out. */
  total: number;
  idle: number;
  /** Queries queued for a connection. */
  waiting: number;
}

/** What differs between backends, declared once instead of tested for by name. */
export interface StoreCapabilities {
  /**
   * Several hooklog processes may use the store at once (PostgreSQL). Each
   * node then needs an identity of its own for its leases, and nodes may have
   * roles. A store for one process (SQLite) lets a restarted node keep its
   * leases at once, under one fixed identity.
   */
  readonly sharedByNodes: boolean;
  /**
   * How many groups of appends may commit at once. Unbounded where a group is
   * written at once and only the disk flush is awaited (SQLite): the flushes
   * overlap. Bounded where a group holds its logs' row locks until its commit
   * (PostgreSQL): groups beyond the bound would only wait on those locks and
   * pay a commit each, so requests gather into the next group instead. Two
   * keeps the database busy: one group commits while the next is sent.
   */
  readonly appendsInFlight: number;
}

export type StoreChange =
  | { kind: 'log_grown'; logId: string }
  /** Created, changed (destination, secrets, re-activation) or deleted, alone or with its log. */
  | { kind: 'egress_changed'; webhookId: string }
  /** Changed or deleted, alone or with its log. */
  | { kind: 'ingress_changed'; webhookId: string }
  /** The watch reconnected and may have missed changes: treat everything as changed. */
  | { kind: 'resync' };

/** A node not seen for this long is forgotten: every start of a node adds one. */
export const FORGET_NODES_AFTER_MS = 24 * 3600 * 1000;

export interface ClusterStore {
  /**
   * Marks worker `nodeId` alive at `nowMs`; returns how many workers were seen
   * since `aliveSinceMs`, this one included. Forgets nodes not seen for
   * FORGET_NODES_AFTER_MS.
   */
  heartbeat(nodeId: string, nowMs: number, aliveSinceMs: number): Promise<number>;
  /** Forgets a node that stops cleanly and releases all its leases, so others take its work at once. */
  leave(nodeId: string): Promise<void>;
  /** Takes or extends the lease called `name` for `owner` until `untilMs`; false while another owner holds it unexpired. */
  lead(name: string, owner: string, nowMs: number, untilMs: number): Promise<boolean>;
}

export interface TokenStore {
  create(token: Token): Promise<void>;
  get(id: string): Promise<Token | undefined>;
  list(filter: { metadata?: string }): Promise<Token[]>;
  delete(id: string): Promise<Token | undefined>;
  /** Deletes every token made for the application of log `logId`; returns how many. */
  deleteForApplication(logId: string): Promise<number>;
  /** Deletes at most `limit` tokens that expired before `before` (ms); returns how many. */
  purgeExpired(before: number, limit: number): Promise<number>;
}

export interface LogStore {
  create(log: { id: string; metadata: string } & RetentionSettings): Promise<Log>;
  get(id: string): Promise<Log | undefined>;
  list(filter: { metadata?: string }): Promise<Log[]>;
  /** Removes the log with its cursor offsets and its egress and ingress webhooks at once; its messages are purged by retention. */
  delete(id: string): Promise<Log | undefined>;
}

/** A key an append claims: it lands only if `key` was not claimed in `scope` since `since` (ms). */
export interface AppendClaim {
  scope: string;
  key: string;
  since: number;
  now: number;
}

export interface AppendRequest {
  logId: string;
  messages: NewMessage[];
  /**
   * Append only if none of these keys was claimed in its window; otherwise
   * the outcome is `duplicate` and nothing is written. Each key remembers
   * the offset of the append's first message. Checked in the append's own
   * transaction, so two concurrent copies cannot both land.
   */
  claims?: AppendClaim[];
  /** The record of the received request this append is (ingress): written in the same transaction, with the offset of its first message and the commit time as queuedAt. */
  event?: EventRecord;
}

/**
 * `nextOffset` after the append, `logMissing` when the log does not exist,
 * `duplicate` when claim number `claim` was taken, by the message at
 * `offset` where the first append under it was given one.
 */
export type AppendOutcome = { nextOffset: number } | { logMissing: true } | { duplicate: true; claim: number; offset: number | null };

export interface ReadOptions {
  /** Include each message's HTTP headers, where it has them. */
  headers?: boolean;
  /**
   * Stop before the message that would take the key, value and header bytes
   * read past this; the first message is read whatever its size. Bounds the
   * memory a read of many large messages takes. Default: no limit.
   */
  maxBytes?: number;
}

export interface MessageStore {
  /** Appends every request in one transaction. `nowMicros` is the time given to messages without one. */
  append(requests: AppendRequest[], nowMicros: number): Promise<AppendOutcome[]>;
  /** Up to `limit` messages with offset >= `from`, in offset order. */
  read(logId: string, from: number, limit: number, options?: ReadOptions): Promise<Message[]>;
  /**
   * The same, with key and value decoded as UTF-8 (invalid sequences become
   * U+FFFD, as Buffer#toString does). Lets a backend decode without building
   * a Buffer per field, which dominates the cost of large reads.
   */
  readText(logId: string, from: number, limit: number, options?: ReadOptions): Promise<Message<string>[]>;
  /** The message with the highest offset whose key equals `key` (null matches a nil key). */
  getByKey(logId: string, key: Buffer | null): Promise<Message | undefined>;
  /** Up to `limit` messages with offset < `below`, newest first, text decoded as readText does. */
  readBackward(logId: string, below: number, limit: number, options?: ReadOptions): Promise<Message<string>[]>;
  /** The offset remembered for a claim (see AppendRequest.claims) made since `since` (ms). */
  claimedOffset(scope: string, key: string, since: number): Promise<number | undefined>;
  /**
   * The headers and attributes of those of the messages at `offsets` that the
   * log holds, by offset: what describes a message without its key and
   * value, which may be large.
   */
  describe(logId: string, offsets: number[]): Promise<Map<number, Pick<Message, 'headers' | 'attributes'>>>;
  /** Replaces the value of the message at `offset` with nil (its content is expunged); false if there is none. */
  expungeValue(logId: string, offset: number): Promise<boolean>;
}

export interface OffsetStore {
  create(offset: CursorOffset): Promise<void>;
  get(id: string): Promise<CursorOffset | undefined>;
  list(filter: { logId?: string; metadata?: string }): Promise<CursorOffset[]>;
  set(id: string, value: number, valueMetadata: string): Promise<CursorOffset | undefined>;
  delete(id: string): Promise<CursorOffset | undefined>;
}

export interface RetentionStore {
  /** Logs that have at least one retention setting on. */
  logsWithRetention(): Promise<Log[]>;
  /** Deletes messages whose time is before `beforeMicros`, late ones included. */
  trimByAge(logId: string, beforeMicros: number, limit: number): Promise<number>;
  /** Deletes the oldest messages until the log's key+value bytes are at most `maxBytes`. */
  trimBySize(logId: string, maxBytes: number, limit: number): Promise<number>;
  /** Deletes messages older than `beforeMicros` that a newer message with the same key overwrites. */
  compact(logId: string, beforeMicros: number, limit: number): Promise<number>;
  /** Deletes messages with a key and a nil value whose time is before `beforeMicros`. */
  expire(logId: string, beforeMicros: number, limit: number): Promise<number>;
  /** Deletes what deleted logs and webhooks left to purge: messages, delivery attempts, delivery ids. */
  purgeDeleted(limit: number): Promise<number>;
  /** Forgets idempotency keys created before `before` (ms). */
  purgeIdempotencyKeys(before: number, limit: number): Promise<number>;
  /**
   * Forgets delivery history older than `before` (ms): attempts, settled
   * message deliveries and tasks that ended. Pending deliveries and running
   * tasks stay, whatever their age.
   */
  purgeDeliveryHistory(before: number, limit: number): Promise<number>;
  /** Forgets event records of accepted requests received before `acceptedBefore` (ms), and quarantined ones received before `refusedBefore`. */
  purgeEvents(acceptedBefore: number, refusedBefore: number, limit: number): Promise<number>;
}

export interface NewEgressWebhook {
  id: string;
  /** Its fields as a Svix endpoint, written in the same transaction. */
  endpoint?: EndpointFields;
  /** Created inactive, for this reason; absent: active. */
  inactiveReason?: string;
  logId: string;
  metadata: string;
  destination: string;
  payload: EgressWebhook['payload'];
  mode: EgressWebhook['mode'];
  signing: EgressWebhook['signing'];
  headers: EgressWebhook['headers'];
  filter: EgressWebhook['filter'];
  rateLimit: EgressWebhook['rateLimit'];
  secret: string;
  /** The log offset delivery starts at. */
  startOffset: number;
  nowMs: number;
}

export interface EgressChanges {
  metadata?: string;
  destination?: string;
  headers?: EgressWebhook['headers'];
  filter?: EgressWebhook['filter'];
  /** null removes the limit. */
  rateLimit?: EgressWebhook['rateLimit'];
  /** Re-activates an inactive webhook: it resumes at its cursor, with a fresh retry schedule. */
  reactivateAt?: number;
  /** Deactivates the webhook with this reason (a disabled endpoint): nothing is sent until it is re-activated. */
  deactivate?: string;
}

/** What one delivery step did to one message: written in one transaction. */
export interface DeliveryRecord {
  webhookId: string;
  /** The HTTP try; absent when the message was skipped by the filter. */
  attempt?: DeliveryAttempt;
  /**
   * The message's new delivery state. A `tentative` one (a failed manual
   * attempt) leaves a delivery stored as pending (its schedule goes on) or
   * as success (it did arrive once) as it is.
   */
  delivery: { offset: number; status: StoredDeliveryStatus; nextAttemptAt: number | null; statusCode: number | null; at: number; tentative?: boolean };
  /** The webhook's new state, for scheduled deliveries; manual attempts leave it as it is. */
  state?: DeliveryState;
  /**
   * Parallel mode: parks the message for this retry, or drops it from the
   * retry set (null). In the record's transaction, so the cursor never moves
   * past a failed message without its retry, and a delivered one leaves the
   * retry set only with its attempt recorded.
   */
  retry?: ParkedRetry | null;
}

/**
 * Whether a record commits without waiting out DELIVERY_RECORD_WINDOW_MS:
 * its lane reads back next what it changes (the retry set), or waits for it
 * (a task's chunk of manual attempts, before its progress is saved).
 */
export function isUrgent(record: DeliveryRecord): boolean {
  return record.retry !== undefined || record.attempt?.trigger === 'manual';
}

export interface EgressStore {
  /** Fails with uid_taken (storing nothing) when the endpoint fields' uid is another endpoint's in the log. */
  create(webhook: NewEgressWebhook): Promise<EgressWebhook>;
  get(id: string): Promise<EgressWebhook | undefined>;
  list(filter: { metadata?: string }): Promise<EgressWebhook[]>;
  /** How many webhooks are active, to share them fairly between workers. */
  countActive(): Promise<number>;
  /**
   * Leases up to `limit` active webhooks to `owner` until `untilMs`: those no
   * one holds, whose lease expired by `nowMs`, or that `owner` holds until
   * before `untilMs` (left from before a restart; leases it just renewed to
   * `untilMs` are not returned again). Returns their ids. Concurrent claims
   * never return the same webhook.
   */
  claim(owner: string, nowMs: number, untilMs: number, limit: number): Promise<string[]>;
  /** Extends `owner`'s leases on `ids` to `untilMs`; returns the ids it still held. */
  renew(owner: string, ids: string[], untilMs: number): Promise<string[]>;
  release(owner: string, ids: string[]): Promise<void>;
  update(id: string, changes: EgressChanges): Promise<EgressWebhook | undefined>;
  delete(id: string): Promise<EgressWebhook | undefined>;
  /**
   * Makes `secret` the current one. The previous current secret stays valid
   * until `oldExpiresAt` (ms). When that is not in the future, it and every
   * earlier secret still valid stop at once. At most `keep` secrets stay
   * valid, the current one included: the oldest go first.
   */
  rotateSecret(id: string, secret: string, oldExpiresAt: number, nowMs: number, keep: number): Promise<EgressWebhook | undefined>;
  /** Secrets valid at `nowMs`, the current one first; expiresAt is null for the current one. */
  secrets(id: string, nowMs: number): Promise<Array<{ secret: string; expiresAt: number | null }>>;
  transformation(id: string): Promise<Transformation | undefined>;
  /** Stores the webhook's transformation, or removes it (null), and announces a change of the webhook; false when there is no such webhook. */
  setTransformation(id: string, transformation: Transformation | null): Promise<boolean>;
  /**
   * Writes what one delivery step did in one transaction, only while `owner`
   * holds the webhook's lease; nothing if the webhook is gone or its lease
   * passed to another node.
   */
  recordAttempt(record: DeliveryRecord, owner: string): Promise<void>;
  /** A webhook's attempts that match `query`, newest first. */
  attempts(id: string, query: AttemptQuery): Promise<DeliveryAttempt[]>;
  attempt(id: string, attemptId: number): Promise<DeliveryAttempt | undefined>;
  /** How many messages below offset `cursor` are in each stored state (pending: parked for a retry). */
  deliveryCounts(id: string, cursor: number): Promise<Record<StoredDeliveryStatus, number>>;
  /**
   * The id of the `scan`-th newest attempt (below `belowId`), or undefined
   * when there are fewer: how far back a filtered page may look.
   */
  attemptFloor(id: string, belowId: number | undefined, scan: number): Promise<number | undefined>;
  /** Offsets in [from, end) whose delivery failed at or after `sinceMs` (and before `untilMs`, if given), in order; `limit` of them at most. */
  failedSince(id: string, sinceMs: number, from: number, end: number, limit: number, untilMs?: number): Promise<number[]>;
  /** How many offsets below `end` failedSince would list. */
  countFailedSince(id: string, sinceMs: number, end: number, untilMs?: number): Promise<number>;
  /** Stores a new task and announces a change of its webhook, so that the lane holding it starts the task. */
  createTask(task: DeliveryTask): Promise<void>;
  task(id: string): Promise<DeliveryTask | undefined>;
  /** A webhook's running tasks, oldest first. */
  runningTasks(webhookId: string): Promise<DeliveryTask[]>;
  /** Saves a task's progress and status, only while `owner` holds its webhook's lease; false otherwise. */
  saveTask(task: DeliveryTask, owner: string): Promise<boolean>;
  /** Tasks, newest first, with ids below `belowId`. */
  listTasks(filter: { belowId?: string; limit: number }): Promise<DeliveryTask[]>;
  /** Blanks the response body of one attempt; false if there is none. */
  expungeResponse(id: string, attemptId: number): Promise<boolean>;
  /** The stored delivery states of those of `offsets` the webhook has one for (attempted or skipped), by offset. */
  deliveryStates(id: string, offsets: number[]): Promise<Map<number, MessageDelivery>>;
  /** Drops a message from the retry set without an attempt (retention removed it). */
  unpark(id: string, offset: number): Promise<void>;
  /** The parked retry due first, if any. */
  nextParked(id: string): Promise<ParkedRetry | undefined>;
  /** How many messages wait in the retry set, and the lowest offset among them (null when none). */
  parked(id: string): Promise<{ count: number; firstOffset: number | null }>;
}

export interface IngressChanges {
  metadata?: string;
  secret?: string;
  header?: string;
  algorithm?: IngressWebhook['algorithm'];
  encoding?: IngressWebhook['encoding'];
  prefix?: string;
  deduplicate?: boolean;
  keepRejected?: boolean;
}

export interface IngressStore {
  create(webhook: IngressWebhook): Promise<void>;
  get(id: string): Promise<IngressWebhook | undefined>;
  list(filter: { metadata?: string }): Promise<IngressWebhook[]>;
  update(id: string, changes: IngressChanges): Promise<IngressWebhook | undefined>;
  delete(id: string): Promise<IngressWebhook | undefined>;
  /** Adds to per-webhook counters; committed without waiting for the disk. */
  count(deltas: Array<{ webhookId: string; name: string; by: number }>): Promise<void>;
  counters(id: string): Promise<Record<string, number>>;
}

export interface ApplicationChanges {
  uid?: string | null;
  name?: string;
  rateLimit?: number | null;
  metadata?: Application['metadata'];
  nowMs: number;
}

export interface ApplicationStore {
  /**
   * Creates the log and its application fields in one transaction; writing
   * nothing, 'uid_taken' when another application has the uid, 'id_taken'
   * when a log (an application or not) has the id.
   */
  create(log: { id: string; metadata: string } & RetentionSettings, application: Application): Promise<Application | 'uid_taken' | 'id_taken'>;
  get(logId: string): Promise<Application | undefined>;
  byUid(uid: string): Promise<Application | undefined>;
  /** Applications ordered by log id. */
  list(page: PageQuery): Promise<Application[]>;
  update(logId: string, changes: ApplicationChanges): Promise<Application | 'uid_taken' | undefined>;
}

export interface EndpointChanges {
  uid?: string | null;
  description?: string;
  version?: number;
  metadata?: EndpointFields['metadata'];
  nowMs: number;
}

/** The endpoint fields of egress webhooks; they are created with the webhook (NewEgressWebhook.endpoint) and deleted with it. */
export interface EndpointStore {
  get(webhookId: string): Promise<EndpointFields | undefined>;
  byUid(logId: string, uid: string): Promise<EndpointFields | undefined>;
  /** The endpoints of one application, ordered by webhook id. */
  list(logId: string, page: PageQuery): Promise<EndpointFields[]>;
  /** 'uid_taken' (changing nothing) when another endpoint of the application has the uid. */
  update(webhookId: string, changes: EndpointChanges): Promise<EndpointFields | 'uid_taken' | undefined>;
}

export interface EventTypeStore {
  /** false (writing nothing) when the name is taken. */
  create(eventType: EventType): Promise<boolean>;
  get(name: string): Promise<EventType | undefined>;
  /** Ordered by name. */
  list(filter: PageQuery & { includeArchived: boolean }): Promise<EventType[]>;
  /** Replaces every field but name and createdAt. */
  replace(eventType: EventType): Promise<boolean>;
  delete(name: string): Promise<boolean>;
  /** Of `names`, those the catalogue holds and has not archived. */
  active(names: string[]): Promise<Set<string>>;
}

/** What an idempotency key stands for: nothing yet (now claimed), a request still running, or its first 2xx answer. */
export type IdempotencyClaim = { state: 'claimed' } | { state: 'running' } | { state: 'done'; status: number; body: string };

export interface IdempotencyStore {
  /**
   * Claims `key` in `scope` unless it was claimed since `since` (ms); a claim
   * older than that is taken over, and so is one still running that was made
   * before `abandonedBeforeMs` (its request died); that defaults to `sinceMs`.
   */
  claim(scope: string, key: string, nowMs: number, sinceMs: number, abandonedBeforeMs?: number): Promise<IdempotencyClaim>;
  /** Keeps the answer of the claimed request, for its repeats. */
  complete(scope: string, key: string, status: number, body: string): Promise<void>;
  /** Gives a claim up (the request failed), so that a retry runs again. */
  release(scope: string, key: string): Promise<void>;
  /** Forgets answers claimed before `before` (ms). */
  purge(before: number, limit: number): Promise<number>;
}

export interface IntegrationStore {
  /** Stores the integration and its token in one transaction. */
  create(integration: Integration, token: Token): Promise<void>;
  get(id: string): Promise<Integration | undefined>;
  /** One application's integrations, ordered by id. */
  list(logId: string, page: PageQuery): Promise<Integration[]>;
  update(id: string, changes: { name: string; featureFlags: string[]; nowMs: number }): Promise<Integration | undefined>;
  /** Replaces the integration's token with `token` (its bearer `key`) in one transaction: the old key stops at once. */
  rotate(id: string, token: Token, key: string, nowMs: number): Promise<Integration | undefined>;
  /** Deletes the integration and its token. */
  delete(id: string): Promise<Integration | undefined>;
}

/** Which event records to read. Filters left out match everything. */
export interface EventFilter {
  /** Only records of these logs; null: of every log. */
  logIds: string[] | null;
  sourceId?: string;
  /** Received at or after, ms. */
  fromMs?: number;
  /** Received at or before, ms. */
  toMs?: number;
  /** true: accepted only; false: refused only. */
  accepted?: boolean;
  /**
   * Only records whose payload (an accepted event's message value, a refused
   * one's body) holds these bytes, looked for among the newest `scan`
   * records that match the other filters, and no further back than
   * `scanBytes` of payload.
   */
  search?: { bytes: Buffer; scan: number; scanBytes: number };
}

/**
 * Event records. Those of a deleted log are purged in steps by the
 * retention job; until then no read returns them.
 */
export interface EventStore {
  /** Keeps a refused request; of its source's refused requests, the newest `keep` stay. */
  quarantine(record: EventRecord, keep: number): Promise<void>;
  get(id: string): Promise<EventRecord | undefined>;
  /** Records matching `filter`, newest first: `limit` of them after skipping `skip`. */
  list(filter: EventFilter, skip: number, limit: number): Promise<EventRecord[]>;
  count(filter: EventFilter): Promise<number>;
  /**
   * Deletes the record and, for an accepted event, its message and every
   * delivery state, attempt and parked retry of it, in one transaction. The
   * offset stays taken: the log's next offset never moves back, and readers
   * skip it as they skip what retention removed.
   */
  delete(id: string): Promise<EventRecord | undefined>;
}

export interface ChannelStore {
  /** false (writing nothing) when the name, or the token hash, is taken. */
  create(channel: Channel, tokenHash: string): Promise<boolean>;
  get(name: string): Promise<Channel | undefined>;
  /** The channel whose reading bearer hashes to `tokenHash`. */
  byTokenHash(tokenHash: string): Promise<Channel | undefined>;
  /** Ordered by name. */
  list(): Promise<Channel[]>;
  /** Replaces the reading bearer's hash. */
  setTokenHash(name: string, tokenHash: string): Promise<Channel | undefined>;
  /** Points the channel at another ingress webhook (its POSTs change from unsigned to secret-header, or back). */
  setSource(name: string, sourceId: string): Promise<Channel | undefined>;
  delete(name: string): Promise<Channel | undefined>;
  /**
   * Holds the channel for `reader` until `untilMs`, unless another reader
   * holds it past `nowMs`; returns its cursor, or undefined when it is held
   * (or gone).
   */
  hold(name: string, reader: string, nowMs: number, untilMs: number): Promise<number | undefined>;
  /**
   * Lets the channel go, moving its cursor to `cursor` first when given;
   * only while `reader` holds it. false when it did not.
   */
  release(name: string, reader: string, cursor: number | null): Promise<boolean>;
}
