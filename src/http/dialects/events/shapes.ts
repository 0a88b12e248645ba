import { jsonText } from '../../../domain/payload.js';
import type { DeliveryAttempt, EventRecord, Message } from '../../../domain/types.js';
import { isSuccess } from '../../../domain/types.js';
import type { EventDelivery, EventView } from '../../../ingress/received-events.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** A payload as the API shows it: parsed when the body is JSON, its text otherwise. */
export function payloadJson(body: Buffer): unknown {
  const json = jsonText(body);
  return json === undefined ? body.toString('utf8') : JSON.parse(json);
}

/** The headers an event arrived with: a refused one's as kept, an accepted one's as stored with its message (gone with it). */
const headersOf = (record: EventRecord, message: Message | null) => record.refused?.headers ?? message?.headers ?? {};

/** An event; its payload and deliveries where asked for. */
export function eventJson(view: EventView, include: { payload?: Buffer; deliveries?: boolean } = {}) {
  const { record, source, status, deliveries } = view;
  return {
    id: record.id,
    sourceId: record.sourceId,
    source: { id: record.sourceId, name: source && source.metadata !== '' ? source.metadata : null },
    logId: record.logId,
    offset: record.offset,
    status,
    headers: headersOf(record, view.message),
    payloadSize: record.size,
    payloadHash: `sha256:${record.hash}`,
    signatureValid: record.refused === undefined,
    ...(record.refused && { rejectionReason: record.refused.reason, rejectionMessage: record.refused.detail }),
    deliveriesCount: deliveries.length,
    deliveriesSucceeded: deliveries.filter((d) => d.status === 'delivered').length,
    deliveriesFailed: deliveries.filter((d) => d.status === 'failed').length,
    receivedAt: iso(record.receivedAt),
    createdAt: iso(record.receivedAt),
    ...(include.payload && { payload: payloadJson(include.payload) }),
    ...(include.deliveries && { deliveries: deliveries.map((delivery) => deliveryJson(record, delivery)) }),
  };
}

/** `dlv_` + the destination's KSUID + the offset: stable, and unique across destinations and logs. */
const deliveryId = (webhookId: string, offset: number) => `dlv_${webhookId.slice('ewh_'.length)}${offset}`;

/** One event's delivery to one destination, from its attempts (oldest first): latency and deliveredAt are the latest success's. */
export function deliveryJson(record: EventRecord, { destination, status, attempts }: EventDelivery) {
  const last = attempts.at(-1);
  const delivered = attempts.filter((attempt) => isSuccess(attempt.statusCode)).at(-1);
  return {
    id: deliveryId(destination.id, record.offset!),
    destinationId: destination.id,
    destinationName: destination.metadata === '' ? null : destination.metadata,
    status,
    attemptCount: attempts.length,
    latency: delivered ? delivered.durationMs : null,
    statusCode: last ? last.statusCode : null,
    error: last && last.error !== '' ? last.error : null,
    deliveredAt: delivered ? iso(delivered.time + delivered.durationMs) : null,
  };
}

/** `number`: its place among the delivery's attempts, manual ones included (their own count starts again at 1 for each resend). */
function attemptJson(attempt: DeliveryAttempt, number: number) {
  return {
    attemptNumber: number,
    startedAt: iso(attempt.time),
    completedAt: iso(attempt.time + attempt.durationMs),
    status: isSuccess(attempt.statusCode) ? 'success' : 'failed',
    statusCode: attempt.statusCode,
    latency: attempt.durationMs,
  };
}

/** When the event was received, validated and queued, then each destination's attempts; totalDuration runs to the last attempt's end. */
export function timelineJson({ record, deliveries }: EventView) {
  const ends = deliveries.flatMap((delivery) => delivery.attempts.map((attempt) => attempt.time + attempt.durationMs));
  const last = Math.max(record.queuedAt ?? record.validatedAt, ...ends);
  return {
    received: iso(record.receivedAt),
    validated: iso(record.validatedAt),
    queued: record.queuedAt === null ? null : iso(record.queuedAt),
    deliveries: deliveries.map(({ destination, attempts }) => ({
      destinationId: destination.id,
      destinationName: destination.metadata === '' ? null : destination.metadata,
      attempts: attempts.map((attempt, i) => attemptJson(attempt, i + 1)),
    })),
    totalDuration: last - record.receivedAt,
  };
}
