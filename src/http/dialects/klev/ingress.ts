import { Type } from 'typebox';
import { typeNames, typesUsing } from '../../../ingress/providers/registry.js';
import type { AppDeps } from '../../deps.js';
import { type Route, type RouteRequest, route } from '../../router.js';
import { field } from '../../schema.js';
import * as schemas from './schemas.js';
import { klevIngressWebhook } from './shapes.js';

/** Settings a create or update may carry; the generic-HMAC options are top-level fields. */
const settings = {
  metadata: Type.Optional(field.text()),
  secret: Type.Optional(field.text('the provider’s signing secret; never shown again')),
  header: Type.Optional(field.text(`${typesUsing('header')}: the header carrying the signature or secret`)),
  algorithm: Type.Optional(field.text(`${typesUsing('signatureOptions')}: sha1, sha256 or sha512`)),
  encoding: Type.Optional(field.text(`${typesUsing('signatureOptions')}: hex or base64`)),
  prefix: Type.Optional(field.text(`${typesUsing('signatureOptions')}: text before the signature in its header`)),
  deduplicate: Type.Optional(field.boolean('drop a delivery whose provider event id was already appended')),
  keep_rejected: Type.Optional(field.boolean('keep requests refused for their signature in the quarantine, for inspection (default true)')),
};

/** The settings of a request body, as the service names them. */
const settingsOf = ({ keep_rejected: keepRejected, ...rest }: { keep_rejected?: boolean }) => ({ ...rest, keepRejected });

const update = { params: schemas.params.ingress, body: field.object(settings), response: schemas.ingressWebhook };

export function ingressRoutes({ ingress }: AppDeps): Route[] {
  const allowed = (action: 'get' | 'update' | 'delete') => (request: { params: { webhook_id: string } }) => [
    { subject: 'ingress_webhooks' as const, action, objectId: request.params.webhook_id },
  ];
  const updateWebhook = async (request: RouteRequest<typeof update>) =>
    klevIngressWebhook(await ingress.update(request.principal!, request.params.webhook_id, settingsOf(request.body)));
  const updateRoute = (method: 'POST' | 'PATCH') =>
    route({
      method,
      url: '/ingress_webhook/:webhook_id',
      summary: 'update an ingress webhook',
      schema: update,
      permissions: allowed('update'),
      handler: updateWebhook,
    });

  return [
    route({
      method: 'GET',
      url: '/ingress_webhooks',
      summary: 'list ingress webhooks',
      schema: { querystring: schemas.metadataFilter, response: Type.Object({ items: Type.Array(schemas.ingressWebhook) }) },
      permissions: () => [{ subject: 'ingress_webhooks', action: 'list' }],
      handler: async (request) => ({ items: (await ingress.list({ metadata: request.query.metadata })).map(klevIngressWebhook) }),
    }),
    route({
      method: 'POST',
      url: '/ingress_webhooks',
      summary: 'create an ingress webhook: a public URL that verifies a provider’s signature and appends to a log',
      schema: {
        body: field.object({
          log_id: field.id('log', 'the log to append to; needs publish rights on it'),
          type: field.text(`the provider: ${typeNames()}`),
          ...settings,
        }),
        response: schemas.ingressWebhook,
      },
      permissions: () => [{ subject: 'ingress_webhooks', action: 'create' }],
      handler: async (request) => {
        const { log_id: logId, ...input } = request.body;
        return klevIngressWebhook(await ingress.create(request.principal!, { logId, type: input.type, ...settingsOf(input) }));
      },
    }),
    route({
      method: 'GET',
      url: '/ingress_webhook/:webhook_id',
      summary: 'get an ingress webhook',
      schema: { params: schemas.params.ingress, response: schemas.ingressWebhook },
      permissions: allowed('get'),
      handler: async (request) => klevIngressWebhook(await ingress.get(request.params.webhook_id)),
    }),
    updateRoute('PATCH'),
    updateRoute('POST'),
    route({
      method: 'DELETE',
      url: '/ingress_webhook/:webhook_id',
      summary: 'delete an ingress webhook; its URL answers 404 from then on',
      schema: { params: schemas.params.ingress, response: schemas.ingressWebhook },
      permissions: allowed('delete'),
      handler: async (request) => klevIngressWebhook(await ingress.delete(request.params.webhook_id)),
    }),
    route({
      method: 'GET',
      url: '/ingress_webhook/:webhook_id/metrics',
      summary: 'how many deliveries the URL received, accepted and refused, by reason',
      schema: { params: schemas.params.ingress, response: schemas.ingressMetrics },
      permissions: allowed('get'),
      handler: async (request) => ({ webhook_id: request.params.webhook_id, ...(await ingress.metrics(request.params.webhook_id)) }),
    }),
  ];
}
