import { Type } from 'typebox';
import { demand, type Principal } from '../../../auth/principal.js';
import { allows } from '../../../domain/acl.js';
import { fail, HooklogError } from '../../../domain/errors.js';
import type { Application, AttemptQuery, DeliveryAttempt, Message } from '../../../domain/types.js';
import { MAX_ATTEMPTS_PAGE } from '../../../egress/deliveries.js';
import type { Endpoint } from '../../../egress/endpoints.js';
import { hasAttributes } from '../../../log/events.js';
import { svixIds } from '../../../protocols/svix/ids.js';
import type { AppDeps } from '../../deps.js';
import { timeOf } from '../../query.js';
import { type Route, route } from '../../router.js';
import { field } from '../../schema.js';
import { onEndpoint, type SvixAccess } from './access.js';
import { messageOf } from './messages.js';
import { limitOf, newestFirst } from './paging.js';
import * as schemas from './schemas.js';
import { STATUS, svixAttempt, svixEndpoint, svixMessage, svixStatus } from './shapes.js';

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
  channel: Type.Optional(field.query('only attempts at messages in this channel')),
  tag: Type.Optional(field.query('only attempts at messages with this tag')),
  event_types: Type.Optional(field.query('only attempts at messages of these event types, comma-separated')),
  with_msg: Type.Optional(field.query('true: include each attempt’s message')),
  expanded_statuses: Type.Optional(field.query('ignored')),
};

type AttemptFilters = { [K in keyof typeof attemptFilters]?: string };
/** What an attempt list filters by, as the core's attempt queries take it. */
type AttemptFilter = Pick<AttemptQuery, 'succeeded' | 'codeClass' | 'before' | 'after'>;

/**
 * An attempt list's query as the core takes it; null when nothing can
 * match: attempts are finished tries, so never pending (1) or sending (3).
 */
function attemptQuery(query: AttemptFilters): Omit<AttemptQuery, 'belowId'> | null {
  const status = query.status === undefined ? undefined : Number(query.status);
  if (status !== undefined && status !== STATUS.success && status !== STATUS.fail && status !== STATUS.pending && status !== STATUS.sending) {
    fail('query_param_invalid', 'status must be 0, 1, 2 or 3');
  }
  const codeClass = query.status_code_class === undefined ? undefined : Number(query.status_code_class);
  if (codeClass !== undefined && ![0, 100, 200, 300, 400, 500].includes(codeClass))
    fail('query_param_invalid', 'status_code_class must be 0, 100, 200, 300, 400 or 500');
  const checked = {
    limit: limitOf(query.limit),
    succeeded: status === undefined ? undefined : status === STATUS.success,
    codeClass: codeClass === undefined ? undefined : codeClass / 100,
    before: timeOf(query.before, 'before'),
    after: timeOf(query.after, 'after'),
  };
  return status === STATUS.pending || status === STATUS.sending ? null : checked;
}

/** The message-attribute filters of an attempt list. */
const attributeFilters = (query: AttemptFilters) => ({ channel: query.channel, tag: query.tag, eventTypes: query.event_types?.split(',').filter(Boolean) });
const filtersByAttributes = (query: AttemptFilters) => query.channel !== undefined || query.tag !== undefined || query.event_types !== undefined;

