import type { Application, DeliveryAttempt, DeliveryTask, EventType, Integration, Message } from '../../../domain/types.js';
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

/** A message; without content, its payload is `{}`, as it is once expunged. */
export function svixMessage(logId: string, message: Message<string>, withContent = true) {
  const { attributes } = message;
  return {
    id: svixIds.message(logId, message.offset),
    eventType: attributes?.eventType ?? '',
    eventId: attributes?.eventId ?? null,
    channels: attributes?.channels ?? null,
    tags: attributes?.tags ?? null,
    timestamp: iso(Math.floor(message.time / 1000)),
    payload: withContent && message.value !== null ? JSON.parse(message.value) : {},
  };
}

/** Svix's message statuses, by number and name. */
export const STATUS = { success: 0, pending: 1, fail: 2, sending: 3 } as const;
export type StatusName = keyof typeof STATUS;

export function svixAttempt(logId: string, url: string, attempt: DeliveryAttempt) {
  const success = attempt.statusCode !== null && attempt.statusCode >= 200 && attempt.statusCode < 300;
  const status: StatusName = success ? 'success' : 'fail';
  return {
    id: svixIds.attempt(attempt.webhookId, attempt.id!),
    msgId: svixIds.message(logId, attempt.offset),
    endpointId: svixIds.endpoint(attempt.webhookId),
    url,
    response: attempt.response,
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
