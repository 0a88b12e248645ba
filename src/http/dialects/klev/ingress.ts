import type { FastifyRequest } from 'fastify';
import { fail } from '../../../domain/errors.js';
import type { IngressUpdate } from '../../../ingress/ingress-webhooks.js';
import type { AppDeps } from '../../deps.js';
import { type Body, objectBody, optionalBoolean, optionalString, queryParam, requireId } from './input.js';
import type { Params, Route } from './router.js';
import { klevIngressWebhook } from './shapes.js';

export function ingressRoutes({ ingress }: AppDeps): Route[] {
  const idOf = (request: FastifyRequest) => (request.params as Params).webhook_id;
  const id = (request: FastifyRequest) => requireId('iwh', idOf(request), 'webhook_id');
  const allowed = (action: 'get' | 'update' | 'delete') => (request: FastifyRequest) => [{ subject: 'ingress_webhooks' as const, action, objectId: idOf(request) }];
  const update = async (request: FastifyRequest) => {
    const webhookId = id(request);
    return klevIngressWebhook(await ingress.update(webhookId, settingsOf(objectBody(request.body))));
  };

  return [
    {
      method: 'GET',
      url: '/ingress_webhooks',
      permissions: () => [{ subject: 'ingress_webhooks', action: 'list' }],
      handler: async (request) => ({ items: (await ingress.list({ metadata: queryParam(request.query, 'metadata') })).map(klevIngressWebhook) }),
    },
    {
      method: 'POST',
      url: '/ingress_webhooks',
      permissions: () => [{ subject: 'ingress_webhooks', action: 'create' }],
      handler: async (request) => {
        const body = objectBody(request.body);
        const logId = requireId('log', optionalString(body, 'log_id'), 'log_id');
        const type = optionalString(body, 'type') ?? fail('field_invalid', 'type is required');
        return klevIngressWebhook(await ingress.create({ logId, type, ...settingsOf(body) }));
      },
    },
    { method: 'GET', url: '/ingress_webhook/:webhook_id', permissions: allowed('get'), handler: async (request) => klevIngressWebhook(await ingress.get(id(request))) },
    { method: 'PATCH', url: '/ingress_webhook/:webhook_id', permissions: allowed('update'), handler: update },
    { method: 'POST', url: '/ingress_webhook/:webhook_id', permissions: allowed('update'), handler: update },
    {
      method: 'DELETE',
      url: '/ingress_webhook/:webhook_id',
      permissions: allowed('delete'),
      handler: async (request) => klevIngressWebhook(await ingress.delete(id(request))),
    },
    {
      method: 'GET',
      url: '/ingress_webhook/:webhook_id/metrics',
      permissions: allowed('get'),
      handler: async (request) => {
        const webhookId = id(request);
        return { webhook_id: webhookId, ...(await ingress.metrics(webhookId)) };
      },
    },
  ];
}

/** The settings a create or update may carry; the generic-HMAC options are top-level fields. */
function settingsOf(body: Body): IngressUpdate {
  return {
    metadata: optionalString(body, 'metadata'),
    secret: optionalString(body, 'secret'),
    header: optionalString(body, 'header'),
    algorithm: optionalString(body, 'algorithm'),
    encoding: optionalString(body, 'encoding'),
    prefix: optionalString(body, 'prefix'),
    deduplicate: optionalBoolean(body, 'deduplicate'),
  };
}