/** Delivery attempts, by endpoint and by message, and resending one message to one endpoint. */
export function attemptRoutes(deps: AppDeps, access: SvixAccess): Route[] {
  const { deliveries, endpoints, events } = deps;

  /** The attempts of one message, matching `filter`, at every endpoint of the application the token may see (or `only` one), newest first. */
  async function attemptsOfMessage(app: Application, offset: number, principal: Principal, only?: string, filter: AttemptFilter = {}) {
    const all = await endpoints.list(app.logId, { limit: MAX_ENDPOINTS });
    const visible = all.filter((one) => (only === undefined || one.webhook.id === only) && allowed(principal, app, one));
    const found: Array<{ endpoint: Endpoint; attempt: DeliveryAttempt }> = [];
    for (const endpoint of visible) {
      const page = await deliveries.attempts(endpoint.webhook.id, { ...filter, offset, limit: MAX_ATTEMPTS_PAGE });
      for (const attempt of page.attempts) found.push({ endpoint, attempt });
    }
    return found.sort((a, b) => b.attempt.time - a.attempt.time || b.attempt.id! - a.attempt.id!);
  }

  async function byMessage(request: Parameters<SvixAccess['application']>[0] & { params: { msg_id: string }; query: Record<string, string | undefined> }) {
    const app = await access.application(request);
    const message = await readableMessage(request, app);
    const only = request.query.endpoint_id;
    const onlyWebhook = only === undefined ? undefined : (await endpoints.find(app.logId, svixIds.webhookOf(only), only))?.webhook.id;
    if (only !== undefined && onlyWebhook === undefined) fail('endpoint_not_found', `endpoint '${only}' does not exist in this application`);
    const query = attemptQuery(request.query);
    if (query === null || !hasAttributes(message.attributes, attributeFilters(request.query))) return newestFirst([], null);
    const withContent = request.query.with_content !== 'false';
    const { limit, ...filter } = query;
    const matching = await attemptsOfMessage(app, message.offset, request.principal!, onlyWebhook, filter);
    const start = after(matching, request.query.iterator, ({ attempt }) => svixIds.attempt(attempt.webhookId, attempt.id!));
    const shown = matching.slice(start, start + limit);
    const more = start + limit < matching.length;
    const data = shown.map(({ endpoint, attempt }) =>
      svixAttempt(app.logId, endpoint.webhook.destination, withContent ? attempt : { ...attempt, response: '' }),
    );
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
        const { app, endpoint, entries, next } = await endpointAttempts(request, request.query.with_msg === 'true');
        const withContent = request.query.with_content !== 'false';
        const data = entries.map(({ attempt, message }) => ({
          ...svixAttempt(app.logId, endpoint.webhook.destination, withContent ? attempt : { ...attempt, response: '' }),
          ...(message && { msg: svixMessage(app.logId, message, withContent) }),
        }));
        return newestFirst(data, next);
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
        querystring: Type.Object(attemptFilters),
        response: schemas.list(Type.Object({ ...schemas.message.properties, ...schemas.status })),
      },
      handler: async (request) => {
        const { app, endpoint, entries, next } = await endpointAttempts(request, true);
        // Each message once, where its newest attempt is.
        const messages = new Map(entries.map(({ attempt, message }) => [attempt.offset, message!]));
        const states = await deliveries.states(endpoint.webhook.id, [...messages.keys()]);
        const withContent = request.query.with_content !== 'false';
        const data = [...messages.values()].map((message) => ({ ...svixMessage(app.logId, message, withContent), ...svixStatus(states.get(message.offset)) }));
        return newestFirst(data, next);
      },
    }),
    route({
      method: 'GET',
      url: '/app/:app_id/msg/:msg_id/endpoint',
      summary: 'the endpoints a message was attempted at, with where it stands at each',
      schema: {
        params: schemas.params.message,
        querystring: Type.Object({ limit: schemas.listQuery.limit, iterator: schemas.listQuery.iterator }),
        response: schemas.list(Type.Object({ ...schemas.endpoint.properties, ...schemas.status })),
      },
      handler: async (request) => {
        const app = await access.application(request);
        const message = await readableMessage(request, app);
        const attempted = new Map<string, Endpoint>();
        for (const { endpoint } of await attemptsOfMessage(app, message.offset, request.principal!)) attempted.set(endpoint.webhook.id, endpoint);
        const all = [...attempted.values()].sort((a, b) => a.webhook.id.localeCompare(b.webhook.id));
        const start = after(all, request.query.iterator, (endpoint) => svixIds.endpoint(endpoint.webhook.id));
        const limit = limitOf(request.query.limit);
        const data = [];
        for (const endpoint of all.slice(start, start + limit)) {
          const states = await deliveries.states(endpoint.webhook.id, [message.offset]);
          data.push({ ...svixEndpoint(endpoint), ...svixStatus(states.get(message.offset)) });
        }
        return newestFirst(data, start + limit < all.length ? data.at(-1)!.id : null);
      },
    }),
    route({
      method: 'POST',
      url: '/app/:app_id/msg/:msg_id/endpoint/:endpoint_id/resend',
      summary: 'send one message again to one endpoint: a manual attempt',
      schema: {
        params: Type.Object({ ...schemas.params.message.properties, endpoint_id: field.text('the endpoint: its id or uid') }),
        response: Type.Object({}),
        status: 202,
      },
      handler: async (request) => {
        const { app, endpoint } = await access.endpoint(request, 'resend');
        const message = await readableMessage(request, app);
        if (message.value === null) fail('message_expunged', 'the message’s payload was expunged; it cannot be sent again');
        await deliveries.resend(endpoint.webhook.id, message.offset);
        return {};
      },
    }),
  ];

  /**
   * A page of an endpoint's attempts, each with its message when `withMessages`
   * or when the query filters by the messages' attributes (then a page may
   * hold fewer than asked, and its iterator goes on).
   */
  async function endpointAttempts(request: Parameters<SvixAccess['endpoint']>[0] & { query: AttemptFilters }, withMessages: boolean) {
    const { app, endpoint } = await access.endpoint(request, 'attempts');
    // Messages shown are read from the log, as reading them directly would.
    if (withMessages) demand(request.principal!, { subject: 'messages', action: 'consume', objectId: app.logId });
    const query = attemptQuery(request.query);
    if (query === null) return { app, endpoint, entries: [], next: null };
    const belowId = request.query.iterator === undefined ? undefined : attemptNumber(request.query.iterator, endpoint.webhook.id);
    const page = await deliveries.attempts(endpoint.webhook.id, { ...query, belowId });
    const filtered = filtersByAttributes(request.query);
    const entries = [];
    for (const attempt of page.attempts) {
      const message = withMessages || filtered ? await messageAt(app.logId, attempt.offset) : undefined;
      if (filtered && !hasAttributes(message!.attributes, attributeFilters(request.query))) continue;
      entries.push({ attempt, message });
    }
    return { app, endpoint, entries, next: page.next === null ? null : svixIds.attempt(endpoint.webhook.id, page.next) };
  }

  /** The message an attempt was of; one retention removed since is shown without content or attributes. */
  async function messageAt(logId: string, offset: number): Promise<Message<string>> {
    try {
      return await events.get(logId, offset);
    } catch (err) {
      if (err instanceof HooklogError && err.errorName === 'message_not_found') return { offset, time: 0, key: null, value: null };
      throw err;
    }
  }

  /** The message a path names, for a token that may read the application's messages: finding one by id or eventId tells that it exists. */
  async function readableMessage(request: { principal: Principal | null; params: { msg_id: string } }, app: Application): Promise<Message<string>> {
    demand(request.principal!, { subject: 'messages', action: 'consume', objectId: app.logId });
    return messageOf(deps, app.logId, request.params.msg_id);
  }

  async function oneAttempt(request: Parameters<SvixAccess['application']>[0] & { params: { msg_id: string; attempt_id: string } }) {
    const app = await access.application(request);
    const message = await readableMessage(request, app);
    const parsed = svixIds.attemptOf(request.params.attempt_id) ?? fail('attempt_not_found', `'${request.params.attempt_id}' is not an attempt id`);
    const endpoint = await endpoints.find(app.logId, parsed.webhookId, '');
    if (!endpoint) fail('attempt_not_found', `attempt '${request.params.attempt_id}' does not exist in this application`);
    demand(request.principal!, onEndpoint('attempts', app.logId, endpoint.webhook.id));
    const attempt = await deliveries.attempt(endpoint.webhook.id, parsed.attemptId);
    if (attempt.offset !== message.offset) fail('attempt_not_found', `attempt '${request.params.attempt_id}' is not an attempt of this message`);
    return { app, endpoint, attempt };
  }
}

/** Whether the token may see an endpoint and its attempts. */
function allowed(principal: Principal, app: Application, endpoint: Endpoint): boolean {
  return (['get', 'attempts'] as const).every((action) => allows(principal.rules, onEndpoint(action, app.logId, endpoint.webhook.id)));
}

/** Where a list held in memory goes on after `iterator` (one of its ids); an iterator it did not give is refused. */
function after<T>(items: T[], iterator: string | undefined, idOf: (item: T) => string): number {
  if (iterator === undefined) return 0;
  const at = items.findIndex((item) => idOf(item) === iterator);
  return at < 0 ? fail('query_param_invalid', 'iterator is not one this list gave') : at + 1;
}

/** The attempt number of an iterator of this endpoint's list. */
function attemptNumber(iterator: string, webhookId: string): number {
  const parsed = svixIds.attemptOf(iterator);
  if (!parsed || parsed.webhookId !== webhookId) fail('query_param_invalid', 'iterator is not one this list gave');
  return parsed.attemptId;
}
