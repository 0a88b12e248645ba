import { Type } from 'typebox';
import { checkIdempotencyKey, IDEMPOTENCY_WINDOW_MS } from '../../../auth/idempotency-keys.js';
import { demand } from '../../../auth/principal.js';
import { attributesOf, checkAttributes } from '../../../domain/attributes.js';
import { fail } from '../../../domain/errors.js';
import type { Message } from '../../../domain/types.js';
import type { ApplicationInput } from '../../../log/applications.js';
import { nowMicros } from '../../../log/clock.js';
import { svixIds } from '../../../protocols/svix/ids.js';
import type { AppDeps } from '../../deps.js';
import { timeOf } from '../../query.js';
import { type Route, route } from '../../router.js';
import { field } from '../../schema.js';
import type { SvixAccess } from './access.js';
import { limitOf, newestFirst, supportedOnlyNull } from './paging.js';
import * as schemas from './schemas.js';
import { svixMessage } from './shapes.js';

const MAX_RETENTION_DAYS = 90;

const messageIn = field.object({
  eventType: field.text('the event type, which endpoint filters match'),
  payload: Type.Record(Type.String(), Type.Unknown(), { description: 'the JSON object sent as the request body' }),
  eventId: Type.Optional(Type.Union([field.text('unique in the application for 24 hours: a repeat gets 409'), Type.Null()])),
  channels: Type.Optional(field.strings('at most 5')),
  tags: Type.Optional(field.strings('at most 5')),
  payloadRetentionPeriod: Type.Optional(Type.Union([field.integer(1, `days, 1 to ${MAX_RETENTION_DAYS}; accepted, the log's retention applies`), Type.Null()])),
  payloadRetentionHours: Type.Optional(Type.Union([field.integer(1, "accepted, the log's retention applies"), Type.Null()])),
  application: Type.Optional(Type.Union([field.object(schemas.applicationIn, 'item'), Type.Null()])),
  deliverAt: Type.Optional(Type.Unknown({ description: 'not supported: null only' })),
  transformationsParams: Type.Optional(Type.Unknown({ description: 'not supported: null only' })),
});

const withContent = { with_content: Type.Optional(field.query('false: leave the payload out')) };

/** The message a path names, by id or by eventId. */
export async function messageOf({ events }: Pick<AppDeps, 'events'>, logId: string, name: string): Promise<Message<string>> {
  const offset = svixIds.offsetOf(logId, name);
  return offset === undefined ? events.byEventId(logId, name) : events.get(logId, offset);
}

