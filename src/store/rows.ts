import { attributesOf } from '../domain/attributes.js';
import type {
  Channel,
  CursorOffset,
  DeliveryAttempt,
  DeliveryTask,
  EgressWebhook,
  EventRecord,
  IngressWebhook,
  Log,
  Message,
  MessageAttributes,
  MessageDelivery,
  MessageHeaders,
  RejectReason,
  StoredDeliveryStatus,
  Token,
  Transformation,
} from '../domain/types.js';
import type { AppendOutcome, AppendRequest, EgressChanges } from './store.js';

/**
 * Table rows as both backends return them, and their domain objects. The
 * tables have the same columns in both; only flags differ in type (SQLite
 * stores 0 and 1, PostgreSQL booleans), which `flag` hides.
 */
type Flag = number | boolean;
const flag = (value: Flag): boolean => value === true || value === 1;

export interface TokenRow {
  id: string;
  metadata: string;
  acl: string;
  secret_hash: string;
  application: string | null;
  expires_at: number | null;
}

/** A token's optional fields are absent, not null, when it has none. */
export const toToken = (row: TokenRow): Token => ({
  id: row.id,
  metadata: row.metadata,
  acl: JSON.parse(row.acl) as string[],
  secretHash: row.secret_hash,
  ...(row.application !== null && { application: row.application }),
  ...(row.expires_at !== null && { expiresAt: row.expires_at }),
});

export interface LogRow {
  seq: number;
  id: string;
  metadata: string;
  compacting: Flag;
  trim_bytes: number;
  trim_seconds: number;
  compact_seconds: number;
  expire_seconds: number;
  next_offset: number;
}

export const toLog = (row: LogRow): Log => ({
  id: row.id,
  metadata: row.metadata,
  compacting: flag(row.compacting),
  trimBytes: row.trim_bytes,
  trimSeconds: row.trim_seconds,
  compactSeconds: row.compact_seconds,
  expireSeconds: row.expire_seconds,
  nextOffset: row.next_offset,
});

export interface OffsetRow {
  id: string;
  log_id: string;
  metadata: string;
  value: number;
  value_metadata: string;
}

export const toOffset = (row: OffsetRow): CursorOffset => ({
  id: row.id,
  logId: row.log_id,
  metadata: row.metadata,
  value: row.value,
  valueMetadata: row.value_metadata,
});

export interface EgressWebhookRow {
  id: string;
  log_id: string;
  metadata: string;
  destination: string;
  payload: EgressWebhook['payload'];
  mode: EgressWebhook['mode'];
  signing: EgressWebhook['signing'];
  /** JSON object. */
  headers: string;
  /** JSON arrays. */
  filter_event_types: string;
  filter_channels: string;
  rate_limit: number | null;
  active: Flag;
  inactive_reason: string;
  next_offset: number;
  failures: number;
  next_attempt_at: number;
  last_offset: number | null;
  last_time: number | null;
  last_response: string;
  last_error: string;
}

export const toEgressWebhook = (row: EgressWebhookRow): EgressWebhook => ({
  id: row.id,
  logId: row.log_id,
  metadata: row.metadata,
  destination: row.destination,
  payload: row.payload,
  mode: row.mode,
  signing: row.signing,
  headers: JSON.parse(row.headers),
  filter: { eventTypes: JSON.parse(row.filter_event_types), channels: JSON.parse(row.filter_channels) },
  rateLimit: row.rate_limit,
  state: {
    active: flag(row.active),
    inactiveReason: row.inactive_reason,
    nextOffset: row.next_offset,
    failures: row.failures,
    nextAttemptAt: row.next_attempt_at,
    lastOffset: row.last_offset,
    lastTime: row.last_time,
    lastResponse: row.last_response,
    lastError: row.last_error,
  },
});

/**
 * What an update does to a webhook's activity: deactivate with a reason, or
 * re-activate at a time, or neither. Deactivating wins when a change asks for
 * both: a webhook disabled on purpose stays disabled.
 */
