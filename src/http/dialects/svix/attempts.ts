import { Type } from 'typebox';
import { demand, type Principal } from '../../../auth/principal.js';
import { allows } from '../../../domain/acl.js';
import { fail } from '../../../domain/errors.js';
import type { Application, AttemptQuery, DeliveryAttempt } from '../../../domain/types.js';
import type { Endpoint } from '../../../egress/endpoints.js';
import { svixIds } from '../../../protocols/svix/ids.js';
import type { AppDeps } from '../../deps.js';
import { type Route, route } from '../../router.js';
import { field } from '../../schema.js';
import { onEndpoint, type SvixAccess } from './access.js';
import { messageOf } from './messages.js';
import { limitOf, newestFirst, timeOf } from './paging.js';
import * as schemas from './schemas.js';
import { STATUS, svixAttempt, svixEndpoint, svixMessage } from './shapes.js';

/** Most endpoints whose attempts at one message are gathered: an application's endpoints, bounded. */
const MAX_ENDPOINTS = 1000;

const attemptFilters = {
  limit: schemas.listQuery.limit,
  iterator: schemas.listQuery.iterator,
  status: Type.Optional(field.query('0 success or 2 fail (an attempt is never pending or sending)')),
  status_code_class: Type.Optional(field.query('0 (no response), 100, 200, 300, 400 or 500')),
  before: Type.Optional(field.query('sent before this time (ISO 8601)')),
  after: Type.Optional(field.query('sent at or after this time (ISO 8601)')),
  with_content: Type.Optional(field.query('false: leave responses out')),
  with_msg: Type.Optional(field.query('true: include each attempt’s message')),
  expanded_statuses: Type.Optional(field.query('ignored')),
};

/** An attempt list's query as the core takes it. */
function attemptQuery(query: { limit?: string; status?: string; status_code_class?: string; before?: string; after?: string }): Omit<AttemptQuery, 'belowId'> {
  const status = query.status === undefined ? undefined : Number(query.status);
  if (status !== undefined && status !== STATUS.success && status !== STATUS.fail && status !== STATUS.pending && status !== STATUS.sending) {
    fail('query_param_invalid', 'status must be 0, 1, 2 or 3');
  }
  const codeClass = query.status_code_class === undefined ? undefined : Number(query.status_code_class);
  if (codeClass !== undefined && ![0, 100, 200, 300, 400, 500].includes(codeClass))
    fail('query_param_invalid', 'status_code_class must be 0, 100, 200, 300, 400 or 500');
  return {
    limit: limitOf(query.limit),
    // Attempts are finished tries: pending and sending match none, which only success or fail could.
    succeeded: status === undefined ? undefined : status === STATUS.success,
    codeClass: codeClass === undefined ? undefined : codeClass / 100,
    before: timeOf(query.before, 'before'),
    after: timeOf(query.after, 'after'),
  };
}

