import type { FastifyError, FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { IngressWebhooks } from '../ingress/ingress-webhooks.js';
import { limitPerClient } from './client-limit.js';
import { type ErrorBody, errorHandler } from './errors.js';
import { registerRoutes, route } from './router.js';

/**
 * Where providers POST, relative to the server's public address. Only the
 * operator knows that address behind a proxy, so the API answers the path and
 * the client joins it to the address it reaches the server by.
 */
export function ingressPath(webhookId: string): string {
  return `${INGRESS_PREFIX}${encodeURIComponent(webhookId)}`;
}

export const INGRESS_PREFIX = '/ingress/';
/** What the request logs and metrics call these URLs' requests, apart from the API of the dialect whose document lists them. */
export const INGRESS = 'ingress';

export interface IngressEndpointOptions {
  ingress: IngressWebhooks;
  maxRequestsPerClient: number;
  /** How its errors are written; the API whose webhooks these are decides, not the order plugins are registered in. */
  errorBody: ErrorBody;
  /** The API whose document lists the URL. */
  dialect: string;
}

/**
 * The public URL of each ingress webhook: `POST /ingress/{webhook_id}`. No
 * bearer token: the provider's signature is the authentication. Bodies of any
 * content type arrive as raw bytes, because signatures cover the exact bytes;
 * the parser is registered in this plugin only, so the API keeps parsing JSON.
 */
export async function ingressEndpoint(app: FastifyInstance, { ingress, maxRequestsPerClient, errorBody, dialect }: IngressEndpointOptions): Promise<void> {
  app.setErrorHandler(errorHandler({ body: errorBody }));
  app.addHook('onRequest', limitPerClient(maxRequestsPerClient));
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.addHook('onError', async (request, _reply, error: FastifyError) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') await ingress.tooLarge((request.params as { webhook_id: string }).webhook_id);
  });

  registerRoutes(app, { dialect }, [
    route({
      method: 'POST',
      url: `${INGRESS_PREFIX}:webhook_id`,
      summary: 'receive a provider’s webhook: its signature is checked, then the exact bytes are appended to the log',
      schema: {
        // Any text: an id that names no webhook is a 404, like a deleted one.
        params: Type.Object({ webhook_id: Type.String({ description: 'the ingress webhook' }) }),
        rawBody: 'the provider’s request, as it sent it',
        response: Type.Object({ status: Type.String({ description: 'accepted, or duplicate when deduplication dropped it' }) }),
      },
      public: true,
      notAllowedHint: 'this is an ingress webhook’s public URL, where the provider POSTs its webhooks; opening it in a browser sends a GET',
      handler: async (request, reply) => {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const received = await ingress.receive(request.params.webhook_id, body, request.headers);
        if (received.status === 'answered') return reply.type(received.contentType).send(received.body);
        return { status: received.status };
      },
    }),
  ]);
}
