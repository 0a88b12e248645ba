import { OFFSET_START } from '../../../domain/types.js';
import type { AppDeps } from '../../deps.js';
import { objectBody, optionalString, queryParam, requireId, requiredInteger } from './input.js';
import type { Params, Route } from './router.js';
import { klevOffset } from './shapes.js';

export function offsetRoutes({ offsets }: AppDeps): Route[] {
  const id = (params: unknown) => (params as Params).offset_id;
  const offsetId = (params: unknown) => requireId('off', id(params), 'offset_id');
  return [
    {
      method: 'GET',
      url: '/offsets',
      permissions: () => [{ subject: 'offsets', action: 'list' }],
      handler: async (request) => {
        const logId = queryParam(request.query, 'log_id');
        const list = await offsets.list({ logId, metadata: queryParam(request.query, 'metadata') });
        return { offsets: list.map(klevOffset) };
      },
    },
    {
      method: 'POST',
      url: '/offsets',
      permissions: () => [{ subject: 'offsets', action: 'create' }],
      handler: async (request) => {
        const body = objectBody(request.body);
        const logId = requireId('log', optionalString(body, 'log_id'), 'log_id');
        return klevOffset(await offsets.create(logId, optionalString(body, 'metadata') ?? ''));
      },
    },
    {
      method: 'GET',
      url: '/offset/:offset_id',
      permissions: (request) => [{ subject: 'offsets', action: 'get', objectId: id(request.params) }],
      handler: async (request) => klevOffset(await offsets.get(offsetId(request.params))),
    },
    {
      method: 'POST',
      url: '/offset/:offset_id',
      permissions: (request) => [{ subject: 'offsets', action: 'update', objectId: id(request.params) }],
      handler: async (request) => {
        const offsetIdValue = offsetId(request.params);
        const body = objectBody(request.body);
        const value = requiredInteger(body, 'value', OFFSET_START);
        return klevOffset(await offsets.set(offsetIdValue, value, optionalString(body, 'value_metadata') ?? ''));
      },
    },
    {
      method: 'DELETE',
      url: '/offset/:offset_id',
      permissions: (request) => [{ subject: 'offsets', action: 'delete', objectId: id(request.params) }],
      handler: async (request) => klevOffset(await offsets.delete(offsetId(request.params))),
    },
  ];
}
