import { STATUS_CODES } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { type TSchema, Type } from 'typebox';
import { fail, HooklogError } from '../../../domain/errors.js';
import { isId } from '../../../domain/ids.js';
import { EVENT_STATUSES, type EventStatus, MAX_BULK_REPLAY, payloadOf } from '../../../ingress/received-events.js';
import { hookbaseErrorBody } from '../../../protocols/events/errors.js';
import type { AppDeps } from '../../deps.js';
import { errorHandler, statusOf, type WireErrors } from '../../errors.js';
import { documentRoute } from '../../openapi.js';
import { timeOf } from '../../query.js';
import { registerRoutes, route } from '../../router.js';
import { field } from '../../schema.js';
import { eventJson, timelineJson } from './shapes.js';

/** The dialect's name in the route table: the document of `GET /api/events/openapi.json` lists its routes. */
export const EVENTS = 'events';
export const EVENTS_PREFIX = '/api/events';
export const EVENTS_ERRORS: WireErrors = { body: (error) => hookbaseErrorBody(error, STATUS_CODES[statusOf[error.entry.kind]] ?? 'Error') };

const MAX_PAGE_SIZE = 100;
/** Highest page: a page costs a walk of the index up to it, and 10 million pages reach past a billion events. */
const MAX_PAGE = 10_000_000;
/** Longest search text: a substring is looked for in every payload scanned, so it stays short. */
const MAX_SEARCH_LENGTH = 256;

const optional = Type.Optional;
const time = Type.String({ format: 'date-time' });
const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

const error = Type.Object({
  error: Type.String({ description: 'the status, in words' }),
  message: Type.String(),
  code: Type.String({ description: 'RESOURCE_NOT_FOUND, PAYLOAD_EXPIRED, or the catalog name in upper case; see docs/errors.md' }),
});
const delivery = Type.Object({
  id: Type.String(),
  destinationId: Type.String(),
  destinationName: nullable(Type.String()),
  status: Type.String({ description: 'pending, delivered or failed' }),
  attemptCount: Type.Integer(),
  latency: nullable(Type.Integer({ description: 'ms, of the attempt that succeeded' })),
  statusCode: nullable(Type.Integer()),
  error: nullable(Type.String()),
  deliveredAt: nullable(time),
});
const event = Type.Object({
  id: Type.String({ description: 'evt_…' }),
  sourceId: Type.String({ description: 'the ingress webhook' }),
  source: Type.Object({ id: Type.String(), name: nullable(Type.String({ description: 'the ingress webhook’s metadata' })) }),
  logId: Type.String(),
  offset: nullable(Type.Integer({ description: 'in the log; null for a request refused for its signature' })),
  status: Type.String({ description: EVENT_STATUSES.join(', ') }),
  headers: Type.Record(Type.String(), Type.String()),
  payloadSize: Type.Integer(),
  payloadHash: Type.String({ description: 'sha256:<hex>' }),
  signatureValid: Type.Boolean(),
  rejectionReason: optional(Type.String()),
  rejectionMessage: optional(Type.String()),
  deliveriesCount: Type.Integer(),
  deliveriesSucceeded: Type.Integer(),
  deliveriesFailed: Type.Integer(),
  receivedAt: time,
  createdAt: time,
  payload: optional(Type.Unknown({ description: 'JSON when the body is JSON, its text otherwise' })),
  deliveries: optional(Type.Array(delivery)),
});
const attempt = Type.Object({
  attemptNumber: Type.Integer(),
  startedAt: time,
  completedAt: time,
  status: Type.String({ description: 'success or failed' }),
  statusCode: nullable(Type.Integer()),
  latency: Type.Integer(),
});
const timeline = Type.Object({
  received: time,
  validated: time,
  queued: nullable(time),
  deliveries: Type.Array(Type.Object({ destinationId: Type.String(), destinationName: nullable(Type.String()), attempts: Type.Array(attempt) })),
  totalDuration: Type.Integer({ description: 'ms from receipt to the end of the last attempt' }),
});
const params = Type.Object({ id: field.text('the event: evt_…') });
const destinationIds = optional(
  field.array(field.text(), {
    tooMany: { maxItems: 100, error: 'field_invalid', details: 'destinationIds holds {count} ids; at most {max} are allowed' },
    description: 'default: every active destination of the event’s log',
  }),
);
const replayed = Type.Object({ message: Type.String(), deliveriesCreated: Type.Integer(), eventsQueued: optional(Type.Integer()) });

