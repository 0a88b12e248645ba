import { Type } from 'typebox';
import { fail } from '../../../domain/errors.js';
import { DELIVERY_MODES, EGRESS_PAYLOADS, EGRESS_SIGNINGS, type EgressPayload } from '../../../domain/types.js';
import { MAX_CUSTOM_HEADERS } from '../../../egress/custom-headers.js';
import type { AppDeps } from '../../deps.js';
import { type Route, type RouteRequest, route } from '../../router.js';
import { field } from '../../schema.js';
import * as schemas from './schemas.js';
import { klevEgressStatus, klevEgressWebhook } from './shapes.js';

/** hooklog's extension: headers sent with every request (Host, Content-Length, hop-by-hop and signature headers are refused). */
const headers = () => Type.Optional(field.headers(MAX_CUSTOM_HEADERS, 'hooklog extension: headers sent with every request; replaces them all on update'));

/** hooklog's extensions for the filter and the rate limit, the same on create and update. */
const deliveryOptions = {
  filter_event_types: Type.Optional(field.strings('hooklog extension: send only messages of these event types; empty or null: all')),
  filter_channels: Type.Optional(field.strings('hooklog extension: send only messages in one of these channels; empty or null: all')),
  rate_limit: Type.Optional(field.integer(0, 'hooklog extension: at most this many requests per second; 0: no limit')),
};

const update = {
  params: schemas.params.egress,
  body: field.object({
    metadata: Type.Optional(field.text()),
    destination: Type.Optional(field.text('changing it needs consume rights on the log')),
    active: Type.Optional(field.boolean('true re-activates: delivery resumes at the cursor with a fresh retry schedule')),
    headers: headers(),
    ...deliveryOptions,
  }),
  response: schemas.egressWebhook,
};

/** The filter and rate limit as the core takes them: lists left out stay as they are, null clears one, 0 lifts the limit. */
function deliveryOptionsOf(body: { filter_event_types?: string[] | null; filter_channels?: string[] | null; rate_limit?: number }) {
  const { filter_event_types: eventTypes, filter_channels: channels, rate_limit: rateLimit } = body;
  const filter = eventTypes === undefined && channels === undefined ? undefined : { eventTypes: eventTypes ?? undefined, channels: channels ?? undefined };
  if (filter && eventTypes === null) filter.eventTypes = [];
  if (filter && channels === null) filter.channels = [];
  return { filter, rateLimit: rateLimit === undefined ? undefined : rateLimit || null };
}

export function egressRoutes({ egress }: AppDeps): Route[] {
  const allowed = (action: 'get' | 'update' | 'delete' | 'rotate' | 'status') => (request: { params: { webhook_id: string } }) => [
    { subject: 'egress_webhooks' as const, action, objectId: request.params.webhook_id },
  ];
  const updateWebhook = async (request: RouteRequest<typeof update>) =>
    klevEgressWebhook(await egress.update(request.principal!, request.params.webhook_id, { ...request.body, ...deliveryOptionsOf(request.body) }));
  const updateRoute = (method: 'POST' | 'PATCH') =>
    route({
      method,
      url: '/egress_webhook/:webhook_id',
      summary: 'update an egress webhook',
      schema: update,
      permissions: allowed('update'),
      handler: updateWebhook,
    });

  return [
    route({
      method: 'GET',
      url: '/egress_webhooks',
      summary: 'list egress webhooks',
      schema: { querystring: schemas.metadataFilter, response: Type.Object({ items: Type.Array(schemas.egressWebhook) }) },
      permissions: () => [{ subject: 'egress_webhooks', action: 'list' }],
      handler: async (request) => ({ items: (await egress.list({ metadata: request.query.metadata })).map((w) => klevEgressWebhook(w)) }),
    }),
    route({
      method: 'POST',
      url: '/egress_webhooks',
      summary: 'create an egress webhook: every message of the log is delivered, signed, to the destination',
      schema: {
        body: field.object({
          log_id: field.id('log', 'the log to deliver; needs consume rights on it'),
          destination: field.text('an http(s) URL'),
          metadata: Type.Optional(field.text()),
          payload: Type.Optional(field.text(`what is sent: ${EGRESS_PAYLOADS.join(' or ')}`)),
          mode: Type.Optional(
            field.choice(DELIVERY_MODES, {
              error: 'field_invalid',
              blank: true,
              description: 'hooklog extension, fixed at creation: ordered (a failing message holds the rest back) or parallel (it is retried aside)',
            }),
          ),
          signing: Type.Optional(
            field.choice(EGRESS_SIGNINGS, {
              error: 'field_invalid',
              blank: true,
              description: 'hooklog extension, fixed at creation: X-Klev-Signature, or the Standard Webhooks headers with a whsec_ secret',
            }),
          ),
          headers: headers(),
          ...deliveryOptions,
        }),
        response: schemas.egressWebhook,
      },
      permissions: () => [{ subject: 'egress_webhooks', action: 'create' }],
      handler: async (request) => {
        const { log_id: logId, destination, metadata, payload, mode, signing, headers } = request.body;
        const { webhook, secret } = await egress.create(request.principal!, {
          logId,
          destination,
          metadata,
          payload: payloadOf(payload),
          // Blank means the default.
          mode: mode || undefined,
          signing: signing || undefined,
          headers,
          ...deliveryOptionsOf(request.body),
        });
        return klevEgressWebhook(webhook, secret);
      },
    }),
    route({
      method: 'GET',
      url: '/egress_webhook/:webhook_id',
      summary: 'get an egress webhook',
      schema: { params: schemas.params.egress, response: schemas.egressWebhook },
      permissions: allowed('get'),
      handler: async (request) => klevEgressWebhook(await egress.get(request.params.webhook_id)),
    }),
    updateRoute('POST'),
    updateRoute('PATCH'),
    route({
      method: 'DELETE',
      url: '/egress_webhook/:webhook_id',
      summary: 'delete an egress webhook; its deliveries stop before the answer',
      schema: { params: schemas.params.egress, response: schemas.egressWebhook },
      permissions: allowed('delete'),
      handler: async (request) => klevEgressWebhook(await egress.delete(request.params.webhook_id)),
    }),
    route({
      method: 'GET',
      url: '/egress_webhook/:webhook_id/status',
      summary: 'where delivery stands: the cursor, the last attempt, the next',
      schema: { params: schemas.params.egress, response: schemas.egressStatus },
      permissions: allowed('status'),
      handler: async (request) => klevEgressStatus(await egress.status(request.params.webhook_id)),
    }),
    route({
      method: 'PATCH',
      url: '/egress_webhook/:webhook_id/secret',
      summary: 'rotate the signing secret; the old one keeps signing for expire_seconds',
      schema: {
        params: schemas.params.egress,
        body: field.object({ expire_seconds: Type.Optional(field.integer(0, 'how long the old secret still signs too; 0 by default')) }),
        response: schemas.egressWebhook,
      },
      permissions: allowed('rotate'),
      handler: async (request) => {
        const { webhook, secret } = await egress.rotate(request.params.webhook_id, request.body.expire_seconds ?? 0);
        return klevEgressWebhook(webhook, secret);
      },
    }),
  ];
}

/** Empty means the default. */
function payloadOf(payload: string | undefined): EgressPayload | undefined {
  if (payload === undefined || payload === '') return undefined;
  if (!(EGRESS_PAYLOADS as readonly string[]).includes(payload)) fail('field_invalid', `payload must be one of ${EGRESS_PAYLOADS.join(', ')}`);
  return payload as EgressPayload;
}
