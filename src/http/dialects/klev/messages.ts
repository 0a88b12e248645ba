import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { attributesOf, EVENT_ID_RULE, EVENT_TYPE_RULE, LABEL_RULE, MAX_LABELS } from '../../../domain/attributes.js';
import { fail } from '../../../domain/errors.js';
import { type Message, type NewMessage, OFFSET_END, OFFSET_START } from '../../../domain/types.js';
import { MAX_BATCH } from '../../../log/publisher.js';
import { decodeBytes, type Encoding, messageJson, pageEncoding, parseEncoding } from '../../../protocols/klev/message.js';
import type { AppDeps } from '../../deps.js';
import type { ResponseBudget } from '../../response-budget.js';
import { type Route, route } from '../../router.js';
import { field } from '../../schema.js';
import { queryBoolean, queryInteger, requireId } from './input.js';
import * as schemas from './schemas.js';

/** Largest `len` one consume may ask for; larger reads should page with next_offset. */
const MAX_LEN = 10_000;
/** Longest long-poll, in ms; proxies and load balancers rarely keep a request open longer. */
const MAX_POLL_MS = 300_000;

const OFFSET_RANGE = { min: OFFSET_START, max: Number.MAX_SAFE_INTEGER };
/** The most JSON can grow a string: a control character becomes `\u00XX`. */
const MAX_JSON_GROWTH = 6;
/** How much of a page is encoded before other requests get a turn. */
const YIELD_BYTES = 256 * 1024;
/** Room a consume response needs around its messages: next_offset, encoding and brackets. */
const ENVELOPE_BYTES = 64;

export interface MessageLimits {
  /** Largest consume response body, in bytes; a page holds fewer messages rather than more bytes, and always at least one. */
  maxResponseBytes: number;
  /** What consume responses still being sent may hold. */
  responses: ResponseBudget;
}

/** A message as published: its fields in the order their errors are reported. */
const newMessageFields = {
  time: Type.Optional(field.integer(0, 'microseconds since the Unix epoch; absent: now')),
  key: Type.Optional(field.bytes()),
  value: Type.Optional(field.bytes()),
  event_type: Type.Optional(field.text(`hooklog extension: the event's type, ${EVENT_TYPE_RULE}`)),
  event_id: Type.Optional(field.text(`hooklog extension: the event's id, ${EVENT_ID_RULE}`)),
  channels: Type.Optional(field.strings(`hooklog extension: at most ${MAX_LABELS} channels that destinations filter on, each ${LABEL_RULE}`)),
  tags: Type.Optional(field.strings(`hooklog extension: at most ${MAX_LABELS} tags, each ${LABEL_RULE}`)),
};
/** klev's `encoding`: absent, empty or null mean `string`. */
const encodingField = {
  encoding: Type.Optional(
    field.choice(['string', 'base64'], {
      error: 'encoding_invalid',
      blank: true,
      description: 'how keys and values are written: string (UTF-8, the default) or base64',
    }),
  ),
};

