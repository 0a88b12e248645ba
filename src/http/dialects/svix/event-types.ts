import { Type } from 'typebox';
import type { AclAction } from '../../../domain/acl.js';
import type { AppDeps } from '../../deps.js';
import { type Route, route } from '../../router.js';
import { field } from '../../schema.js';
import { page, pageQuery } from './paging.js';
import * as schemas from './schemas.js';
import { svixEventType } from './shapes.js';

const fields = {
  description: field.text(),
  schemas: Type.Optional(Type.Unknown({ description: 'JSON schemas by version, kept as given' })),
  archived: Type.Optional(field.boolean()),
  deprecated: Type.Optional(field.boolean()),
  featureFlag: Type.Optional(Type.Union([field.text(), Type.Null()])),
  featureFlags: Type.Optional(Type.Union([Type.Array(Type.String(), { maxItems: 1 }), Type.Null()], { description: 'at most one: hooklog keeps one flag' })),
  groupName: Type.Optional(Type.Union([field.text(), Type.Null()])),
};
const nameParams = Type.Object({ event_type_name: field.text('the event type') });

/** featureFlags (a list) and featureFlag (one) name the same thing: hooklog keeps one. */
function flagOf(body: { featureFlag?: string | null; featureFlags?: string[] | null }): string | null | undefined {
  return body.featureFlag !== undefined ? body.featureFlag : body.featureFlags === undefined ? undefined : (body.featureFlags?.[0] ?? null);
}

/** The event type catalogue: what endpoint filters may name. */
export function eventTypeRoutes({ eventTypes }: AppDeps): Route[] {
  const on = (action: AclAction) => () => [{ subject: 'event_types' as const, action }];
  return [
    route({
      method: 'GET',
      url: '/event-type',
      summary: 'list event types by name',
      schema: {
        querystring: Type.Object({
          ...schemas.listQuery,
          include_archived: Type.Optional(field.query('true: archived types too')),
          with_content: Type.Optional(field.query('false: leave the schemas out')),
        }),
        response: schemas.list(schemas.eventType),
      },
      permissions: on('list'),
      handler: async (request) => {
        const query = pageQuery(request.query);
        const withContent = request.query.with_content !== 'false';
        const types = await eventTypes.list({ ...query, includeArchived: request.query.include_archived === 'true' });
        return page(
          types,
          query,
          (type) => type.name,
          (type) => svixEventType(type, withContent),
        );
      },
    }),
    route({
      method: 'POST',
      url: '/event-type',
      summary: 'create an event type, or unarchive an archived one (its description and schemas replaced)',
      schema: { body: field.object({ name: field.text(), ...fields }), response: schemas.eventType, status: 201 },
      permissions: on('create'),
      handler: async (request) => {
        const { name, ...input } = request.body;
        return svixEventType(await eventTypes.create(name, { ...input, featureFlag: flagOf(input) }));
      },
    }),
    route({
      method: 'GET',
      url: '/event-type/:event_type_name',
      summary: 'get an event type',
      schema: { params: nameParams, response: schemas.eventType },
      permissions: on('get'),
      handler: async (request) => svixEventType(await eventTypes.get(request.params.event_type_name)),
    }),
    route({
      method: 'PUT',
      url: '/event-type/:event_type_name',
      summary: 'replace an event type; one that does not exist is created (201)',
      schema: { params: nameParams, body: field.object(fields), response: schemas.eventType },
      permissions: on('update'),
      handler: async (request, reply) => {
        const { eventType, created } = await eventTypes.replace(request.params.event_type_name, { ...request.body, featureFlag: flagOf(request.body) });
        if (created) reply.code(201);
        return svixEventType(eventType);
      },
    }),
    route({
      method: 'PATCH',
      url: '/event-type/:event_type_name',
      summary: 'change some fields of an event type',
      schema: { params: nameParams, body: field.object({ ...fields, description: Type.Optional(field.text()) }), response: schemas.eventType },
      permissions: on('update'),
      handler: async (request) => svixEventType(await eventTypes.patch(request.params.event_type_name, { ...request.body, featureFlag: flagOf(request.body) })),
    }),
    route({
      method: 'DELETE',
      url: '/event-type/:event_type_name',
      summary: 'archive an event type; expunge=true removes it',
      schema: { params: nameParams, querystring: Type.Object({ expunge: Type.Optional(field.query('true: remove it from the catalogue')) }), status: 204 },
      permissions: on('delete'),
      handler: async (request) => {
        await eventTypes.delete(request.params.event_type_name, request.query.expunge === 'true');
      },
    }),
  ];
}
