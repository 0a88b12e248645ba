import { Type } from 'typebox';
import { demand } from '../../../auth/principal.js';
import { fail } from '../../../domain/errors.js';
import { MAX_CUSTOM_HEADERS } from '../../../egress/custom-headers.js';
import { MAX_CODE_BYTES } from '../../../egress/transformations.js';
import { svixIds } from '../../../protocols/svix/ids.js';
import type { AppDeps } from '../../deps.js';
import { timeOf } from '../../query.js';
import { type Route, route } from '../../router.js';
import { field } from '../../schema.js';
import { onEndpoint, type SvixAccess } from './access.js';
import { page, pageQuery, supportedOnlyNull } from './paging.js';
import * as schemas from './schemas.js';
import { svixEndpoint, svixMessage, svixTask } from './shapes.js';

const headers = () => field.headers(MAX_CUSTOM_HEADERS, 'headers sent with every request (Host, Content-Length, hop-by-hop and signature headers are refused)');
const secret = () => Type.Optional(Type.Union([field.text('a whsec_ key; null: one is made'), Type.Null()]));
/** Headers whose values the API does not show again: they carry credentials. */
const SENSITIVE = /auth|cookie|token|secret|key|pass|credential|signature|session/i;
const range = { since: field.text('ISO 8601'), until: Type.Optional(Type.Union([field.text('ISO 8601'), Type.Null()])) };
const headersOut = Type.Object({ headers: Type.Record(Type.String(), Type.String()), sensitive: Type.Array(Type.String()) });
const stats = Type.Object({ success: Type.Integer(), pending: Type.Integer(), sending: Type.Integer(), fail: Type.Integer(), canceled: Type.Integer() });

const bodyTime = (text: string | undefined, name: string) => timeOf(text, name, 'field_invalid');

/** The custom headers, those that carry credentials named but not shown. */
function shownHeaders(all: Record<string, string>) {
  const entries = Object.entries(all);
  return {
    headers: Object.fromEntries(entries.filter(([name]) => !SENSITIVE.test(name))),
    sensitive: entries.filter(([name]) => SENSITIVE.test(name)).map(([name]) => name),
  };
}

