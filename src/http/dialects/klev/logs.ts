import { Type } from 'typebox';
import type { AppDeps } from '../../deps.js';
import { type Route, route } from '../../router.js';
import { field } from '../../schema.js';
import * as schemas from './schemas.js';
import { klevLog } from './shapes.js';

export function logRoutes({ logs }: AppDeps): Route[] {
  return [
    route({
      method: 'GET',
      url: '/logs',
      summary: 'list logs',
      schema: { querystring: schemas.metadataFilter, response: Type.Object({ logs: Type.Array(schemas.log) }) },
      permissions: () => [{ subject: 'logs', action: 'list' }],
      handler: async (request) => ({ logs: (await logs.list({ metadata: request.query.metadata })).map(klevLog) }),
    }),
    route({
      method: 'POST',
      url: '/logs',
      summary: 'create a log, with its retention settings',
      schema: {
        body: field.object({
          metadata: Type.Optional(field.text()),
          compacting: Type.Optional(field.boolean('keep only the newest message per key')),
          trim_bytes: Type.Optional(field.integer(0, 'delete the oldest messages while the log holds more key and value bytes')),
          trim_seconds: Type.Optional(field.integer(0, 'delete messages older than this')),
          compact_seconds: Type.Optional(field.integer(0, 'on a compacting log, how long an overwritten message stays')),
          expire_seconds: Type.Optional(field.integer(0, 'delete messages with a key and no value once this old')),
        }),
        response: schemas.log,
      },
      permissions: () => [{ subject: 'logs', action: 'create' }],
      handler: async (request) => {
        const { metadata, compacting, trim_bytes, trim_seconds, compact_seconds, expire_seconds } = request.body;
        const log = await logs.create({
          metadata,
          compacting,
          trimBytes: trim_bytes,
          trimSeconds: trim_seconds,
          compactSeconds: compact_seconds,
          expireSeconds: expire_seconds,
        });
        return klevLog(log);
      },
    }),
    route({
      method: 'GET',
      url: '/log/:log_id',
      summary: 'get a log',
      schema: { params: schemas.params.log, response: schemas.log },
      permissions: (request) => [{ subject: 'logs', action: 'get', objectId: request.params.log_id }],
      handler: async (request) => klevLog(await logs.get(request.params.log_id)),
    }),
    route({
      method: 'DELETE',
      url: '/log/:log_id',
      summary: 'delete a log, with its cursor offsets and webhooks; its messages are purged in the background',
      schema: { params: schemas.params.log, response: schemas.log },
      permissions: (request) => [{ subject: 'logs', action: 'delete', objectId: request.params.log_id }],
      handler: async (request) => klevLog(await logs.delete(request.params.log_id)),
    }),
  ];
}
