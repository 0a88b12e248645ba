import { Type } from 'typebox';
import { field } from '../../schema.js';

/** klev's request and answer shapes, as the routes declare them and the OpenAPI document shows them. */

export const params = {
  log: Type.Object({ log_id: field.id('log', 'the log') }),
  token: Type.Object({ token_id: field.id('tok', 'the token') }),
  offset: Type.Object({ offset_id: field.id('off', 'the cursor offset') }),
  egress: Type.Object({ webhook_id: field.id('ewh', 'the egress webhook') }),
  ingress: Type.Object({ webhook_id: field.id('iwh', 'the ingress webhook') }),
};

export const metadataFilter = Type.Object({ metadata: Type.Optional(field.query('only objects with exactly this metadata')) });

const optional = Type.Optional;

export const error = Type.Object({
  error: Type.String({ description: 'the stable code, ERR_KLEV_API_<number>; see docs/errors.md' }),
  message: Type.String({ description: 'the same for every occurrence of the code' }),
  details: Type.String({ description: 'what, in this request, was wrong' }),
});

export const token = Type.Object({ token_id: Type.String(), metadata: Type.String(), acl: optional(Type.Array(Type.String())) });
export const createdToken = Type.Object({ ...token.properties, bearer: Type.String({ description: 'shown only now' }) });

const retention = {
  compacting: optional(Type.Boolean()),
  trim_bytes: optional(Type.Integer()),
  trim_seconds: optional(Type.Integer()),
  compact_seconds: optional(Type.Integer()),
  expire_seconds: optional(Type.Integer()),
};
export const log = Type.Object({ log_id: Type.String(), metadata: Type.String(), ...retention });

export const offset = Type.Object({
  offset_id: Type.String(),
  log_id: Type.String(),
  metadata: Type.String(),
  value: Type.Integer(),
  value_metadata: Type.String(),
});

export const message = Type.Object({
  offset: Type.Integer(),
  time: Type.Integer({ description: 'microseconds since the Unix epoch' }),
  key: optional(Type.String()),
  value: optional(Type.String()),
  headers: optional(Type.Record(Type.String(), Type.String())),
  event_type: optional(Type.String({ description: 'hooklog extension, present when the message has one' })),
  event_id: optional(Type.String({ description: 'hooklog extension, present when the message has one' })),
  channels: optional(Type.Array(Type.String(), { description: 'hooklog extension, present when the message has any' })),
  tags: optional(Type.Array(Type.String(), { description: 'hooklog extension, present when the message has any' })),
});
const encoding = Type.Union([Type.Literal('string'), Type.Literal('base64')]);
export const oneMessage = Type.Object({ encoding, ...message.properties });
export const page = Type.Object({
  next_offset: Type.Integer({ description: 'where the next page starts' }),
  encoding,
  messages: Type.Array(message),
});
export const nextOffset = Type.Object({ next_offset: Type.Integer() });

export const egressWebhook = Type.Object({
  webhook_id: Type.String(),
  metadata: Type.String(),
  log_id: Type.String(),
  destination: Type.String(),
  payload: Type.String(),
  mode: Type.String({ description: 'hooklog extension: ordered or parallel' }),
  signing: Type.String({ description: 'hooklog extension: klev or standard-webhooks' }),
  headers: Type.Record(Type.String(), Type.String(), { description: 'hooklog extension: sent with every request' }),
  filter_event_types: Type.Array(Type.String(), { description: 'hooklog extension: only messages of these event types are sent; empty: all' }),
  filter_channels: Type.Array(Type.String(), { description: 'hooklog extension: only messages in one of these channels are sent; empty: all' }),
  rate_limit: optional(Type.Integer({ description: 'hooklog extension: at most this many requests per second' })),
  secret: optional(Type.String({ description: 'shown at creation and rotation only' })),
});
export const egressStatus = Type.Object({
  webhook_id: Type.String(),
  active: Type.Boolean(),
  inactive_reason: optional(Type.String()),
  available_offset: Type.Integer(),
  next_offset: Type.Integer(),
  deliver_offset: optional(Type.Integer()),
  deliver_time: optional(Type.Integer()),
  deliver_resp: optional(Type.String()),
  deliver_error: optional(Type.String()),
  next_deliver_time: optional(Type.Integer()),
});

export const attempt = Type.Object({
  attempt_id: Type.String(),
  webhook_id: Type.String(),
  offset: Type.Integer(),
  attempt: Type.Integer({ description: 'scheduled attempts count 1, 2, … per message; a manual one is 1' }),
  trigger: Type.Union([Type.Literal('scheduled'), Type.Literal('manual')]),
  time: Type.Integer({ description: 'when it was sent, in microseconds' }),
  status_code: optional(Type.Integer({ description: 'absent when no answer came' })),
  duration_ms: Type.Integer(),
  response: Type.String({ description: 'the answer body, truncated' }),
  error: optional(Type.String()),
});
export const attemptPage = Type.Object({
  attempts: Type.Array(attempt),
  next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'pass as cursor for the next, older page; null on the last' }),
});
export const task = Type.Object({
  task_id: Type.String(),
  webhook_id: Type.String(),
  kind: Type.Union([Type.Literal('resend'), Type.Literal('replay'), Type.Literal('recover')]),
  status: Type.Union([Type.Literal('running'), Type.Literal('finished'), Type.Literal('failed')]),
  since: optional(Type.Integer()),
  until: optional(Type.Integer()),
  since_time: optional(Type.Integer()),
  until_time: optional(Type.Integer()),
  position: Type.Integer({ description: 'the next offset the task looks at' }),
  end_offset: Type.Integer(),
  progress: Type.Number({ description: 'from 0 to 1' }),
  total: optional(Type.Integer({ description: 'messages to send, as far as known when the task began; absent for a replay by time' })),
  sent: Type.Integer(),
  succeeded: Type.Integer(),
  failed: Type.Integer(),
  error: optional(Type.String()),
  created_at: Type.Integer(),
  updated_at: Type.Integer(),
});
const count = Type.Integer({ minimum: 0 });
export const summary = Type.Object({
  webhook_id: Type.String(),
  active: Type.Boolean(),
  next_offset: Type.Integer(),
  end_offset: Type.Integer(),
  lag: Type.Integer({ description: 'messages between the cursor and the end of the log' }),
  counts: Type.Object({ pending: count, sending: count, success: count, failed: count, skipped: count }),
});

export const ingressWebhook = Type.Object({
  webhook_id: Type.String(),
  metadata: Type.String(),
  log_id: Type.String(),
  type: Type.String(),
  header: optional(Type.String()),
  algorithm: optional(Type.String()),
  encoding: optional(Type.String()),
  prefix: optional(Type.String()),
  deduplicate: Type.Boolean(),
  keep_rejected: Type.Boolean(),
  path: Type.String({ description: 'hooklog extension: where the provider POSTs, /ingress/{webhook_id}, to join to the server’s public address' }),
});
export const ingressMetrics = Type.Object({
  webhook_id: Type.String(),
  received: Type.Integer(),
  accepted: Type.Integer(),
  duplicates: Type.Integer(),
  handshakes: Type.Integer(),
  failed: Type.Integer(),
  rejected: Type.Record(Type.String(), Type.Integer()),
});
