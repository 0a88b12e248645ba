import type { AppDeps } from '../../deps.js';
import { objectBody, optionalBoolean, optionalInteger, optionalString, queryParam, requireId } from './input.js';
import type { Params, Route } from './router.js';
import { klevLog } from './shapes.js';

export function logRoutes({ logs }: AppDeps): Route[] {
  const id = (params: unknown) => (params as Params).log_id;
  return [
    {
      method: 'GET',
      url: '/logs',
      permissions: () => [{ subject: 'logs', action: 'list' }],
      handler: async (request) => ({ logs: (await logs.list({ metadata: queryParam(request.query, 'metadata') })).map(klevLog) }),
    },
    {
      method: 'POST',
      url: '/logs',
      permissions: () => [{ subject: 'logs', action: 'create' }],
      handler: async (request) => {
        const body = objectBody(request.body);
        const log = await logs.create({
          metadata: optionalString(body, 'metadata'),
          compacting: optionalBoolean(body, 'compacting'),
          trimBytes: optionalInteger(body, 'trim_bytes', 0),
          trimSeconds: optionalInteger(body, 'trim_seconds', 0),
          compactSeconds: optionalInteger(body, 'compact_seconds', 0),
          expireSeconds: optionalInteger(body, 'expire_seconds', 0),
        });
        return klevLog(log);
      },
    },
    {
      method: 'GET',
      url: '/log/:log_id',
      permissions: (request) => [{ subject: 'logs', action: 'get', objectId: id(request.params) }],
      handler: async (request) => klevLog(await logs.get(requireId('log', id(request.params), 'log_id'))),
    },
    {
      method: 'DELETE',
      url: '/log/:log_id',
      permissions: (request) => [{ subject: 'logs', action: 'delete', objectId: id(request.params) }],
      handler: async (request) => klevLog(await logs.delete(requireId('log', id(request.params), 'log_id'))),
    },
  ];
}
