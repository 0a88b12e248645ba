import type { FastifyError, FastifyInstance } from 'fastify';
import type { IngressWebhooks } from '../ingress/ingress-webhooks.js';

/**
 * The public URL of each ingress webhook: `POST /ingress/{webhook_id}`. No
 * bearer token: the provider's signature is the authentication. Bodies of any
 * content type arrive as raw bytes, because signatures cover the exact bytes;
 * the parser is registered in this plugin only, so the API keeps parsing JSON.
 */
export async function ingressEndpoint(app: FastifyInstance, { ingress }: { ingress: IngressWebhooks }): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.addHook('onError', async (request, _reply, error: FastifyError) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') await ingress.tooLarge((request.params as { webhook_id: string }).webhook_id);
  });

  app.post('/ingress/:webhook_id', async (request, reply) => {
    const { webhook_id: id } = request.params as { webhook_id: string };
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const received = await ingress.receive(id, body, request.headers);
    if (received.status === 'answered') return reply.type(received.contentType).send(received.body);
    return { status: received.status };
  });
}