export function messageRoutes({ publisher, consumer, offsets }: AppDeps, { maxResponseBytes, responses }: MessageLimits): Route[] {
  const publish = (objectId: string) => [{ subject: 'messages' as const, action: 'publish' as const, objectId }];
  const consume = (objectId: string) => [{ subject: 'messages' as const, action: 'consume' as const, objectId }];
  const getByKey = async (logId: string, requested: string | null | undefined, key: string | null | undefined) => {
    const encoding = parseEncoding(requested);
    return oneMessage(await consumer.getByKey(logId, key == null ? null : decodeBytes(key, encoding, 'key')), encoding);
  };

  return [
    route({
      method: 'POST',
      url: '/messages/:log_id',
      summary: 'publish a batch of messages; answered once they are durable',
      schema: {
        params: schemas.params.log,
        body: field.object({
          ...encodingField,
          messages: field.array(field.object(newMessageFields, 'item'), {
            tooMany: { maxItems: MAX_BATCH, error: 'batch_too_large', details: 'the batch holds {count} messages; at most {max} may be published at once' },
          }),
        }),
        response: schemas.nextOffset,
      },
      permissions: (request) => publish(request.params.log_id),
      handler: async (request) => {
        const encoding = parseEncoding(request.body.encoding);
        const messages = request.body.messages.map((item, i) => newMessage(item, encoding, `messages[${i}].`));
        return { next_offset: await publisher.publish(request.params.log_id, messages) };
      },
    }),
    route({
      method: 'GET',
      url: '/messages/:log_id',
      summary: 'consume messages from an offset or a cursor, long-polling for new ones',
      schema: {
        params: schemas.params.log,
        querystring: Type.Object({
          encoding: Type.Optional(field.query('string (the default) or base64')),
          offset: Type.Optional(field.query('the first offset to read; -1 the end, -2 the start')),
          offset_id: Type.Optional(field.query('read from this cursor offset instead')),
          len: Type.Optional(field.query(`how many messages at most, 1 to ${MAX_LEN}; 10 by default`)),
          poll: Type.Optional(field.query(`wait up to this many ms for a message, up to ${MAX_POLL_MS}`)),
          headers: Type.Optional(field.query('true: include each message’s stored headers')),
        }),
        response: schemas.page,
      },
      permissions: (request) => {
        const offsetId = request.query.offset_id;
        const cursor = typeof offsetId === 'string' ? [{ subject: 'offsets' as const, action: 'get' as const, objectId: offsetId }] : [];
        return [...consume(request.params.log_id), ...cursor];
      },
      handler: async (request, reply) => {
        const id = request.params.log_id;
        const { query } = request;
        const requested = parseEncoding(query.encoding);
        const offset = queryInteger(query.offset, 'offset', OFFSET_RANGE, 'offset_param_invalid');
        const len = queryInteger(query.len, 'len', { min: 1, max: MAX_LEN }, 'len_param_invalid') ?? 10;
        const poll = queryInteger(query.poll, 'poll', { min: 0, max: MAX_POLL_MS }, 'poll_param_invalid') ?? 0;
        const headers = queryBoolean(query.headers, 'headers');
        if (offset !== undefined && query.offset_id !== undefined) fail('offset_and_offset_id', 'set either offset or offset_id');

        const from = query.offset_id === undefined ? (offset ?? OFFSET_END) : await offsets.startFor(requireId('off', query.offset_id, 'offset_id'), id);
        responses.admit();
        const result = await consumer.consume({
          logId: id,
          from,
          limit: len,
          // base64 takes 4 characters per 3 bytes: read no more than will fit.
          maxBytes: requested === 'base64' ? Math.floor((maxResponseBytes * 3) / 4) : maxResponseBytes,
          pollMs: poll,
          signal: clientGone(reply),
          as: requested === 'string' ? 'text' : 'bytes',
          headers,
          token: request.principal?.tokenId ?? 'admin',
        });
        // Messages that arrived while the request waited are answered only if its token still may read them.
        if (result.waited && result.messages.length > 0) await request.reauthorize();
        const encoding = pageEncoding(requested, result.messages);
        const estimate = encodedSize(result.messages, encoding);
        responses.reserve(reply, estimate);
        // Most pages stay under the cap even if every character needed escaping, and take
        // little time to encode: those are encoded in one go, the common and cheapest case.
        if (estimate * MAX_JSON_GROWTH <= maxResponseBytes && estimate <= YIELD_BYTES) {
          return { next_offset: result.nextOffset, encoding, messages: result.messages.map((message) => messageJson(message, encoding)) };
        }
        const page = await pageOf(result.messages, encoding, maxResponseBytes - ENVELOPE_BYTES);
        const nextOffset = page.length < result.messages.length ? result.messages[page.length]!.offset : result.nextOffset;
        // Sent as bytes: the socket then holds one copy of the page while the client reads it, not a string and its encoding.
        const json = Buffer.from(`{"next_offset":${nextOffset},"encoding":"${encoding}","messages":[${page.join(',')}]}`);
        return reply.type('application/json; charset=utf-8').send(json);
      },
    }),
    route({
      method: 'POST',
      url: '/message/:log_id',
      summary: 'publish one message',
      schema: { params: schemas.params.log, body: field.object({ ...encodingField, ...newMessageFields }), response: schemas.nextOffset },
      permissions: (request) => publish(request.params.log_id),
      handler: async (request) => {
        const message = newMessage(request.body, parseEncoding(request.body.encoding), '');
        return { next_offset: await publisher.publish(request.params.log_id, [message]) };
      },
    }),
    route({
      method: 'GET',
      url: '/message/:log_id',
      summary: 'get the message at an offset',
      schema: {
        params: schemas.params.log,
        querystring: Type.Object({
          encoding: Type.Optional(field.query('string (the default) or base64')),
          offset: Type.Optional(field.query('the offset; -1 (the default) the last message')),
        }),
        response: schemas.oneMessage,
      },
      permissions: (request) => consume(request.params.log_id),
      handler: async (request) => {
        const encoding = parseEncoding(request.query.encoding);
        const offset = queryInteger(request.query.offset, 'offset', OFFSET_RANGE, 'offset_param_invalid') ?? OFFSET_END;
        return oneMessage(await consumer.getByOffset(request.params.log_id, offset), encoding);
      },
    }),
    route({
      method: 'GET',
      url: '/message/:log_id/key',
      summary: 'get the newest message with a key',
      schema: {
        params: schemas.params.log,
        querystring: Type.Object({
          encoding: Type.Optional(field.query('how the key is written: string (the default) or base64')),
          key: Type.Optional(field.queryBytes('the key')),
        }),
        response: schemas.oneMessage,
      },
      permissions: (request) => consume(request.params.log_id),
      handler: async (request) => getByKey(request.params.log_id, request.query.encoding, request.query.key),
    }),
    route({
      method: 'POST',
      url: '/message/:log_id/key',
      summary: 'get the newest message with a key, given in the body',
      schema: { params: schemas.params.log, body: field.object({ ...encodingField, key: Type.Optional(field.bytes()) }), response: schemas.oneMessage },
      permissions: (request) => consume(request.params.log_id),
      handler: async (request) => getByKey(request.params.log_id, request.body.encoding, request.body.key),
    }),
  ];
}

