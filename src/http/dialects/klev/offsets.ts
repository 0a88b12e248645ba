import { Type } from 'typebox';
import { OFFSET_START } from '../../../domain/types.js';
import type { AppDeps } from '../../deps.js';
import { type Route, route } from '../../router.js';
import { field } from '../../schema.js';
import { requireId } from './input.js';
import * as schemas from './schemas.js';
import { klevOffset } from './shapes.js';

export function offsetRoutes({ offsets }: AppDeps): Route[] {
  return [
    route({
      method: 'GET',
      url: '/offsets',
      summary: 'list cursor offsets',
      schema: {
        querystring: Type.Object({ log_id: Type.Optional(field.query('only offsets of this log')), ...schemas.metadataFilter.properties }),
        response: Type.Object({ offsets: Type.Array(schemas.offset) }),
      },
      permissions: () => [{ subject: 'offsets', action: 'list' }],
      handler: async (request) => {
        const { log_id: filter, metadata } = request.query;
        const logId = filter === undefined ? undefined : requireId('log', filter, 'log_id');
        return { offsets: (await offsets.list({ logId, metadata })).map(klevOffset) };
      },
    }),
    route({
      method: 'POST',
      url: '/offsets',
      summary: 'create a cursor offset at the end of a log',
      schema: { body: field.object({ log_id: field.id('log'), metadata: Type.Optional(field.text()) }), response: schemas.offset },
      permissions: () => [{ subject: 'offsets', action: 'create' }],
      handler: async (request) => klevOffset(await offsets.create(request.principal!, request.body.log_id, request.body.metadata ?? '')),
    }),
    route({
      method: 'GET',
      url: '/offset/:offset_id',
      summary: 'get a cursor offset',
      schema: { params: schemas.params.offset, response: schemas.offset },
      permissions: (request) => [{ subject: 'offsets', action: 'get', objectId: request.params.offset_id }],
      handler: async (request) => klevOffset(await offsets.get(request.params.offset_id)),
    }),
    route({
      method: 'POST',
      url: '/offset/:offset_id',
      summary: 'set a cursor offset',
      schema: {
        params: schemas.params.offset,
        body: field.object({ value: field.integer(OFFSET_START, 'an offset, or -1 (the end) or -2 (the start)'), value_metadata: Type.Optional(field.text()) }),
        response: schemas.offset,
      },
      permissions: (request) => [{ subject: 'offsets', action: 'update', objectId: request.params.offset_id }],
      handler: async (request) =>
        klevOffset(await offsets.set(request.principal!, request.params.offset_id, request.body.value, request.body.value_metadata ?? '')),
    }),
    route({
      method: 'DELETE',
      url: '/offset/:offset_id',
      summary: 'delete a cursor offset',
      schema: { params: schemas.params.offset, response: schemas.offset },
      permissions: (request) => [{ subject: 'offsets', action: 'delete', objectId: request.params.offset_id }],
      handler: async (request) => klevOffset(await offsets.delete(request.principal!, request.params.offset_id)),
    }),
  ];
}
