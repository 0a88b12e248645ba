import { type TSchema, Type } from 'typebox';
import { field } from '../../schema.js';

/** The Svix API's request and answer shapes, after the models of Svix's SDK, as the routes declare them and the document shows them. */

const optional = Type.Optional;
const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const time = (description = 'ISO 8601') => Type.String({ format: 'date-time', description });

export const error = Type.Object({
  code: optional(Type.String({ description: 'the stable error name; see docs/errors.md' })),
  detail: Type.Unknown({ description: 'what was wrong: text, or for 422 a list of {loc, msg, type}' }),
});

export const params = {
  app: Type.Object({ app_id: field.text('the application: its id (app_…) or uid') }),
  endpoint: Type.Object({ app_id: field.text('the application: its id or uid'), endpoint_id: field.text('the endpoint: its id (ep_…) or uid') }),
  message: Type.Object({ app_id: field.text('the application: its id or uid'), msg_id: field.text('the message: its id (msg_…) or eventId') }),
};

/** Text labels, a flat JSON object of strings. */
export const metadata = () => Type.Record(Type.String(), Type.String({ pattern: '^[^\\u0000]*$' }), { description: 'labels: a flat object of strings' });

export const listQuery = {
  limit: optional(field.query('items per page, 1 to 250; 50 by default')),
  iterator: optional(field.query('the iterator of the page before')),
  order: optional(field.query('ascending (the default) or descending where the list allows it')),
};

export const list = <T extends TSchema>(item: T) =>
  Type.Object({ data: Type.Array(item), iterator: nullable(Type.String()), prevIterator: optional(nullable(Type.String())), done: Type.Boolean() });

export const application = Type.Object({
  id: Type.String(),
  uid: nullable(Type.String()),
  name: Type.String(),
  rateLimit: nullable(Type.Integer()),
  metadata: metadata(),
  createdAt: time(),
  updatedAt: time(),
});

export const applicationIn = {
  uid: optional(nullable(field.text('your own id for it, unique among applications'))),
  name: field.text(),
  rateLimit: optional(nullable(field.integer(1, 'messages per second to each endpoint at most'))),
  throttleRate: optional(Type.Unknown({ description: 'not supported: null only' })),
  metadata: optional(metadata()),
};

export const endpoint = Type.Object({
  id: Type.String(),
  uid: nullable(Type.String()),
  url: Type.String(),
  description: Type.String(),
  version: Type.Integer(),
  metadata: metadata(),
  rateLimit: nullable(Type.Integer()),
  disabled: Type.Boolean(),
  filterTypes: nullable(Type.Array(Type.String())),
  channels: nullable(Type.Array(Type.String())),
  createdAt: time(),
  updatedAt: time(),
});

export const endpointFields = {
  url: field.text('an http(s) URL'),
  uid: optional(nullable(field.text('your own id for it, unique in the application'))),
  description: optional(field.text()),
  version: optional(nullable(field.integer(1))),
  metadata: optional(metadata()),
  filterTypes: optional(field.strings('only messages of these event types (names in the catalogue); null: all')),
  channels: optional(field.strings('only messages in one of these channels; null: all')),
  rateLimit: optional(nullable(field.integer(1, 'requests per second at most'))),
  throttleRate: optional(Type.Unknown({ description: 'not supported: null only' })),
  disabled: optional(field.boolean('a disabled endpoint is sent nothing')),
};

export const message = Type.Object({
  id: Type.String(),
  eventType: Type.String(),
  eventId: nullable(Type.String()),
  channels: nullable(Type.Array(Type.String())),
  tags: nullable(Type.Array(Type.String())),
  timestamp: time(),
  payload: Type.Unknown({ description: 'the JSON payload; {} without content' }),
});

export const attempt = Type.Object({
  id: Type.String(),
  msgId: Type.String(),
  endpointId: Type.String(),
  url: Type.String(),
  response: Type.String(),
  responseStatusCode: Type.Integer({ description: '0 when no response came' }),
  responseDurationMs: Type.Integer(),
  status: Type.Integer({ description: '0 success, 1 pending, 2 fail, 3 sending' }),
  statusText: Type.String(),
  triggerType: Type.Integer({ description: '0 scheduled, 1 manual' }),
  timestamp: time(),
});

/** Where a message stands with an endpoint. */
export const status = {
  status: Type.Integer({ description: '0 success, 1 pending, 2 fail, 3 sending, 4 canceled (skipped by the filter)' }),
  statusText: Type.String(),
  nextAttempt: nullable(time('when the next scheduled attempt is due, while pending')),
};

export const eventType = Type.Object({
  name: Type.String(),
  description: Type.String(),
  schemas: Type.Unknown(),
  archived: Type.Boolean(),
  deprecated: Type.Boolean(),
  featureFlag: nullable(Type.String()),
  groupName: nullable(Type.String()),
  createdAt: time(),
  updatedAt: time(),
});

export const task = Type.Object({
  id: Type.String(),
  status: Type.String({ description: 'running, finished or failed' }),
  task: Type.String({ description: 'endpoint.replay or endpoint.recover' }),
  data: optional(Type.Unknown()),
  updatedAt: time(),
});

export const integration = Type.Object({
  id: Type.String(),
  name: Type.String(),
  featureFlags: Type.Array(Type.String()),
  createdAt: time(),
  updatedAt: time(),
});
