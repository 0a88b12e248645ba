import { isUtf8 } from 'node:buffer';
import { Type } from 'typebox';
import type { Transformation } from '../../../domain/types.js';
import { MAX_CODE_BYTES, type TestResult } from '../../../egress/transformations.js';
import type { AppDeps } from '../../deps.js';
import { type Route, route } from '../../router.js';
import { field } from '../../schema.js';
import * as schemas from './schemas.js';

const transformation = Type.Object({
  webhook_id: Type.String(),
  code: Type.String(),
  enabled: Type.Boolean(),
  updated_at: Type.Integer({ description: 'microseconds since the epoch' }),
});

const testResult = Type.Object({
  result: Type.String({ description: 'sent (what would be sent is below), cancelled, or failed (see error)' }),
  method: Type.Optional(Type.String()),
  url: Type.Optional(Type.String()),
  headers: Type.Optional(Type.Record(Type.String(), Type.String(), { description: "without the signature's headers, which are added when sent" })),
  body: Type.Optional(Type.String()),
  encoding: Type.Optional(Type.String({ description: 'string when the body is UTF-8 text, else base64' })),
  error: Type.Optional(Type.String()),
});

/**
 * hooklog's extension: an egress webhook's transformation, JavaScript that
 * may change each request before it is signed, or cancel it. Reading it
 * needs `get` on the webhook; changing or testing it also needs consume on
 * the log, as changing the destination does.
 */
export function transformationRoutes({ transformations }: AppDeps): Route[] {
  const allowed = (action: 'get' | 'update') => (request: { params: { webhook_id: string } }) => [
    { subject: 'egress_webhooks' as const, action, objectId: request.params.webhook_id },
  ];
  const url = '/egress_webhook/:webhook_id/transformation';

  return [
    route({
      method: 'GET',
      url,
      summary: "get an egress webhook's transformation",
      schema: { params: schemas.params.egress, response: transformation },
      permissions: allowed('get'),
      handler: async (request) => klevTransformation(request.params.webhook_id, await transformations.get(request.params.webhook_id)),
    }),
    route({
      method: 'PUT',
      url,
      summary: "set an egress webhook's transformation: code exporting handler(webhook), checked before it is stored",
      schema: {
        params: schemas.params.egress,
        body: field.object({
          code: field.text(`JavaScript, at most ${MAX_CODE_BYTES} bytes, that exports (or declares) handler(webhook)`),
          enabled: Type.Optional(field.boolean('false keeps the code without running it; true by default')),
        }),
        response: transformation,
      },
      permissions: allowed('update'),
      handler: async (request) => {
        const { webhook_id: id } = request.params;
        const set = await transformations.change(request.principal!, id, { code: request.body.code, enabled: request.body.enabled ?? true });
        return klevTransformation(id, set!);
      },
    }),
    route({
      method: 'PATCH',
      url,
      summary: "change an egress webhook's transformation: its code, or whether it runs",
      schema: {
        params: schemas.params.egress,
        body: field.object({
          code: Type.Optional(field.text(`JavaScript, at most ${MAX_CODE_BYTES} bytes; checked before it is stored`)),
          enabled: Type.Optional(field.boolean('false keeps the code without running it')),
        }),
        response: transformation,
      },
      permissions: allowed('update'),
      handler: async (request) => {
        const { webhook_id: id } = request.params;
        const changed = await transformations.change(request.principal!, id, request.body, { existing: true });
        return klevTransformation(id, changed!);
      },
    }),
    route({
      method: 'DELETE',
      url,
      summary: "remove an egress webhook's transformation",
      schema: { params: schemas.params.egress, response: transformation },
      permissions: allowed('update'),
      handler: async (request) => {
        const { webhook_id: id } = request.params;
        return klevTransformation(id, await transformations.delete(request.principal!, id));
      },
    }),
    route({
      method: 'POST',
      url: `${url}/test`,
      summary: 'run the transformation (or the code given) on a stored message, and show what would be sent; nothing is sent',
      schema: {
        params: schemas.params.egress,
        body: field.object({
          offset: field.integer(0, "the message's offset in the webhook's log"),
          code: Type.Optional(field.text('code to try instead of the stored transformation')),
        }),
        response: testResult,
      },
      permissions: allowed('get'),
      handler: async (request) => {
        const { offset, code } = request.body;
        return klevTestResult(await transformations.test(request.principal!, request.params.webhook_id, offset, code));
      },
    }),
  ];
}

function klevTransformation(webhookId: string, { code, enabled, updatedAt }: Transformation) {
  return { webhook_id: webhookId, code, enabled, updated_at: updatedAt * 1000 };
}

function klevTestResult(result: TestResult) {
  if ('cancelled' in result) return { result: 'cancelled' };
  if ('error' in result) return { result: 'failed', error: result.error };
  const { method, url, headers, body } = result.request;
  const text = isUtf8(body);
  return { result: 'sent', method, url, headers: { ...headers }, body: body.toString(text ? 'utf8' : 'base64'), encoding: text ? 'string' : 'base64' };
}
