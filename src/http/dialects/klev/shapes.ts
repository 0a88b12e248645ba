import { type Encoding, encodeBytes } from '../../../domain/encoding.js';
import type { CursorOffset, Log, Message, Token } from '../../../domain/types.js';

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

/** A nil key or value is left out, never turned into "". */
export function klevMessage(message: Message<Buffer | string>, encoding: Encoding) {
  return {
    offset: message.offset,
    time: message.time,
    ...(message.key !== null && { key: encodeBytes(message.key, encoding) }),
    ...(message.value !== null && { value: encodeBytes(message.value, encoding) }),
  };
}