/** Messages: events written once to the application's log, fanned out to its endpoints by their cursors. */
export function messageRoutes(deps: AppDeps, access: SvixAccess): Route[] {
  const { events, applications } = deps;
  return [
    route({
      method: 'POST',
      url: '/app/:app_id/msg',
      summary: 'create a message: it is sent to every endpoint of the application that wants it; application creates a missing one',
      schema: { params: schemas.params.app, querystring: Type.Object(withContent), body: messageIn, response: schemas.message, status: 202 },
      handler: async (request) => {
        const { body } = request;
        if (body.payloadRetentionPeriod != null && body.payloadRetentionPeriod > MAX_RETENTION_DAYS) {
          fail('field_invalid', `payloadRetentionPeriod must be 1 to ${MAX_RETENTION_DAYS} days`);
        }
        supportedOnlyNull(body, ['deliverAt', 'transformationsParams']);
        const attributes = attributesOf({ eventType: body.eventType, eventId: body.eventId, channels: body.channels, tags: body.tags })!;
        // Publishing checks them too, but after an inline application is made: a refused message must leave nothing behind.
        if (body.application) checkAttributes(attributes, 'of the message');
        const key = request.headers['idempotency-key'];
        if (typeof key === 'string') checkIdempotencyKey(key);
        const app = await applicationFor(request);
        demand(request.principal!, { subject: 'messages', action: 'publish', objectId: app.logId });
        const repeat =
          typeof key === 'string'
            ? { scope: `idempotency ${request.principal!.tokenId ?? 'admin'} ${app.logId}`, key, since: Date.now() - IDEMPOTENCY_WINDOW_MS }
            : undefined;
        const time = nowMicros();
        const payload = Buffer.from(JSON.stringify(body.payload));
        const { offset, repeated } = await events.publish(app.logId, { payload, attributes, time }, repeat);
        const message = repeated ? await events.get(app.logId, offset) : { offset, time, key: null, value: payload.toString(), attributes };
        return svixMessage(app.logId, message, request.query.with_content !== 'false');
      },
    }),
    route({
      method: 'GET',
      url: '/app/:app_id/msg',
      summary: "list an application's messages, newest first",
      schema: {
        params: schemas.params.app,
        querystring: Type.Object({
          limit: schemas.listQuery.limit,
          iterator: schemas.listQuery.iterator,
          channel: Type.Optional(field.query('only messages in this channel')),
          tag: Type.Optional(field.query('only messages with this tag')),
          event_types: Type.Optional(field.query('only messages of these event types, comma-separated')),
          before: Type.Optional(field.query('created before this time (ISO 8601)')),
          after: Type.Optional(field.query('created at or after this time (ISO 8601)')),
          ...withContent,
        }),
        response: schemas.list(schemas.message),
      },
      handler: async (request) => {
        const app = await access.application(request);
        demand(request.principal!, { subject: 'messages', action: 'consume', objectId: app.logId });
        const { query } = request;
        const below = query.iterator
          ? (svixIds.offsetOf(app.logId, query.iterator) ?? fail('query_param_invalid', 'iterator is not one this list gave'))
          : undefined;
        const micros = (ms: number | undefined) => (ms === undefined ? undefined : ms * 1000);
        const page = await events.list(app.logId, {
          below,
          limit: limitOf(query.limit),
          channel: query.channel,
          tag: query.tag,
          eventTypes: query.event_types?.split(',').filter(Boolean),
          before: micros(timeOf(query.before, 'before')),
          after: micros(timeOf(query.after, 'after')),
        });
        const shown = page.events.map((message) => svixMessage(app.logId, message, query.with_content !== 'false'));
        return newestFirst(shown, page.next === null ? null : svixIds.message(app.logId, page.next));
      },
    }),
    route({
      method: 'GET',
      url: '/app/:app_id/msg/:msg_id',
      summary: 'get a message by its id or its eventId',
      schema: { params: schemas.params.message, querystring: Type.Object(withContent), response: schemas.message },
      handler: async (request) => {
        const app = await access.application(request);
        demand(request.principal!, { subject: 'messages', action: 'consume', objectId: app.logId });
        return svixMessage(app.logId, await messageOf(deps, app.logId, request.params.msg_id), request.query.with_content !== 'false');
      },
    }),
    route({
      method: 'DELETE',
      url: '/app/:app_id/msg/:msg_id/content',
      summary: "remove a message's payload for good; it can no longer be resent",
      schema: { params: schemas.params.message, status: 204 },
      handler: async (request) => {
        const app = await access.application(request);
        demand(request.principal!, { subject: 'messages', action: 'cleanup', objectId: app.logId });
        const message = await messageOf(deps, app.logId, request.params.msg_id);
        await events.expunge(app.logId, message.offset);
      },
    }),
    route({
      method: 'POST',
      url: '/app/:app_id/msg/expunge-all-contents',
      summary: 'not supported: expunging every payload of an application',
      schema: { params: schemas.params.app },
      handler: async () => fail('operation_unsupported', 'expunging every payload at once is not supported by hooklog; expunge messages one by one'),
    }),
    route({
      method: 'POST',
      url: '/app/:app_id/msg/precheck/active',
      summary: 'not supported: the precheck',
      schema: { params: schemas.params.app },
      handler: async () => fail('operation_unsupported', 'the message precheck is not supported by hooklog'),
    }),
  ];

  /** The path's application; a uid naming none, with an inline `application`, is made first, if the token may publish to any log. */
  async function applicationFor(request: Parameters<SvixAccess['application']>[0] & { body: { application?: ApplicationInput | null } }) {
    const inline = request.body.application;
    if (!inline) return access.application(request);
    // A new log's id is not known before: only a right to publish to every log covers it.
    const existing = svixIds.logOf(request.params.app_id) !== undefined || (await applications.find(undefined, request.params.app_id));
    if (!existing) demand(request.principal!, { subject: 'messages', action: 'publish' });
    return (await access.applicationOrNew(request, inline)).app;
  }
}
