import { Type } from 'typebox';
import { allows } from '../../../domain/acl.js';
import { fail } from '../../../domain/errors.js';
import type { AttemptQuery } from '../../../domain/types.js';
import { MAX_ATTEMPTS_PAGE } from '../../../egress/deliveries.js';
import type { AppDeps } from '../../deps.js';
import { type Route, route } from '../../router.js';
import { field } from '../../schema.js';
import { queryInteger } from './input.js';
import * as schemas from './schemas.js';
import { attemptId, klevAttempt, klevSummary, klevTask, parseAttemptId } from './shapes.js';

const TIME_RANGE = { min: 0, max: Number.MAX_SAFE_INTEGER };
const CODE_CLASSES: Record<string, number> = { '1xx': 1, '2xx': 2, '3xx': 3, '4xx': 4, '5xx': 5, none: 0 };

/**
 * hooklog's delivery operations, as klev extensions under the egress webhook:
 * the attempt history, resend, replay, recover, the summary, and the tasks
 * that long operations become. Times are microseconds, as message times are.
 */
export function deliveryRoutes({ deliveries }: AppDeps): Route[] {
  const allowed = (action: 'attempts' | 'resend' | 'replay' | 'status') => (request: { params: { webhook_id: string } }) => [
    { subject: 'egress_webhooks' as const, action, objectId: request.params.webhook_id },
  ];

  return [
    route({
      method: 'GET',
      url: '/egress_webhook/:webhook_id/attempts',
      summary: 'list delivery attempts, newest first, a page at a time',
      schema: {
        params: schemas.params.egress,
        querystring: Type.Object({
          offset: Type.Optional(field.query('only the attempts of the message at this offset')),
          status: Type.Optional(field.query('success (a 2xx answer) or failed')),
          code: Type.Optional(field.query('1xx, 2xx, 3xx, 4xx, 5xx, or none (no answer)')),
          after: Type.Optional(field.query('sent at or after this time, in microseconds')),
          before: Type.Optional(field.query('sent before this time, in microseconds')),
          limit: Type.Optional(field.query(`attempts per page, 1 to ${MAX_ATTEMPTS_PAGE}; 50 by default`)),
          cursor: Type.Optional(field.query('next_cursor of the page before')),
        }),
        response: schemas.attemptPage,
      },
      permissions: allowed('attempts'),
      handler: async (request) => {
        const { query } = request;
        const micros = (raw: string | undefined, name: string) => {
          const value = queryInteger(raw, name, TIME_RANGE, 'query_param_invalid');
          return value === undefined ? undefined : Math.ceil(value / 1000);
        };
        if (query.status !== undefined && query.status !== 'success' && query.status !== 'failed') {
          fail('query_param_invalid', `status must be success or failed, got ${JSON.stringify(query.status)}`);
        }
        if (query.code !== undefined && !Object.hasOwn(CODE_CLASSES, query.code)) {
          fail('query_param_invalid', `code must be one of ${Object.keys(CODE_CLASSES).join(', ')}, got ${JSON.stringify(query.code)}`);
        }
        const filter: AttemptQuery = {
          offset: queryInteger(query.offset, 'offset', { min: 0, max: Number.MAX_SAFE_INTEGER }, 'offset_param_invalid'),
          succeeded: query.status === undefined ? undefined : query.status === 'success',
          codeClass: query.code === undefined ? undefined : CODE_CLASSES[query.code],
          after: micros(query.after, 'after'),
          before: micros(query.before, 'before'),
          belowId: query.cursor === undefined ? undefined : parseAttemptId(query.cursor, 'cursor'),
          limit: queryInteger(query.limit, 'limit', { min: 1, max: MAX_ATTEMPTS_PAGE }, 'query_param_invalid') ?? 50,
        };
        const page = await deliveries.attempts(request.params.webhook_id, filter);
        return { attempts: page.attempts.map(klevAttempt), next_cursor: page.next === null ? null : attemptId(page.next) };
      },
    }),
    route({
      method: 'GET',
      url: '/egress_webhook/:webhook_id/attempts/:attempt_id',
      summary: 'get one delivery attempt, with its truncated response and its error',
      schema: {
        params: Type.Object({ webhook_id: schemas.params.egress.properties.webhook_id, attempt_id: field.text('the attempt, atm_…') }),
        response: schemas.attempt,
      },
      permissions: allowed('attempts'),
      handler: async (request) => klevAttempt(await deliveries.attempt(request.params.webhook_id, parseAttemptId(request.params.attempt_id, 'attempt_id'))),
    }),
    route({
      method: 'POST',
      url: '/egress_webhook/:webhook_id/resend',
      summary: 'send one message again, as a manual attempt; answers with the task at once',
      schema: {
        params: schemas.params.egress,
        body: field.object({ offset: field.integer(0, 'the message to send') }),
        response: schemas.task,
        status: 202,
      },
      permissions: allowed('resend'),
      handler: async (request) => klevTask(await deliveries.resend(request.params.webhook_id, request.body.offset)),
    }),
    route({
      method: 'POST',
      url: '/egress_webhook/:webhook_id/replay',
      summary: 'send a range of the log again, as manual attempts, without moving the cursor; answers with the task at once',
      schema: {
        params: schemas.params.egress,
        body: field.object({
          since: Type.Optional(field.integer(0, 'the first offset')),
          until: Type.Optional(field.integer(0, 'the offset to stop before; the end of the log by default')),
          since_time: Type.Optional(field.integer(0, 'instead of offsets: messages from this time, in microseconds')),
          until_time: Type.Optional(field.integer(0, 'and before this time, in microseconds')),
        }),
        response: schemas.task,
        status: 202,
      },
      permissions: allowed('replay'),
      handler: async (request) => {
        const { since, until, since_time: sinceTime, until_time: untilTime } = request.body;
        const byOffset = since !== undefined || until !== undefined;
        const byTime = sinceTime !== undefined || untilTime !== undefined;
        if (byOffset === byTime) fail('field_invalid', 'give since (and until) in offsets, or since_time (and until_time) in microseconds');
        const range = byTime ? { since: sinceTime ?? 0, until: untilTime, byTime } : { since: since ?? 0, until, byTime };
        return klevTask(await deliveries.replay(request.params.webhook_id, range));
      },
    }),
    route({
      method: 'POST',
      url: '/egress_webhook/:webhook_id/recover',
      summary: 'send again every message whose delivery failed since a time; answers with the task at once',
      schema: {
        params: schemas.params.egress,
        body: field.object({ since: field.integer(0, 'failures recorded at or after this time, in microseconds') }),
        response: schemas.task,
        status: 202,
      },
      permissions: allowed('replay'),
      handler: async (request) => klevTask(await deliveries.recover(request.params.webhook_id, Math.floor(request.body.since / 1000))),
    }),
    route({
      method: 'GET',
      url: '/egress_webhook/:webhook_id/summary',
      summary: 'messages by delivery state, and how far the cursor is behind the log',
      schema: { params: schemas.params.egress, response: schemas.summary },
      permissions: allowed('status'),
      handler: async (request) => klevSummary(await deliveries.summary(request.params.webhook_id)),
    }),
    route({
      method: 'GET',
      url: '/tasks/:task_id',
      summary: 'a resend, replay or recover task: its status and progress',
      schema: { params: Type.Object({ task_id: field.id('tsk', 'the task') }), response: schemas.task },
      // Whoever may see its webhook's attempts or start its tasks may follow one; known once the task is read.
      permissions: () => [],
      handler: async (request) => {
        const can = (webhookId: string) =>
          (['attempts', 'resend', 'replay'] as const).some((action) =>
            allows(request.principal!.rules, { subject: 'egress_webhooks', action, objectId: webhookId }),
          );
        return klevTask(await deliveries.task(request.params.task_id, can));
      },
    }),
  ];
}
