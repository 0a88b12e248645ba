import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Encoding, decodeBytes, messageJson, parseEncoding } from '../../../domain/encoding.js';
import { fail } from '../../../domain/errors.js';
import { type NewMessage, OFFSET_END, OFFSET_START } from '../../../domain/types.js';
import type { AppDeps } from '../../deps.js';
import { type Body, objectBody, optionalBytes, optionalInteger, queryBoolean, queryInteger, queryParam, requireId, requiredArray } from './input.js';
import type { Params, Route } from './router.js';

/** Largest `len` one consume may ask for; larger reads should page with next_offset. */
const MAX_LEN = 10_000;
/** Longest long-poll, in ms; proxies and load balancers rarely keep a request open longer. */
const MAX_POLL_MS = 300_000;

const OFFSET_RANGE = { min: OFFSET_START, max: Number.MAX_SAFE_INTEGER };

export function messageRoutes({ publisher, consumer, offsets }: AppDeps): Route[] {
  const logOf = (request: FastifyRequest) => (request.params as Params).log_id;
  const logId = (request: FastifyRequest) => requireId('log', logOf(request), 'log_id');
  const publish = (objectId: string | undefined) => [{ subject: 'messages' as const, action: 'publish' as const, objectId }];
  const consume = (objectId: string | undefined) => [{ subject: 'messages' as const, action: 'consume' as const, objectId }];

  const getByKey = async (request: FastifyRequest, input: Body) => {
    const encoding = parseEncoding(input.encoding);
    const key = optionalBytes(input, 'key');
    const message = await consumer.getByKey(logId(request), key === null ? null : decodeBytes(key, encoding, 'key'));
    return { encoding, ...messageJson(message, encoding) };
  };

  return [
    {
      method: 'POST',
      url: '/messages/:log_id',
      permissions: (request) => publish(logOf(request)),
      handler: async (request) => {
        const id = logId(request);
        const body = objectBody(request.body);
        const encoding = parseEncoding(body.encoding);
        const messages = requiredArray(body, 'messages').map((item, i) => newMessage(objectBody(item), encoding, `messages[${i}].`));
        return { next_offset: await publisher.publish(id, messages) };
      },
    },
    {
      method: 'GET',
      url: '/messages/:log_id',
      permissions: (request) => {
        const offsetId = (request.query as Record<string, unknown>).offset_id;
        const cursor = typeof offsetId === 'string' ? [{ subject: 'offsets' as const, action: 'get' as const, objectId: offsetId }] : [];
        return [...consume(logOf(request)), ...cursor];
      },
      handler: async (request, reply) => {
        const id = logId(request);
        const { query } = request;
        const encoding = parseEncoding(queryParam(query, 'encoding'));
        const offset = queryInteger(query, 'offset', OFFSET_RANGE, 'offset_param_invalid');
        const offsetId = queryParam(query, 'offset_id');
        const len = queryInteger(query, 'len', { min: 1, max: MAX_LEN }, 'len_param_invalid') ?? 10;
        const poll = queryInteger(query, 'poll', { min: 0, max: MAX_POLL_MS }, 'poll_param_invalid') ?? 0;
        const headers = queryBoolean(query, 'headers');
        if (offset !== undefined && offsetId !== undefined) fail('offset_and_offset_id', 'set either offset or offset_id');

        const from = offsetId === undefined ? (offset ?? OFFSET_END) : await offsets.startFor(requireId('off', offsetId, 'offset_id'), id);
        const result = await consumer.consume({
          logId: id,
          from,
          limit: len,
          pollMs: poll,
          signal: clientGone(reply),
          as: encoding === 'string' ? 'text' : 'bytes',
          headers,
        });
        return {
          next_offset: result.nextOffset,
          encoding,
          messages: result.messages.map((message) => messageJson(message, encoding)),
        };
      },
    },
    {
      method: 'POST',
      url: '/message/:log_id',
      permissions: (request) => publish(logOf(request)),
      handler: async (request) => {
        const id = logId(request);
        const body = objectBody(request.body);
        const message = newMessage(body, parseEncoding(body.encoding), '');
        return { next_offset: await publisher.publish(id, [message]) };
      },
    },
    {
      method: 'GET',
      url: '/message/:log_id',
      permissions: (request) => consume(logOf(request)),
      handler: async (request) => {
        const id = logId(request);
        const encoding = parseEncoding(queryParam(request.query, 'encoding'));
        const offset = queryInteger(request.query, 'offset', OFFSET_RANGE, 'offset_param_invalid') ?? OFFSET_END;
        return { encoding, ...messageJson(await consumer.getByOffset(id, offset), encoding) };
      },
    },
    {
      method: 'GET',
      url: '/message/:log_id/key',
      permissions: (request) => consume(logOf(request)),
      handler: async (request) => {
        const input = { encoding: queryParam(request.query, 'encoding'), key: queryParam(request.query, 'key') };
        return getByKey(request, input);
      },
    },
    {
      method: 'POST',
      url: '/message/:log_id/key',
      permissions: (request) => consume(logOf(request)),
      handler: async (request) => getByKey(request, objectBody(request.body)),
    },
  ];
}

function newMessage(input: Body, encoding: Encoding, path: string): NewMessage {
  const field = (name: string) => `${path}${name}`;
  const time = optionalInteger(input, 'time', 0);
  const key = optionalBytes(input, 'key');
  const value = optionalBytes(input, 'value');
  return {
    ...(time !== undefined && { time }),
    key: key === null ? null : decodeBytes(key, encoding, field('key')),
    value: value === null ? null : decodeBytes(value, encoding, field('value')),
  };
}

/** Aborts when the client disconnects before we answer, which ends a long-poll early. */
function clientGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}
