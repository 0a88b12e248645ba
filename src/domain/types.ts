/**
 * Glossary of the core model. Every dialect maps onto these shapes.
 *
 * - Log: an ordered sequence of messages. Offsets start at 0 and grow by one
 *   per message, with no gaps at publish time; retention may later delete
 *   messages, so readers skip to the next offset that still exists.
 * - Message: offset, time (microseconds since the Unix epoch), key and value.
 *   Key and value are bytes or null ("nil"); null and empty are different.
 * - Cursor offset ("offset" in klev): a stored position in a log that a
 *   consumer resumes from. -1 means the end of the log, -2 its start.
 * - Token: a bearer credential with an ACL; an empty ACL means full access.
 */

export interface RetentionSettings {
  /** Keep the newest message per key only. Default false. */
  compacting: boolean;
  /** Delete the oldest messages while the log holds more key+value bytes than this. 0 = off. */
  trimBytes: number;
  /** Delete messages older than this many seconds. 0 = off. */
  trimSeconds: number;
  /** On a compacting log, wait this long before an overwritten message is removed. 0 = at the next run. */
  compactSeconds: number;
  /** Delete messages with a key and a nil value once older than this many seconds. 0 = off. */
  expireSeconds: number;
}

export interface Log extends RetentionSettings {
  id: string;
  metadata: string;
  /** The offset the next published message will get. */
  nextOffset: number;
}

/** A stored message. Key and value are bytes, or text when read already decoded as UTF-8. */
export interface Message<Bytes extends Buffer | string = Buffer> {
  offset: number;
  /** Microseconds since the Unix epoch. */
  time: number;
  key: Bytes | null;
  value: Bytes | null;
}

/** A message as a publisher hands it in: the log assigns offset, and time when absent. */
export interface NewMessage {
  time?: number;
  key: Buffer | null;
  value: Buffer | null;
}

export interface Token {
  id: string;
  metadata: string;
  acl: string[];
  /** SHA-256 of the bearer's secret part, hex. The secret itself is never stored. */
  secretHash: string;
}

export interface CursorOffset {
  id: string;
  logId: string;
  metadata: string;
  /** Where a consumer using this offset starts: an offset, or -1 (end) / -2 (start). */
  value: number;
  valueMetadata: string;
}

export const OFFSET_END = -1;
export const OFFSET_START = -2;