export function activation(changes: EgressChanges): { deactivate: string | null; reactivateAt: number | null } {
  if (changes.deactivate !== undefined) return { deactivate: changes.deactivate, reactivateAt: null };
  return { deactivate: null, reactivateAt: changes.reactivateAt ?? null };
}

export interface AttemptRow {
  id: number;
  webhook_id: string;
  msg_offset: number;
  attempt: number;
  time: number;
  status_code: number | null;
  duration_ms: number;
  response: string;
  error: string;
  trigger: DeliveryAttempt['trigger'];
}

export const toAttempt = (row: AttemptRow): DeliveryAttempt => ({
  id: row.id,
  webhookId: row.webhook_id,
  offset: row.msg_offset,
  attempt: row.attempt,
  time: row.time,
  statusCode: row.status_code,
  durationMs: row.duration_ms,
  response: row.response,
  error: row.error,
  trigger: row.trigger,
});

export interface TaskRow {
  id: string;
  webhook_id: string;
  kind: DeliveryTask['kind'];
  status: DeliveryTask['status'];
  since: number;
  until: number | null;
  by_time: Flag;
  position: number;
  end_offset: number;
  total: number | null;
  sent: number;
  succeeded: number;
  failed: number;
  error: string;
  created_at: number;
  updated_at: number;
  /** JSON array, or NULL for a range. */
  offsets: string | null;
}

export const toTask = (row: TaskRow): DeliveryTask => ({
  id: row.id,
  webhookId: row.webhook_id,
  kind: row.kind,
  status: row.status,
  since: row.since,
  until: row.until,
  byTime: flag(row.by_time),
  position: row.position,
  endOffset: row.end_offset,
  total: row.total,
  sent: row.sent,
  succeeded: row.succeeded,
  failed: row.failed,
  error: row.error,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  offsets: row.offsets === null ? null : (JSON.parse(row.offsets) as number[]),
});

export interface TransformationRow {
  code: string;
  enabled: Flag;
  updated_at: number;
}

export const toTransformation = (row: TransformationRow): Transformation => ({ code: row.code, enabled: flag(row.enabled), updatedAt: row.updated_at });

export interface IngressRow {
  id: string;
  log_id: string;
  metadata: string;
  type: string;
  secret: string;
  header: string;
  algorithm: IngressWebhook['algorithm'];
  encoding: IngressWebhook['encoding'];
  prefix: string;
  deduplicate: Flag;
  keep_rejected: Flag;
}

export const toIngressWebhook = (row: IngressRow): IngressWebhook => ({
  id: row.id,
  logId: row.log_id,
  metadata: row.metadata,
  type: row.type,
  secret: row.secret,
  header: row.header,
  algorithm: row.algorithm,
  encoding: row.encoding,
  prefix: row.prefix,
  deduplicate: flag(row.deduplicate),
  keepRejected: flag(row.keep_rejected),
});

export interface CounterDelta {
  webhookId: string;
  name: string;
  by: number;
}

/** Sums deltas per counter, so a group of them touches each row once. */
export function sumDeltas(deltas: CounterDelta[]): CounterDelta[] {
  const sums = new Map<string, CounterDelta>();
  for (const delta of deltas) {
    const key = `${delta.webhookId}\u0000${delta.name}`;
    const sum = sums.get(key);
    if (sum) sum.by += delta.by;
    else sums.set(key, { ...delta });
  }
  return [...sums.values()];
}

/** A message's stored size as reads count it against their byte limit: key, value, and the JSON of its headers and of its attributes. */
export function messageBytes(key: Buffer | null, value: Buffer | null, headersJson: string | null, attributesJson: string | null): number {
  const headers = headersJson === null ? 0 : Buffer.byteLength(headersJson);
  return (key?.length ?? 0) + (value?.length ?? 0) + headers + (attributesJson === null ? 0 : Buffer.byteLength(attributesJson));
}