/** One message, in base64 when `string` was asked for but its bytes are not UTF-8. */
function oneMessage(message: Message, requested: Encoding) {
  const encoding = pageEncoding(requested, [message]);
  return { encoding, ...messageJson(message, encoding) };
}

/**
 * Messages as JSON texts, as many as fit in `maxBytes` and always the first:
 * the client pages on with next_offset, and one large message still gets
 * through. Encoding megabytes takes milliseconds, so other requests get a
 * turn of the event loop after every YIELD_BYTES.
 */
async function pageOf(messages: Message<Buffer | string>[], encoding: Encoding, maxBytes: number): Promise<string[]> {
  const page: string[] = [];
  let bytes = 0;
  let sinceYield = 0;
  for (const message of messages) {
    const json = JSON.stringify(messageJson(message, encoding));
    const size = Buffer.byteLength(json) + 1;
    bytes += size;
    if (page.length > 0 && bytes > maxBytes) break;
    page.push(json);
    sinceYield += size;
    if (sinceYield >= YIELD_BYTES) {
      sinceYield = 0;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return page;
}

/** About how many bytes `messages` take encoded, before they are: base64 takes 4 characters per 3 bytes. */
function encodedSize(messages: Message<Buffer | string>[], encoding: Encoding): number {
  const raw = messages.reduce((sum, m) => sum + (m.key?.length ?? 0) + (m.value?.length ?? 0), ENVELOPE_BYTES);
  return encoding === 'base64' ? Math.ceil((raw * 4) / 3) : raw;
}

interface PublishedMessage {
  time?: number;
  key?: string | null;
  value?: string | null;
  event_type?: string;
  event_id?: string;
  channels?: string[] | null;
  tags?: string[] | null;
}

function newMessage(input: PublishedMessage, encoding: Encoding, path: string): NewMessage {
  const attributes = attributesOf({ eventType: input.event_type, eventId: input.event_id, channels: input.channels, tags: input.tags });
  return {
    ...(input.time !== undefined && { time: input.time }),
    key: input.key == null ? null : decodeBytes(input.key, encoding, `${path}key`),
    value: input.value == null ? null : decodeBytes(input.value, encoding, `${path}value`),
    ...(attributes && { attributes }),
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
