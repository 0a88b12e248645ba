import type { CursorOffset, EgressWebhook, IngressWebhook, Log, Token } from '../../../domain/types.js';
import type { EgressStatus } from '../../../egress/egress-webhooks.js';
import { providerOf } from '../../../ingress/providers/registry.js';

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
    ...(secret !== undefined && { secret }),
  };
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
  };
}