/** Delivery attempts, by endpoint and by message, and resending one message to one endpoint. */
export function attemptRoutes(deps: AppDeps, access: SvixAccess): Route[] {
  const { deliveries, endpoints, events } = deps;

  /** The attempts of one message at every endpoint of the application the token may see, newest first. */
  async function attemptsOfMessage(app: Application, offset: number, principal: Principal, only?: string) {
    const all = await endpoints.list(app.logId, { limit: MAX_ENDPOINTS });
    const visible = all.filter((one) => (only === undefined || one.webhook.id === only) && allowed(principal, app, one));
    const found: Array<{ endpoint: Endpoint; attempt: DeliveryAttempt }> = [];
    for (const endpoint of visible) {
      const page = await deliveries.attempts(endpoint.webhook.id, { offset, limit: 250 });
      for (const attempt of page.attempts) found.push({ endpoint, attempt });
    }
    return found.sort((a, b) => b.attempt.time - a.attempt.time || b.attempt.id! - a.attempt.id!);
  }

  async function byMessage(request: Parameters<SvixAccess['application']>[0] & { params: { msg_id: string }; query: Record<string, string | undefined> }) {
    const app = await access.application(request);
    const message = await messageOf(deps, app.logId, request.params.msg_id);
    const only = request.query.endpoint_id;
    const onlyWebhook = only === undefined ? undefined : (await endpoints.find(app.logId, svixIds.webhookOf(only), only))?.webhook.id;
    if (only !== undefined && onlyWebhook === undefined) fail('endpoint_not_found', `endpoint '${only}' does not exist in this application`);
    const query = attemptQuery(request.query);
    const matching = (await attemptsOfMessage(app, message.offset, request.principal!, onlyWebhook)).filter(({ attempt }) => passes(attempt, query));
    const start = request.query.iterator
      ? matching.findIndex(({ attempt }) => svixIds.attempt(attempt.webhookId, attempt.id!) === request.query.iterator) + 1
      : 0;
    const shown = matching.slice(start, start + query.limit);
    const more = start + query.limit < matching.length;
    const data = shown.map(({ endpoint, attempt }) => svixAttempt(app.logId, endpoint.webhook.destination, attempt));
    return newestFirst(data, more ? data.at(-1)!.id : null);
  }

  const byMessageQuery = Type.Object({ ...attemptFilters, endpoint_id: Type.Optional(field.query('only this endpoint’s attempts')) });

  return [
    route({
      method: 'GET',
      url: '/app/:app_id/attempt/endpoint/:endpoint_id',
      summary: "an endpoint's attempts, newest first",
      schema: { params: schemas.params.endpoint, querystring: Type.Object(attemptFilters), response: schemas.list(schemas.attempt) },
      handler: async (request) => {
        const { app, endpoint } = await access.endpoint(request, 'attempts');
        const belowId = request.query.iterator === undefined ? undefined : attemptNumber(request.query.iterator, endpoint.webhook.id);
        const page = await deliveries.attempts(endpoint.webhook.id, { ...attemptQuery(request.query), belowId });
        const withMsg = request.query.with_msg === 'true';
        const data = await Promise.all(
          page.attempts.map(async (attempt) => ({
            ...svixAttempt(app.logId, endpoint.webhook.destination, attempt),
            ...(withMsg && { msg: svixMessage(app.logId, await events.get(app.logId, attempt.offset).catch(() => expunged(attempt.offset))) }),
          })),
        );
        return newestFirst(data, page.next === null ? null : svixIds.attempt(endpoint.webhook.id, page.next));
      },
    }),
    route({
      method: 'GET',
      url: '/app/:app_id/attempt/msg/:msg_id',
      summary: "a message's attempts at every endpoint, newest first",
      schema: { params: schemas.params.message, querystring: byMessageQuery, response: schemas.list(schemas.attempt) },
      handler: byMessage,
    }),
    route({
      method: 'GET',
      url: '/app/:app_id/msg/:msg_id/attempt',
      summary: "deprecated path of a message's attempts",
      schema: { params: schemas.params.message, querystring: byMessageQuery, response: schemas.list(schemas.attempt) },
      handler: byMessage,
    }),
    route({
      method: 'GET',
      url: '/app/:app_id/msg/:msg_id/endpoint/:endpoint_id/attempt',
      summary: "deprecated path of a message's attempts at one endpoint",
      schema: {
        params: Type.Object({ ...schemas.params.message.properties, endpoint_id: field.text('the endpoint: its id or uid') }),
        querystring: Type.Object(attemptFilters),
        response: schemas.list(schemas.attempt),
      },
      handler: async (request) => byMessage({ ...request, query: { ...request.query, endpoint_id: request.params.endpoint_id } } as never),
    }),
    route({
      method: 'GET',
      url: '/app/:app_id/msg/:msg_id/attempt/:attempt_id',
      summary: 'get one attempt',
      schema: { params: Type.Object({ ...schemas.params.message.properties, attempt_id: field.text('atmpt_…') }), response: schemas.attempt },
      handler: async (request) => {
        const { app, endpoint, attempt } = await oneAttempt(request);
        return svixAttempt(app.logId, endpoint.webhook.destination, attempt);
      },
    }),
    route({
      method: 'DELETE',
      url: '/app/:app_id/msg/:msg_id/attempt/:attempt_id/content',
      summary: "blank one attempt's response body",
      schema: { params: Type.Object({ ...schemas.params.message.properties, attempt_id: field.text('atmpt_…') }), status: 204 },
      handler: async (request) => {
        const { endpoint, attempt } = await oneAttempt(request);
        demand(request.principal!, onEndpoint('update', endpoint.fields.logId, endpoint.webhook.id));
        await deliveries.expungeResponse(endpoint.webhook.id, attempt.id!);
      },
    }),
    route({
      method: 'GET',
      url: '/app/:app_id/endpoint/:endpoint_id/msg',
      summary: 'the messages an endpoint was sent, newest attempt first, with where each stands',
      schema: {
        params: schemas.params.endpoint,
        querystring: Type.Object({ ...attemptFilters, channel: Type.Optional(field.query('ignored')), tag: Type.Optional(field.query('ignored')) }),
        response: schemas.list(Type.Object({ ...schemas.message.properties, status: Type.Integer(), statusText: Type.String() })),
      },
      handler: async (request) => {
        const { app, endpoint } = await access.endpoint(request, 'attempts');
        const belowId = request.query.iterator === undefined ? undefined : attemptNumber(request.query.iterator, endpoint.webhook.id);
        const page = await deliveries.attempts(endpoint.webhook.id, { ...attemptQuery(request.query), belowId });
        const seen = new Set<number>();
        const data = [];
        for (const attempt of page.attempts) {
          if (seen.has(attempt.offset)) continue;
          seen.add(attempt.offset);
          const message = await events.get(app.logId, attempt.offset).catch(() => expunged(attempt.offset));
          const status = svixAttempt(app.logId, endpoint.webhook.destination, attempt);
          data.push({ ...svixMessage(app.logId, message, request.query.with_content !== 'false'), status: status.status, statusText: status.statusText });
        }
        return newestFirst(data, page.next === null ? null : svixIds.attempt(endpoint.webhook.id, page.next));
      },
    }),
    route({
      method: 'GET',
      url: '/app/:app_id/msg/:msg_id/endpoint',
      summary: 'the endpoints a message was attempted at, with where it stands at each',
      schema: {
        params: schemas.params.message,
        querystring: Type.Object({ limit: schemas.listQuery.limit, iterator: schemas.listQuery.iterator }),
        response: schemas.list(Type.Object({ ...schemas.endpoint.properties, status: Type.Integer(), statusText: Type.String() })),
      },
      handler: async (request) => {
        const app = await access.application(request);
        const message = await messageOf(deps, app.logId, request.params.msg_id);
        const latest = new Map<string, { endpoint: Endpoint; attempt: DeliveryAttempt }>();
        for (const found of await attemptsOfMessage(app, message.offset, request.principal!)) {
          if (!latest.has(found.endpoint.webhook.id)) latest.set(found.endpoint.webhook.id, found);
        }
        const all = [...latest.values()].sort((a, b) => a.endpoint.webhook.id.localeCompare(b.endpoint.webhook.id));
        const start = request.query.iterator ? all.findIndex(({ endpoint }) => svixIds.endpoint(endpoint.webhook.id) === request.query.iterator) + 1 : 0;
        const limit = limitOf(request.query.limit);
        const data = all.slice(start, start + limit).map(({ endpoint, attempt }) => {
          const status = svixAttempt(app.logId, endpoint.webhook.destination, attempt);
          return { ...svixEndpoint(endpoint), status: status.status, statusText: status.statusText };
        });
        return newestFirst(data, start + limit < all.length ? data.at(-1)!.id : null);
      },
    }),
    route({
      method: 'POST',
      url: '/app/:app_id/msg/:msg_id/endpoint/:endpoint_id/resend',
      summary: 'send one message again to one endpoint: a manual attempt',
      schema: { params: Type.Object({ ...schemas.params.message.properties, endpoint_id: field.text('the endpoint: its id or uid') }), status: 202 },
      handler: async (request) => {
        const { app, endpoint } = await access.endpoint(request, 'resend');
        const message = await messageOf(deps, app.logId, request.params.msg_id);
        if (message.value === null) fail('message_expunged', 'the message’s payload was expunged; it cannot be sent again');
        await deliveries.resend(endpoint.webhook.id, message.offset);
        return {};
      },
    }),
  ];

  async function oneAttempt(request: Parameters<SvixAccess['application']>[0] & { params: { msg_id: string; attempt_id: string } }) {
    const app = await access.application(request);
    const message = await messageOf(deps, app.logId, request.params.msg_id);
    const parsed = svixIds.attemptOf(request.params.attempt_id) ?? fail('attempt_not_found', `'${request.params.attempt_id}' is not an attempt id`);
    const endpoint = await endpoints.find(app.logId, parsed.webhookId, '');
    if (!endpoint) fail('attempt_not_found', `attempt '${request.params.attempt_id}' does not exist in this application`);
    demand(request.principal!, onEndpoint('attempts', app.logId, endpoint.webhook.id));
    const attempt = await deliveries.attempt(endpoint.webhook.id, parsed.attemptId);
    if (attempt.offset !== message.offset) fail('attempt_not_found', `attempt '${request.params.attempt_id}' is not an attempt of this message`);
    return { app, endpoint, attempt };
  }
}

function allowed(principal: Principal, app: Application, endpoint: Endpoint): boolean {
  return allows(principal.rules, onEndpoint('attempts', app.logId, endpoint.webhook.id));
}

function passes(attempt: DeliveryAttempt, query: Omit<AttemptQuery, 'belowId'>): boolean {
  const success = attempt.statusCode !== null && attempt.statusCode >= 200 && attempt.statusCode < 300;
  if (query.succeeded !== undefined && query.succeeded !== success) return false;
  if (query.codeClass !== undefined && Math.floor((attempt.statusCode ?? 0) / 100) !== query.codeClass) return false;
  if (query.before !== undefined && attempt.time >= query.before) return false;
  if (query.after !== undefined && attempt.time < query.after) return false;
  return true;
}

/** The attempt number of an iterator of this endpoint's list. */
function attemptNumber(iterator: string, webhookId: string): number {
  const parsed = svixIds.attemptOf(iterator);
  if (!parsed || parsed.webhookId !== webhookId) fail('query_param_invalid', 'iterator is not one this list gave');
  return parsed.attemptId;
}

/** A message retention removed since its attempt: shown without content. */
function expunged(offset: number) {
  return { offset, time: 0, key: null, value: null };
}
