import type { FastifyError, FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { HooklogError } from '../../../domain/errors.js';
import { ANSWER_MS, type Channels, MAX_READ } from '../../../ingress/channels.js';
import { kwpWebhookJson } from '../../../protocols/kwp/webhook.js';
import { limitPerClient } from '../../client-limit.js';
import { type ErrorBody, errorHandler } from '../../errors.js';
import { ResponseBudget } from '../../response-budget.js';
import { registerRoutes, route } from '../../router.js';

/** The dialect's name in the route table. */
export const KWP = 'kwp';
/** Where the dialect is mounted, as Kaiman Webhooks Proxy's URLs are. */
export const KWP_PREFIX = '/api/webhook';
/** How many full answers may be held in memory while their clients read them. */
const RESPONSES_IN_FLIGHT = 32;
/** How often a written answer's socket is looked at until its buffer is empty. */
const DRAIN_POLL_MS = 10;

export interface KwpOptions {
  channels: Channels;
  /** Largest answer of a read, in bytes. */
  maxResponseBytes: number;
  /** How long an answer may go without its client reading any of it. */
  requestTimeoutMs: number;
  maxRequestsPerClient: number;
  /** Its error body, `{"error": ...}` with a stable code, given by the composition root. */
  errorBody: ErrorBody;
}

const params = Type.Object({ channel: Type.String({ description: 'the channel’s name' }) });
const webhook = Type.Object({
  headers: Type.Record(Type.String(), Type.String(), { description: 'the request’s headers, less hop-by-hop ones, credentials and the secret header' }),
  payload: Type.Unknown({ description: 'the body: as JSON when it is JSON, as a string otherwise' }),
  received_at: Type.Integer({ description: 'when it was received, in Unix seconds' }),
});

/**
 * Kaiman Webhooks Proxy's API at `/api/webhook/{channel}`: a POST is a
 * webhook received (raw bytes of any type, checked against the channel's
 * secret header), a GET with the channel's token takes the pending webhooks.
 * No hooklog token: each channel authenticates its own requests.
 */
export async function kwpApi(
  app: FastifyInstance,
  { channels, maxResponseBytes, requestTimeoutMs, maxRequestsPerClient, errorBody }: KwpOptions,
): Promise<void> {
  app.setErrorHandler(errorHandler({ body: errorBody }));
  app.setNotFoundHandler((request) => {
    throw new HooklogError('path_not_found', `'${request.url.split('?')[0]}' is not a channel's URL: use ${KWP_PREFIX}/{channel}`);
  });
  app.addHook('onRequest', limitPerClient(maxRequestsPerClient));
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  app.addHook('onError', async (request, _reply, error: FastifyError) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') await channels.tooLarge((request.params as { channel: string }).channel);
  });
  const responses = new ResponseBudget(RESPONSES_IN_FLIGHT * maxResponseBytes, requestTimeoutMs);

  registerRoutes(app, { dialect: KWP }, [
    route({
      method: 'POST',
      url: '/:channel',
      summary: 'receive a webhook on a channel: its secret header is checked, then the exact bytes are kept until read',
      schema: { params, rawBody: 'the webhook, as its sender sent it', response: Type.Object({ status: Type.Literal('ok') }) },
      public: true,
      handler: async (request, reply) => {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const received = await channels.receive(request.params.channel, body, request.headers);
        if (received.status === 'answered') return reply.type(received.contentType).send(received.body);
        return { status: 'ok' };
      },
    }),
    route({
      method: 'GET',
      url: '/:channel',
      summary: `take the channel’s pending webhooks, oldest first (at most ${MAX_READ}); they count as read once the answer was written in full`,
      schema: { params, response: Type.Array(webhook) },
      public: true,
      handler: async (request, reply) => {
        const channel = await channels.authorize(request.params.channel, bearerOf(request.headers.authorization));
        // Fastify answers HEAD with this route too: its answer has no body, so it must take nothing.
        if (request.method === 'HEAD') return reply.type('application/json; charset=utf-8').send('[]');
        responses.admit();
        const reading = await channels.read(channel, { maxBytes: maxResponseBytes, encode: kwpWebhookJson });
        const raw = reply.raw;
        const socket = request.raw.socket;
        // The webhooks count as read only once the whole answer was handed to the
        // operating system; a client gone before (or one too slow to read it in
        // ANSWER_MS, whose connection is then cut) leaves them for the next read.
        // The response's 'finish' does not tell: it comes once the answer is in
        // the socket's own buffer, which a cut or a reset throws away. So after
        // it the socket's buffer is watched until it is empty, and any socket
        // error or the cut in the meantime means not written.
        let broken = false;
        let settled = false;
        const onSocketError = () => {
          broken = true;
        };
        socket.on('error', onSocketError);
        const cut = setTimeout(() => {
          broken = true;
          raw.destroy();
        }, ANSWER_MS);
        const settle = (written: boolean) => {
          if (settled) return;
          settled = true;
          clearTimeout(cut);
          socket.off('error', onSocketError);
          reading.finish(written).catch((err: unknown) => request.log.error({ err, channel: channel.name }, 'releasing a channel failed'));
        };
        const drained = () => {
          if (broken || socket.destroyed || socket.errored) settle(false);
          else if (socket.writableLength === 0) settle(true);
          else setTimeout(drained, DRAIN_POLL_MS);
        };
        raw.once('finish', drained);
        raw.once('close', () => {
          if (!raw.writableFinished) settle(false);
        });
        if (raw.destroyed || socket.destroyed) settle(false);
        const body = Buffer.from(`[${reading.items.join(',')}]`);
        try {
          responses.reserve(reply, body.length);
        } catch (err) {
          settle(false);
          throw err;
        }
        return reply.type('application/json; charset=utf-8').send(body);
      },
    }),
  ]);
}

/** The token of `Authorization: Bearer <token>`; undefined for any other header. */
function bearerOf(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
