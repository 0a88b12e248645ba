import { fail } from '../../../domain/errors.js';
import type { CursorOffset, DeliveryAttempt, DeliveryTask, EgressWebhook, IngressWebhook, Log, Token } from '../../../domain/types.js';
import type { DeliverySummary } from '../../../egress/deliveries.js';
import type { EgressStatus } from '../../../egress/egress-webhooks.js';
import { providerOf } from '../../../ingress/providers/registry.js';
import { ingressPath } from '../../ingress.js';

/** Core objects in klev's JSON shapes. Zero settings and empty ACLs are omitted, as klev does. */

export function klevToken(token: Token) {
  return { token_id: token.id, metadata: token.metadata, ...(token.acl.length > 0 && { acl: token.acl }) };
}

export function klevLog(log: Log) {
  return {
    log_id: log.id,
    metadata: log.metadata,
    compacting: log.compacting,
    ...(log.trimBytes > 0 && { trim_bytes: log.trimBytes }),
    ...(log.trimSeconds > 0 && { trim_seconds: log.trimSeconds }),
    ...(log.compactSeconds > 0 && { compact_seconds: log.compactSeconds }),
    ...(log.expireSeconds > 0 && { expire_seconds: log.expireSeconds }),
  };
}

export function klevOffset(offset: CursorOffset) {
  return {
    offset_id: offset.id,
    log_id: offset.logId,
    metadata: offset.metadata,
    value: offset.value,
    value_metadata: offset.valueMetadata,
  };
}

/** The secret appears only when it was just made: at creation and on rotation. */
export function klevEgressWebhook(webhook: EgressWebhook, secret?: string) {
  return {
    webhook_id: webhook.id,
    metadata: webhook.metadata,
    log_id: webhook.logId,
    destination: webhook.destination,
    payload: webhook.payload,
    mode: webhook.mode,
    signing: webhook.signing,
    headers: webhook.headers,
    filter_event_types: webhook.filter.eventTypes,
    filter_channels: webhook.filter.channels,
    ...(webhook.rateLimit !== null && { rate_limit: webhook.rateLimit }),
    ...(secret !== undefined && { secret }),
  };
}

/** Attempt ids are the store's sequence numbers, shown as `atm_<n>`. */
export function attemptId(id: number): string {
  return `atm_${id}`;
}

export function parseAttemptId(raw: string, name: string): number {
  const id = /^atm_[1-9]\d{0,15}$/.test(raw) ? Number(raw.slice(4)) : NaN;
  if (!Number.isSafeInteger(id)) fail('id_invalid', `${name} must be 'atm_' followed by a number, got ${JSON.stringify(raw)}`);
  return id;
}

/** An attempt; times in microseconds, as message times. */
export function klevAttempt(attempt: DeliveryAttempt) {
  return {
    attempt_id: attemptId(attempt.id!),
    webhook_id: attempt.webhookId,
    offset: attempt.offset,
    attempt: attempt.attempt,
    trigger: attempt.trigger,
    time: attempt.time * 1000,
    ...(attempt.statusCode !== null && { status_code: attempt.statusCode }),
    duration_ms: Math.round(attempt.durationMs),
    response: attempt.response,
    ...(attempt.error && { error: attempt.error }),
  };
}

export function klevTask(task: DeliveryTask) {
  const span = task.endOffset - (task.kind === 'recover' || task.byTime ? 0 : task.since);
  return {
    task_id: task.id,
    webhook_id: task.webhookId,
    kind: task.kind,
    status: task.status,
    ...(task.kind === 'recover' ? { since: task.since * 1000 } : task.byTime ? { since_time: task.since } : { since: task.since }),
    ...(task.byTime && task.until !== null && { until_time: task.until }),
    ...(task.kind !== 'recover' && !task.byTime && { until: task.endOffset }),
    position: task.position,
    end_offset: task.endOffset,
    // Position through the range: for a recover, of the offsets below end_offset.
    progress: span > 0 ? Math.min(1, (task.position - (task.endOffset - span)) / span) : 1,
    ...(task.total !== null && { total: task.total }),
    sent: task.sent,
    succeeded: task.succeeded,
    failed: task.failed,
    ...(task.error && { error: task.error }),
    created_at: task.createdAt * 1000,
    updated_at: task.updatedAt * 1000,
  };
}

export function klevSummary({ webhook, counts, lag, endOffset }: DeliverySummary) {
  return { webhook_id: webhook.id, active: webhook.state.active, next_offset: webhook.state.nextOffset, end_offset: endOffset, lag, counts };
}

/** klev's status: times in unix seconds; fields about the last attempt appear once there was one. */
export function klevEgressStatus({ webhook, availableOffset }: EgressStatus) {
  const { state } = webhook;
  const seconds = (ms: number) => Math.floor(ms / 1000);
  return {
    webhook_id: webhook.id,
    active: state.active,
    ...(state.inactiveReason && { inactive_reason: state.inactiveReason }),
    available_offset: availableOffset,
    next_offset: state.nextOffset,
    ...(state.lastOffset !== null && { deliver_offset: state.lastOffset }),
    ...(state.lastTime !== null && { deliver_time: seconds(state.lastTime) }),
    ...(state.lastResponse && { deliver_resp: state.lastResponse }),
    ...(state.lastError && { deliver_error: state.lastError }),
    ...(state.active && { next_deliver_time: seconds(state.nextAttemptAt) }),
  };
}

/** The secret is never shown. Signature options appear for the types that use them. */
export function klevIngressWebhook(webhook: IngressWebhook) {
  const generic = webhook.header !== '';
  return {
    webhook_id: webhook.id,
    metadata: webhook.metadata,
    log_id: webhook.logId,
    type: webhook.type,
    ...(generic && { header: webhook.header }),
    ...(providerOf(webhook.type)?.needs.signatureOptions && { algorithm: webhook.algorithm, encoding: webhook.encoding, prefix: webhook.prefix }),
    deduplicate: webhook.deduplicate,
    keep_rejected: webhook.keepRejected,
    path: ingressPath(webhook.id),
  };
}