const listQuery = Type.Object({
  page: optional(field.query('1 by default')),
  pageSize: optional(field.query(`1 to ${MAX_PAGE_SIZE}; 20 by default`)),
  sourceId: optional(field.query('only events of this ingress webhook')),
  status: optional(field.query(`${EVENT_STATUSES.join(', ')}; looked for among the newest 10,000 events that match the other filters`)),
  from: optional(field.query('received at or after (ISO 8601)')),
  to: optional(field.query('received at or before (ISO 8601)')),
  search: optional(
    field.query(`a substring of the payload, at most ${MAX_SEARCH_LENGTH} characters; looked for among the newest 10,000 events that match the other filters`),
  ),
  signatureValid: optional(field.query('true or false')),
});
const flags = Type.Object({
  includePayload: optional(field.query('true: with the payload')),
  includeDeliveries: optional(field.query('true: with each destination’s delivery')),
});

/**
 * The events API, after Hookbase's: what arrived through the ingress
 * webhooks, where its deliveries stand, its payload as received, replay
 * and deletion, with hooklog's tokens and ACLs. Errors are Hookbase's
 * `{error, message, code}`.
 */
export async function eventsApi(app: FastifyInstance, { deps, version }: { deps: AppDeps; version: string }): Promise<void> {
  const { receivedEvents: events } = deps;
  app.setErrorHandler(errorHandler(EVENTS_ERRORS));
  app.setNotFoundHandler((request) => {
    throw new HooklogError('path_not_found', `'${request.url.split('?')[0]}' is not a path of the events API`);
  });
  registerRoutes(app, { dialect: EVENTS, tokens: deps.tokens }, [
    documentRoute(app, EVENTS, { title: 'hooklog: events API', version, description: 'What arrived, after Hookbase’s events API.', error }),
    route({
      method: 'GET',
      url: '',
      summary: 'list events, newest first',
      schema: {
        querystring: listQuery,
        response: Type.Object({ data: Type.Array(event), pagination: Type.Object({ total: Type.Integer(), page: Type.Integer(), pageSize: Type.Integer() }) }),
      },
      handler: async (request) => {
        const { query } = request;
        const page = integerOf(query.page, 'page', 1, MAX_PAGE) ?? 1;
        if (query.sourceId !== undefined && !isId('iwh', query.sourceId)) fail('query_param_invalid', 'sourceId must be an ingress webhook id (iwh_…)');
        const pageSize = integerOf(query.pageSize, 'pageSize', 1, MAX_PAGE_SIZE) ?? 20;
        if (query.search !== undefined && (query.search === '' || query.search.length > MAX_SEARCH_LENGTH)) {
          fail('query_param_invalid', `search must be 1 to ${MAX_SEARCH_LENGTH} characters`);
        }
        const found = await events.list(request.principal!, {
          page,
          pageSize,
          ...(query.sourceId !== undefined && { sourceId: query.sourceId }),
          ...(query.status !== undefined && { status: eventStatusOf(query.status) }),
          ...(query.from !== undefined && { fromMs: timeOf(query.from, 'from') }),
          ...(query.to !== undefined && { toMs: timeOf(query.to, 'to') }),
          ...(query.search !== undefined && { search: query.search }),
          ...(query.signatureValid !== undefined && { signatureValid: booleanOf(query.signatureValid, 'signatureValid') }),
        });
        return { data: found.events.map((view) => eventJson(view)), pagination: { total: found.total, page, pageSize } };
      },
    }),
    route({
      method: 'GET',
      url: '/:id',
      summary: 'get an event; includePayload and includeDeliveries add those',
      schema: { params, querystring: flags, response: event },
      handler: async (request) => {
        const withPayload = booleanOf(request.query.includePayload, 'includePayload') ?? false;
        const withDeliveries = booleanOf(request.query.includeDeliveries, 'includeDeliveries') ?? false;
        const view = await events.get(request.principal!, request.params.id, { attempts: withDeliveries });
        return eventJson(view, { ...(withPayload && { payload: payloadOf(view).body }), deliveries: withDeliveries });
      },
    }),
    route({
      method: 'GET',
      url: '/:id/payload',
      summary: 'the body exactly as received, with its content type; 410 once retention removed it',
      schema: { params, response: Type.Unknown({ description: 'the raw body' }) },
      handler: async (request, reply) => {
        const { body, contentType } = await events.payload(request.principal!, request.params.id);
        return reply.type(contentType ?? 'application/octet-stream').send(body);
      },
    }),
    route({
      method: 'GET',
      url: '/:id/deliveries',
      summary: 'the event’s delivery to each destination of its log',
      schema: {
        params,
        querystring: Type.Object({ status: optional(field.query('pending, delivered or failed')) }),
        response: Type.Object({ data: Type.Array(delivery) }),
      },
      handler: async (request) => {
        const wanted = request.query.status;
        if (wanted !== undefined && !['pending', 'delivered', 'failed'].includes(wanted))
          fail('query_param_invalid', 'status must be pending, delivered or failed');
        const view = await events.get(request.principal!, request.params.id, { attempts: true });
        const { deliveries = [] } = eventJson(view, { deliveries: true });
        return { data: deliveries.filter((one) => wanted === undefined || one.status === wanted) };
      },
    }),
    route({
      method: 'GET',
      url: '/:id/timeline',
      summary: 'when the event was received, validated and queued, and each attempt of each delivery',
      schema: { params, response: timeline },
      handler: async (request) => timelineJson(await events.get(request.principal!, request.params.id, { attempts: true })),
    }),
    route({
      method: 'POST',
      url: '/:id/replay',
      summary: 'deliver the event again, to every active destination of its log or to destinationIds',
      schema: { params, body: field.object({ destinationIds }), response: replayed, status: 202 },
      handler: async (request) => {
        const { deliveriesCreated } = await events.replay(request.principal!, [request.params.id], request.body.destinationIds ?? undefined);
        return { message: 'Event queued for replay', deliveriesCreated };
      },
    }),
    route({
      method: 'POST',
      url: '/bulk/replay',
      summary: `deliver up to ${MAX_BULK_REPLAY} events again`,
      schema: {
        body: field.object({
          eventIds: field.array(field.text(), {
            tooMany: { maxItems: MAX_BULK_REPLAY, error: 'field_invalid', details: 'eventIds holds {count} ids; at most {max} are allowed' },
            description: `1 to ${MAX_BULK_REPLAY} events`,
          }),
          destinationIds,
        }),
        response: replayed,
        status: 202,
      },
      handler: async (request) => {
        if (request.body.eventIds.length === 0) fail('field_invalid', 'eventIds must name at least one event');
        const replay = await events.replay(request.principal!, request.body.eventIds, request.body.destinationIds ?? undefined);
        return { message: 'Events queued for replay', ...replay };
      },
    }),
    route({
      method: 'DELETE',
      url: '/:id',
      summary: 'delete the event, its payload and its deliveries; its offset stays taken, and consumers skip it',
      schema: { params, status: 204 },
      handler: async (request) => {
        await events.delete(request.principal!, request.params.id);
        return undefined;
      },
    }),
  ]);
}

function integerOf(raw: string | undefined, name: string, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = /^[0-9]{1,16}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= min && n <= max)) fail('query_param_invalid', `${name} must be an integer from ${min} to ${max}`);
  return n;
}

function booleanOf(raw: string | undefined, name: string): boolean | undefined {
  if (raw === undefined) return undefined;
  if (raw !== 'true' && raw !== 'false') fail('query_param_invalid', `${name} must be true or false`);
  return raw === 'true';
}

function eventStatusOf(raw: string): EventStatus {
  if (!(EVENT_STATUSES as readonly string[]).includes(raw)) fail('query_param_invalid', `status must be one of ${EVENT_STATUSES.join(', ')}`);
  return raw as EventStatus;
}
