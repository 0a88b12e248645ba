import type { FastifyRequest } from 'fastify';
import { fail } from '../../../domain/errors.js';
import { EGRESS_PAYLOADS, type EgressPayload } from '../../../domain/types.js';
import type { AppDeps } from '../../deps.js';
import { type Body, objectBody, optionalBoolean, optionalInteger, optionalString, queryParam, requireId } from './input.js';
import type { Params, Route } from './router.js';
import { klevEgressStatus, klevEgressWebhook } from './shapes.js';

export function egressRoutes({ egress }: AppDeps): Route[] {
  const idOf = (request: FastifyRequest) => (request.params as Params).webhook_id;
  const id = (request: FastifyRequest) => requireId('ewh', idOf(request), 'webhook_id');
  const allowed = (action: 'get' | 'update' | 'delete' | 'rotate' | 'status') => (request: FastifyRequest) => [
    { subject: 'egress_webhooks' as const, action, objectId: idOf(request) },
  ];
  const update = async (request: FastifyRequest) => {
    const webhookId = id(request);
    const body = objectBody(request.body);
    const webhook = await egress.update(webhookId, {
      metadata: optionalString(body, 'metadata'),
      destination: optionalString(body, 'destination'),
      active: optionalBoolean(body, 'active'),
    });
    return klevEgressWebhook(webhook);
  };

  return [
    {
      method: 'GET',
      url: '/egress_webhooks',
      permissions: () => [{ subject: 'egress_webhooks', action: 'list' }],
      handler: async (request) => ({ items: (await egress.list({ metadata: queryParam(request.query, 'metadata') })).map((w) => klevEgressWebhook(w)) }),
    },
    {
      method: 'POST',
      url: '/egress_webhooks',
      permissions: () => [{ subject: 'egress_webhooks', action: 'create' }],
      handler: async (request) => {
        const body = objectBody(request.body);
        const logId = requireId('log', optionalString(body, 'log_id'), 'log_id');
        const destination = optionalString(body, 'destination') ?? fail('field_invalid', 'destination is required');
        const { webhook, secret } = await egress.create({ logId, destination, metadata: optionalString(body, 'metadata'), payload: payloadOf(body) });
        return klevEgressWebhook(webhook, secret);
      },
    },
    {
      method: 'GET',
      url: '/egress_webhook/:webhook_id',
      permissions: allowed('get'),
      handler: async (request) => klevEgressWebhook(await egress.get(id(request))),
    },
    { method: 'POST', url: '/egress_webhook/:webhook_id', permissions: allowed('update'), handler: update },
    { method: 'PATCH', url: '/egress_webhook/:webhook_id', permissions: allowed('update'), handler: update },
    {
      method: 'DELETE',
      url: '/egress_webhook/:webhook_id',
      permissions: allowed('delete'),
      handler: async (request) => klevEgressWebhook(await egress.delete(id(request))),
    },
    {
      method: 'GET',
      url: '/egress_webhook/:webhook_id/status',
      permissions: allowed('status'),
      handler: async (request) => klevEgressStatus(await egress.status(id(request))),
    },
    {
      method: 'PATCH',
      url: '/egress_webhook/:webhook_id/secret',
      permissions: allowed('rotate'),
      handler: async (request) => {
        const webhookId = id(request);
        const expireSeconds = optionalInteger(objectBody(request.body), 'expire_seconds', 0) ?? 0;
        const { webhook, secret } = await egress.rotate(webhookId, expireSeconds);
        return klevEgressWebhook(webhook, secret);
      },
    },
  ];
}

function payloadOf(body: Body): EgressPayload | undefined {
  const payload = optionalString(body, 'payload');
  if (payload === undefined || payload === '') return undefined;
  if (!(EGRESS_PAYLOADS as readonly string[]).includes(payload)) fail('field_invalid', `payload must be one of ${EGRESS_PAYLOADS.join(', ')}`);
  return payload as EgressPayload;
}