/**
 * A message's attributes as stored: compact JSON of the present ones (an
 * empty list is absent), or null when it has none, which costs a message
 * without attributes nothing but a NULL.
 */
export function attributesJson(attributes: MessageAttributes | undefined): string | null {
  const present = attributes && attributesOf(attributes);
  return present ? JSON.stringify(present) : null;
}

/** The logs a group of appends added messages to, each once. */
export function grownLogs(requests: AppendRequest[], outcomes: AppendOutcome[]): Set<string> {
  const grown = new Set<string>();
  requests.forEach((request, i) => {
    if (request.messages.length > 0 && 'nextOffset' in outcomes[i]!) grown.add(request.logId);
  });
  return grown;
}

export interface DeliveryRow {
  msg_offset: number;
  status: StoredDeliveryStatus;
  attempts: number;
  next_attempt_at: number | null;
  status_code: number | null;
  updated_at: number;
}

export const toDelivery = (row: DeliveryRow): MessageDelivery => ({
  offset: row.msg_offset,
  status: row.status,
  attempts: row.attempts,
  nextAttemptAt: row.next_attempt_at,
  statusCode: row.status_code,
  updatedAt: row.updated_at,
});

/** An events row; `body` is read only for one record at a time. */
export interface EventRow {
  id: string;
  source_id: string;
  log_id: string;
  msg_offset: number | null;
  received_at: number;
  validated_at: number;
  queued_at: number | null;
  size: number;
  hash: string;
  reason: RejectReason | null;
  detail: string | null;
  headers: string | null;
  body?: Buffer | null;
}

export const toEventRecord = (row: EventRow): EventRecord => ({
  id: row.id,
  sourceId: row.source_id,
  logId: row.log_id,
  offset: row.msg_offset,
  receivedAt: row.received_at,
  validatedAt: row.validated_at,
  queuedAt: row.queued_at,
  size: row.size,
  hash: row.hash,
  ...(row.reason !== null && {
    refused: {
      reason: row.reason,
      detail: row.detail ?? '',
      headers: row.headers === null ? {} : (JSON.parse(row.headers) as MessageHeaders),
      ...(row.body && { body: row.body }),
    },
  }),
});

/** An event record as the columns of its row, in EVENT_COLUMNS order; `queuedAt` is the append's. */
export const eventValues = (record: EventRecord, offset: number | null, queuedAt: number | null) => [
  record.id,
  record.sourceId,
  record.logId,
  offset,
  record.receivedAt,
  record.validatedAt,
  queuedAt,
  record.size,
  record.hash,
  record.refused?.reason ?? null,
  record.refused?.detail ?? null,
  record.refused ? JSON.stringify(record.refused.headers) : null,
  record.refused?.body ?? null,
];

/** The columns of an events row, written in eventValues order; `body` last, so that lists can leave it out. */
export const EVENT_COLUMNS = 'id, source_id, log_id, msg_offset, received_at, validated_at, queued_at, size, hash, reason, detail, headers';

/** A message's headers and attributes, from their JSON columns (see MessageStore.describe). */
export function describedMessage(headers: string | null, attributes: string | null): Pick<Message, 'headers' | 'attributes'> {
  return {
    ...(headers !== null && { headers: JSON.parse(headers) as MessageHeaders }),
    ...(attributes !== null && { attributes: JSON.parse(attributes) as MessageAttributes }),
  };
}

/** A `channels` row, as both backends read it. */
export interface ChannelRow {
  name: string;
  log_id: string;
  source_id: string;
  cursor: number;
  from_config: Flag;
  created_at: number;
}

export const toChannel = (row: ChannelRow): Channel => ({
  name: row.name,
  logId: row.log_id,
  sourceId: row.source_id,
  cursor: row.cursor,
  fromConfig: flag(row.from_config),
  createdAt: row.created_at,
});