/** Endpoints: an application's egress webhooks, delivering in parallel with Svix's signature. */
export function endpointRoutes({ endpoints, deliveries, eventTypes, events, transformations }: AppDeps, access: SvixAccess): Route[] {
  const one = '/app/:app_id/endpoint/:endpoint_id';
  const unsupported = (method: 'GET' | 'PATCH' | 'POST', url: string, what: string) =>
    route({
      method,
      url,
      summary: `not supported: ${what}`,
      schema: { params: schemas.params.endpoint },
      handler: async () => fail('operation_unsupported', `${what} is not supported by hooklog`),
    });
  return [
    route({
      method: 'GET',
      url: '/app/:app_id/endpoint',
      summary: "list an application's endpoints",
      schema: { params: schemas.params.app, querystring: Type.Object(schemas.listQuery), response: schemas.list(schemas.endpoint) },
      handler: async (request) => {
        const app = await access.application(request);
        demand(request.principal!, onEndpoint('list', app.logId));
        const query = pageQuery(request.query, svixIds.webhookOf);
        return page(await endpoints.list(app.logId, query), query, (endpoint) => svixIds.endpoint(endpoint.webhook.id), svixEndpoint);
      },
    }),
    route({
      method: 'POST',
      url: '/app/:app_id/endpoint',
      summary: 'create an endpoint: every message of the application that passes its filter is sent to it',
      schema: {
        params: schemas.params.app,
        body: field.object({ ...schemas.endpointFields, headers: Type.Optional(headers()), secret: secret() }),
        response: schemas.endpoint,
        status: 201,
      },
      handler: async (request) => {
        supportedOnlyNull(request.body, ['throttleRate']);
        const app = await access.application(request);
        demand(request.principal!, onEndpoint('create', app.logId));
        return svixEndpoint(await endpoints.create(request.principal!, app, request.body));
      },
    }),
    route({
      method: 'GET',
      url: one,
      summary: 'get an endpoint',
      schema: { params: schemas.params.endpoint, response: schemas.endpoint },
      handler: async (request) => svixEndpoint((await access.endpoint(request)).endpoint),
    }),
    route({
      method: 'PUT',
      url: one,
      summary: 'replace an endpoint: fields left out take their defaults; its headers and secret stay',
      schema: { params: schemas.params.endpoint, body: field.object(schemas.endpointFields), response: schemas.endpoint },
      handler: async (request) => {
        supportedOnlyNull(request.body, ['throttleRate']);
        const { app, endpoint } = await access.endpoint(request, 'update');
        return svixEndpoint(await endpoints.update(request.principal!, app, endpoint, request.body));
      },
    }),
    route({
      method: 'PATCH',
      url: one,
      summary: 'change some fields of an endpoint',
      schema: {
        params: schemas.params.endpoint,
        body: field.object({ ...schemas.endpointFields, url: Type.Optional(field.text('an http(s) URL')), secret: secret() }),
        response: schemas.endpoint,
      },
      handler: async (request) => {
        supportedOnlyNull(request.body, ['throttleRate']);
        const { endpoint } = await access.endpoint(request, 'update');
        // Setting the secret is rotating it.
        if (request.body.secret != null) demand(request.principal!, onEndpoint('rotate', endpoint.fields.logId, endpoint.webhook.id));
        return svixEndpoint(await endpoints.patch(request.principal!, endpoint, request.body));
      },
    }),
    route({
      method: 'DELETE',
      url: one,
      summary: 'delete an endpoint; its deliveries stop before the answer',
      schema: { params: schemas.params.endpoint, status: 204 },
      handler: async (request) => {
        const { endpoint } = await access.endpoint(request, 'delete');
        await endpoints.delete(endpoint);
      },
    }),
    route({
      method: 'GET',
      url: `${one}/secret`,
      summary: 'the secret requests are signed with now',
      schema: { params: schemas.params.endpoint, response: Type.Object({ key: Type.String() }) },
      handler: async (request) => {
        const { endpoint } = await access.endpoint(request, 'rotate');
        return { key: await endpoints.secret(endpoint) };
      },
    }),
    route({
      method: 'POST',
      url: `${one}/secret/rotate`,
      summary: 'a new secret (key, or a new one); the old one keeps signing for 24 hours, and at most 10 sign at once',
      schema: {
        params: schemas.params.endpoint,
        body: field.object({ key: secret(), gracePeriodSeconds: Type.Optional(Type.Unknown({ description: 'not supported: the grace period is 24 hours' })) }),
        status: 204,
      },
      handler: async (request) => {
        supportedOnlyNull(request.body, ['gracePeriodSeconds']);
        const { endpoint } = await access.endpoint(request, 'rotate');
        await endpoints.rotateSecret(endpoint, request.body.key ?? undefined);
      },
    }),
    route({
      method: 'GET',
      url: `${one}/headers`,
      summary: 'the headers sent with every request; those that carry credentials are named in sensitive, not shown',
      schema: { params: schemas.params.endpoint, response: headersOut },
      handler: async (request) => shownHeaders((await access.endpoint(request)).endpoint.webhook.headers),
    }),
    route({
      method: 'PUT',
      url: `${one}/headers`,
      summary: 'replace the headers sent with every request',
      schema: { params: schemas.params.endpoint, body: field.object({ headers: headers() }), status: 204 },
      handler: async (request) => {
        const { endpoint } = await access.endpoint(request, 'update');
        await endpoints.setHeaders(request.principal!, endpoint, request.body.headers, undefined);
      },
    }),
    route({
      method: 'PATCH',
      url: `${one}/headers`,
      summary: 'add or change some headers, and remove those named in deleteHeaders',
      schema: {
        params: schemas.params.endpoint,
        body: field.object({ headers: headers(), deleteHeaders: Type.Optional(field.strings('header names to remove')) }),
        status: 204,
      },
      handler: async (request) => {
        const { endpoint } = await access.endpoint(request, 'update');
        await endpoints.setHeaders(request.principal!, endpoint, request.body.headers, { remove: request.body.deleteHeaders ?? [] });
      },
    }),
    route({
      method: 'GET',
      url: `${one}/stats`,
      summary: "how many of the application's messages are in each delivery state for this endpoint",
      schema: {
        params: schemas.params.endpoint,
        querystring: Type.Object({ since: Type.Optional(field.query('not supported: ignored')), until: Type.Optional(field.query('not supported: ignored')) }),
        response: stats,
      },
      handler: async (request) => {
        const { endpoint } = await access.endpoint(request, 'status');
        const { counts } = await deliveries.summary(endpoint.webhook.id);
        // Skipped by the filter or cancelled by the transformation, as the attempted destinations' status 4 shows them.
        return { success: counts.success, pending: counts.pending, sending: counts.sending, fail: counts.failed, canceled: counts.skipped };
      },
    }),
    route({
      method: 'POST',
      url: `${one}/recover`,
      summary: 'send again every message whose delivery failed since a time; a background task',
      schema: { params: schemas.params.endpoint, body: field.object(range), response: schemas.task, status: 202 },
      handler: async (request) => {
        const { endpoint } = await access.endpoint(request, 'replay');
        const { since, until } = request.body;
        const task = await deliveries.recover(endpoint.webhook.id, bodyTime(since, 'since')!, bodyTime(until ?? undefined, 'until'));
        return svixTask(task);
      },
    }),
    route({
      method: 'POST',
      url: `${one}/replay-missing`,
      summary: 'send the messages created since a time that this endpoint never had; a background task',
      schema: { params: schemas.params.endpoint, body: field.object(range), response: schemas.task, status: 202 },
      handler: async (request) => {
        const { endpoint } = await access.endpoint(request, 'replay');
        const { since, until } = request.body;
        const micros = (ms: number | undefined) => (ms === undefined ? undefined : ms * 1000);
        const task = await deliveries.replayMissing(endpoint.webhook.id, micros(bodyTime(since, 'since'))!, micros(bodyTime(until ?? undefined, 'until')));
        return svixTask(task);
      },
    }),
    route({
      method: 'POST',
      url: `${one}/send-example`,
      summary: "send this endpoint alone an example message of an event type, from the examples in the type's schemas",
      schema: {
        params: schemas.params.endpoint,
        body: field.object({ eventType: field.text(), exampleIndex: Type.Optional(field.integer(0, 'which example; the first by default')) }),
        response: schemas.message,
        status: 202,
      },
      handler: async (request) => {
        const { app, endpoint } = await access.endpoint(request, 'resend');
        const { eventType, exampleIndex } = request.body;
        const payload = Buffer.from(JSON.stringify(await eventTypes.example(eventType, exampleIndex ?? 0)));
        const attributes = { eventType, destination: endpoint.webhook.id };
        const time = Date.now() * 1000;
        const { offset } = await events.publish(app.logId, { payload, attributes, time });
        return svixMessage(app.logId, { offset, time, key: null, value: payload.toString(), attributes });
      },
    }),
    route({
      method: 'GET',
      url: `${one}/transformation`,
      summary: "the endpoint's transformation: code null when it has none",
      schema: {
        params: schemas.params.endpoint,
        response: Type.Object({
          code: Type.Union([Type.String(), Type.Null()]),
          enabled: Type.Boolean(),
          updatedAt: Type.Optional(Type.String({ description: 'ISO 8601' })),
        }),
      },
      handler: async (request) => {
        const { endpoint } = await access.endpoint(request);
        const found = await transformations.find(endpoint.webhook.id);
        return found ? { code: found.code, enabled: found.enabled, updatedAt: new Date(found.updatedAt).toISOString() } : { code: null, enabled: false };
      },
    }),
    route({
      method: 'PATCH',
      url: `${one}/transformation`,
      summary: 'set or unset (code null) the code of the transformation, or enable or disable it; code is checked before it is stored',
      schema: {
        params: schemas.params.endpoint,
        body: field.object({
          code: Type.Optional(Type.Union([field.text(`JavaScript, at most ${MAX_CODE_BYTES} bytes, declaring handler(webhook)`), Type.Null()])),
          enabled: Type.Optional(field.boolean()),
          variables: Type.Optional(Type.Unknown({ description: 'not supported: null only' })),
        }),
        status: 204,
      },
      handler: async (request) => {
        supportedOnlyNull(request.body, ['variables']);
        const { endpoint } = await access.endpoint(request, 'update');
        await transformations.change(request.principal!, endpoint.webhook.id, { code: request.body.code, enabled: request.body.enabled });
      },
    }),
    unsupported('POST', `${one}/bulk-replay`, 'bulk replay'),
  ];
}
