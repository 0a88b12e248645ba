import {
  type Application,
  type DeliveryAttempt,
  type DeliveryStatus,
  type DeliveryTask,
  type EventType,
  type Integration,
  isSuccess,
  type Message,
} from '../../../domain/types.js';
import type { Endpoint } from '../../../egress/endpoints.js';
import { svixIds } from '../../../protocols/svix/ids.js';

/** hooklog's objects in the Svix API's shapes. Times are ISO 8601. */

export const iso = (ms: number) => new Date(ms).toISOString();

export function svixApplication(app: Application) {
  const { logId, uid, name, rateLimit, metadata, createdAt, updatedAt } = app;
  return { id: svixIds.app(logId), uid, name, rateLimit, metadata, createdAt: iso(createdAt), updatedAt: iso(updatedAt) };
}

export function svixEndpoint({ webhook, fields }: Endpoint) {
  return {
    id: svixIds.endpoint(webhook.id),
    uid: fields.uid,
    url: webhook.destination,
    description: fields.description,
    version: fields.version,
    metadata: fields.metadata,
    rateLimit: webhook.rateLimit,
    disabled: !webhook.state.active,
    filterTypes: webhook.filter.eventTypes.length > 0 ? webhook.filter.eventTypes : null,
    channels: webhook.filter.channels.length > 0 ? webhook.filter.channels : null,
    createdAt: iso(fields.createdAt),
    updatedAt: iso(fields.updatedAt),
  };
}

/**
 * A message; without content, its payload is `{}`, as it is once expunged.
 * A log's messages need not be JSON (klev publishes and ingress webhooks
 * append any bytes): those show their text as a JSON string.
 */
export function svixMessage(logId: string, message: Message<string>, withContent = true) {
  const { attributes } = message;
  return {
    id: svixIds.message(logId, message.offset),
    eventType: attributes?.eventType ?? '',
    eventId: attributes?.eventId ?? null,
    channels: attributes?.channels ?? null,
    tags: attributes?.tags ?? null,
    timestamp: iso(Math.floor(message.time / 1000)),
    payload: withContent && message.value !== null ? jsonOrText(message.value) : {},
  };
}

function jsonOrText(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** Svix's message statuses, by number and name. */
export const STATUS = { success: 0, pending: 1, fail: 2, sending: 3, canceled: 4 } as const;
export type StatusName = keyof typeof STATUS;

const STATUS_OF: Record<DeliveryStatus, StatusName> = { success: 'success', pending: 'pending', failed: 'fail', sending: 'sending', skipped: 'canceled' };

/** Where a message stands with an endpoint; a message the endpoint's filter skipped shows as canceled. */
export function svixStatus(state: { status: DeliveryStatus; nextAttemptAt: number | null } | undefined) {
  const name = STATUS_OF[state?.status ?? 'pending'];
  return { status: STATUS[name], statusText: name, nextAttempt: state?.nextAttemptAt == null ? null : iso(state.nextAttemptAt) };
}

export function svixAttempt(logId: string, url: string, attempt: DeliveryAttempt) {
  const status: StatusName = isSuccess(attempt.statusCode) ? 'success' : 'fail';
  return {
    id: svixIds.attempt(attempt.webhookId, attempt.id!),
    msgId: svixIds.message(logId, attempt.offset),
    endpointId: svixIds.endpoint(attempt.webhookId),
    url,
    // Without an answer, what went wrong (a timeout, a refused address, the transformation) is the response shown.
    response: attempt.statusCode === null ? attempt.error : attempt.response,
    responseStatusCode: attempt.statusCode ?? 0,
    responseDurationMs: attempt.durationMs,
    status: STATUS[status],
    statusText: status,
    triggerType: attempt.trigger === 'manual' ? 1 : 0,
    timestamp: iso(attempt.time),
  };
}

export function svixEventType(eventType: EventType, withContent = true) {
  const { name, description, schemas, archived, deprecated, featureFlag, groupName, createdAt, updatedAt } = eventType;
  return {
    name,
    description,
    schemas: withContent ? schemas : null,
    archived,
    deprecated,
    featureFlag,
    groupName,
    createdAt: iso(createdAt),
    updatedAt: iso(updatedAt),
  };
}

const TASK_NAMES: Record<DeliveryTask['kind'], string> = {
  resend: 'endpoint.resend',
  replay: 'endpoint.replay',
  'replay-missing': 'endpoint.replay',
  recover: 'endpoint.recover',
};

export function svixTask(task: DeliveryTask) {
  return {
    id: task.id,
    status: task.status,
    task: TASK_NAMES[task.kind],
    data: {
      endpointId: svixIds.endpoint(task.webhookId),
      messagesSent: task.sent,
      succeeded: task.succeeded,
      failed: task.failed,
      total: task.total,
      ...(task.error && { error: task.error }),
    },
    updatedAt: iso(task.updatedAt),
  };
}

export function svixIntegration({ id, name, featureFlags, createdAt, updatedAt }: Integration) {
  return { id, name, featureFlags, createdAt: iso(createdAt), updatedAt: iso(updatedAt) };
}
