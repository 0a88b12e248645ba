import type { FastifyError, FastifyInstance } from 'fastify';
import { HooklogError } from '../../../domain/errors.js';
import type { AppDeps } from '../../deps.js';
import { statusOf } from '../../status.js';
import { egressRoutes } from './egress.js';
import { ingressRoutes } from './ingress.js';
import { logRoutes } from './logs.js';
import { messageRoutes } from './messages.js';
import { offsetRoutes } from './offsets.js';
import { registerRoutes } from './router.js';
import { tokenRoutes } from './tokens.js';

/** The resources this server serves, as klev's `GET /` lists them. */
const RESOURCES = {
  '/log': 'get/delete log',
  '/logs': 'list/create logs',
  '/message': 'post/get message',
  '/messages': 'publish/consume messages',
  '/offset': 'get/set/delete offset',
  '/offsets': 'list offsets',
  '/token': 'get/delete token',
  '/tokens': 'list/create tokens',
  '/ingress_webhook': 'get/update/delete ingress webhook, metrics',
  '/ingress_webhooks': 'list/create ingress webhooks',
  '/ingress': 'public URL of an ingress webhook: POST /ingress/{webhook_id}',
  '/egress_webhook': 'get/update/delete egress webhook, status, rotate secret',
  '/egress_webhooks': 'list/create egress webhooks',
};

/** Fastify's own errors that a client causes, by Fastify's error code. */
const FASTIFY_CLIENT_ERRORS: Record<string, HooklogError['errorName']> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'content_type_invalid',
  FST_ERR_CTP_INVALID_TYPE: 'content_type_invalid',
};

/** The native API, shaped after klev: routes, the klev error body, 404 and 405. */
export function registerKlevApi(app: FastifyInstance, deps: AppDeps): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const coded = toHooklogError(err);
    if (coded.entry.kind === 'internal') request.log.error({ err }, 'request failed');
    return reply.status(statusOf[coded.entry.kind]).send({
      error: coded.entry.code,
      message: coded.entry.message,
      details: coded.details,
    });
  });

  app.setNotFoundHandler((request) => {
    const path = request.url.split('?')[0];
    throw new HooklogError('path_not_found', `'${path}' is not a valid application path`);
  });

  registerRoutes(app, deps.tokens, [
    { method: 'GET', url: '/', handler: async () => RESOURCES },
    ...tokenRoutes(deps),
    ...logRoutes(deps),
    ...messageRoutes(deps),
    ...offsetRoutes(deps),
    ...egressRoutes(deps),
    ...ingressRoutes(deps),
  ]);
}

function toHooklogError(err: FastifyError): HooklogError {
  if (err instanceof HooklogError) return err;
  const known = FASTIFY_CLIENT_ERRORS[err.code];
  if (known) return new HooklogError(known, err.message);
  // Other errors Fastify raises for a malformed request (bad URL, bad content-length…).
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
    return new HooklogError('request_invalid', err.message);
  }
  return new HooklogError('internal', 'the server failed to handle the request; see its log');
}
