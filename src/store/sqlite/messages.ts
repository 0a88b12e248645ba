import type { Database, Statement } from 'better-sqlite3';
import type { Message, MessageAttributes, MessageHeaders } from '../../domain/types.js';
import type { ChangeFeed } from '../change-feed.js';
import { attributesJson, describedMessage, grownLogs, messageBytes } from '../rows.js';
import type { AppendClaim, AppendOutcome, AppendRequest, MessageStore, ReadOptions } from '../store.js';
import { sqliteEventInsert } from './events.js';

/**
 * Raw rows (arrays, not objects) read about 40 % faster for large ranges.
 * Attributes are always read: NULL for most messages, so they cost nothing.
 */
type RawRow<T> = [offset: number, time: number, key: T | null, value: T | null, attributes: string | null, headers?: string | null];

function fromRaw<T extends Buffer | string>(row: RawRow<T>): Message<T> {
  const message: Message<T> = { offset: row[0], time: row[1], key: row[2], value: row[3] };
  if (row[4] !== null) message.attributes = JSON.parse(row[4]) as MessageAttributes;
  if (row[5]) message.headers = JSON.parse(row[5]) as MessageHeaders;
  return message;
}

/** The generation of the key index (migration 013) an offset's key is filed under. */
export const keyGeneration = (offset: number): number => Math.floor(offset / 65_536);

/** A message's bytes as reads count them against their limit: key, value, headers and attributes (see messageBytes). */
const READ_BYTES = 'ifnull(length(key), 0) + ifnull(length(value), 0) + ifnull(length(CAST(headers AS BLOB)), 0) + ifnull(length(CAST(attributes AS BLOB)), 0)';

interface RangeShape {
  /** Key and value as bytes, or decoded as UTF-8 text. */
  as: 'bytes' | 'text';
  headers: boolean;
  /** Each row's READ_BYTES last, for reads that stop at a byte limit. */
  sized: boolean;
  /** Offsets below the start, newest first, instead of from the start on. */
  backward: boolean;
}

export function sqliteMessages(db: Database, durable: () => Promise<void>, feed: ChangeFeed): MessageStore {
  const head = db.prepare<[string], { seq: number; next_offset: number; max_time: number }>('SELECT seq, next_offset, max_time FROM logs WHERE id = ?');
  const insert = db.prepare('INSERT INTO messages (log_seq, msg_offset, time, key, value, headers, attributes) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const insertLate = db.prepare('INSERT INTO messages (log_seq, msg_offset, time, key, value, headers, attributes, late) VALUES (?, ?, ?, ?, ?, ?, ?, 1)');
  // A key is held if claimed within its window; a key not held is (re)stamped with the offset it now stands for.
  const heldKey = db.prepare<[string, string, number], { msg_offset: number | null }>(
    'SELECT msg_offset FROM idempotency_keys WHERE scope = ? AND key = ? AND created_at >= ?',
  );
  const claimKey = db.prepare<[{ scope: string; key: string; now: number; offset: number | null }]>(
    `INSERT INTO idempotency_keys (scope, key, created_at, msg_offset) VALUES (@scope, @key, @now, @offset)
     ON CONFLICT (scope, key) DO UPDATE SET created_at = excluded.created_at, msg_offset = excluded.msg_offset`,
  );
  const advance = db.prepare(
    `UPDATE logs SET next_offset = ?, size_bytes = size_bytes + ?, max_message_bytes = max(max_message_bytes, ?), max_time = max(max_time, ?)
     WHERE seq = ?`,
  );
  const sizing = db.prepare<[string], { seq: number; max_message_bytes: number }>('SELECT seq, max_message_bytes FROM logs WHERE id = ?');
  // Expunging keeps size_bytes (what trim_bytes counts) true; max_message_bytes stays an upper bound, as it is meant to.
  const shrinkByValue = db.prepare<[{ seq: number; offset: number }]>(
    `UPDATE logs SET size_bytes = size_bytes - ifnull((SELECT length(value) FROM messages WHERE log_seq = @seq AND msg_offset = @offset), 0)
     WHERE seq = @seq`,
  );
  const insertEvent = sqliteEventInsert(db);
  const described = db.prepare<[string, string], { msg_offset: number; headers: string | null; attributes: string | null }>(
    `SELECT msg_offset, headers, attributes FROM messages
     WHERE log_seq = (SELECT seq FROM logs WHERE id = ?) AND msg_offset IN (SELECT value FROM json_each(?))`,
  );
  const nilValue = db.prepare<[number, number]>('UPDATE messages SET value = NULL WHERE log_seq = ? AND msg_offset = ?');
  const ranges = new Map<string, Statement>();
  // SQLite hands text straight to V8, which decodes UTF-8 as Buffer#toString would.
  const range = ({ as, headers, sized, backward }: RangeShape): Statement => {
    const name = `${as} ${headers} ${sized} ${backward}`;
    let statement = ranges.get(name);
    if (!statement) {
      const columns = [
        as === 'text' ? 'CAST(key AS TEXT), CAST(value AS TEXT)' : 'key, value',
        'attributes',
        ...(headers ? ['headers'] : []),
        ...(sized ? [READ_BYTES] : []),
      ];
      const order = backward ? 'msg_offset < ? ORDER BY msg_offset DESC' : 'msg_offset >= ? ORDER BY msg_offset';
      statement = db.prepare(`SELECT msg_offset, time, ${columns.join(', ')} FROM messages WHERE log_seq = ? AND ${order} LIMIT ?`).raw(true);
      ranges.set(name, statement);
    }
    return statement;
  };
  // One generation of the key index (see migration 013): the newest message with the key among offsets >> 16 = gen.
  const latestByKeyIn = db
    .prepare<[{ seq: number; gen: number; key: Buffer }], RawRow<Buffer>>(
      `SELECT msg_offset, time, key, value, attributes FROM messages
       WHERE log_seq = @seq AND msg_offset >> 16 = @gen AND key = @key
       ORDER BY msg_offset DESC LIMIT 1`,
    )
    .raw(true);
  const keyedSpan = db.prepare<[string], { seq: number; first: number | null; last: number | null }>(
    `SELECT seq, (SELECT min(msg_offset) FROM messages WHERE log_seq = logs.seq) AS first, next_offset - 1 AS last FROM logs WHERE id = ?`,
  );
  const latestNilKey = db
    .prepare<[string], RawRow<Buffer>>(
      `SELECT msg_offset, time, key, value, attributes FROM messages
       WHERE log_seq = (SELECT seq FROM logs WHERE id = ?) AND key IS NULL
       ORDER BY msg_offset DESC LIMIT 1`,
    )
    .raw(true);

  /**
   * Takes a request's claims, or none of them: every claim is checked before
   * any is stamped, which is exact because the append's transaction is the
   * only writer. The first claim held makes the request a duplicate.
   */
  function claimAll(claims: AppendClaim[], offset: number | null): AppendOutcome | undefined {
    for (const [i, claim] of claims.entries()) {
      const held = heldKey.get(claim.scope, claim.key, claim.since);
      if (held) return { duplicate: true, claim: i, offset: held.msg_offset };
    }
    for (const claim of claims) claimKey.run({ scope: claim.scope, key: claim.key, now: claim.now, offset });
    return undefined;
  }

  // All requests of a group commit share this transaction; a missing log is an
  // outcome for that request alone. Each log's head is read and written once
  // per group, and requests for the same log get consecutive offsets in order.
  const appendAll = db.transaction((requests: AppendRequest[], nowMicros: number): AppendOutcome[] => {
    const heads = new Map<string, { seq: number; next: number; bytes: number; maxBytes: number; maxTime: number } | null>();
    const outcomes = requests.map(({ logId, messages, claims, event }): AppendOutcome => {
      let log = heads.get(logId);
      if (log === undefined) {
        const row = head.get(logId);
        log = row ? { seq: row.seq, next: row.next_offset, bytes: 0, maxBytes: 0, maxTime: row.max_time } : null;
        heads.set(logId, log);
      }
      if (log === null) return { logMissing: true };
      const duplicate = claims && claimAll(claims, messages.length > 0 ? log.next : null);
      if (duplicate) return duplicate;
      if (event) insertEvent(event, log.next, Math.floor(nowMicros / 1000));
      for (const message of messages) {
        const headers = message.headers ? JSON.stringify(message.headers) : null;
        const attributes = message.attributes ? attributesJson(message.attributes) : null;
        const time = message.time ?? nowMicros;
        (time < log.maxTime ? insertLate : insert).run(log.seq, log.next++, time, message.key, message.value, headers, attributes);
        log.bytes += (message.key?.length ?? 0) + (message.value?.length ?? 0);
        log.maxBytes = Math.max(log.maxBytes, messageBytes(message.key, message.value, headers, attributes));
        log.maxTime = Math.max(log.maxTime, time);
      }
      return { nextOffset: log.next };
    });
    for (const log of heads.values()) if (log) advance.run(log.next, log.bytes, log.maxBytes, log.maxTime, log.seq);
    return outcomes;
  });

  /**
   * Reads at most `limit` messages from `from` on (or, backward, below it,
   * newest first), and no more bytes than `maxBytes` beyond the first message. Where `limit` messages of the log's largest size fit,
   * they are read at once; otherwise row by row, stopping at the limit, so
   * that a log of large messages never loads more than it will answer with.
   */
  function readRange<T extends Buffer | string>(
    shape: Omit<RangeShape, 'headers' | 'sized'>,
    logId: string,
    from: number,
    limit: number,
    options?: ReadOptions,
  ): Message<T>[] {
    const log = sizing.get(logId);
    if (!log) return [];
    const headers = options?.headers === true;
    const maxBytes = options?.maxBytes ?? Infinity;
    if (limit * log.max_message_bytes <= maxBytes) {
      return (range({ ...shape, headers, sized: false }).all(log.seq, from, limit) as RawRow<T>[]).map(fromRaw);
    }
    const messages: Message<T>[] = [];
    let bytes = 0;
    for (const row of range({ ...shape, headers, sized: true }).iterate(log.seq, from, limit) as Iterable<unknown[]>) {
      bytes += row.pop() as number;
      if (messages.length > 0 && bytes > maxBytes) break;
      messages.push(fromRaw(row as RawRow<T>));
    }
    return messages;
  }

  const expunge = db.transaction((logId: string, offset: number): boolean => {
    const log = sizing.get(logId);
    if (!log) return false;
    shrinkByValue.run({ seq: log.seq, offset });
    return nilValue.run(log.seq, offset).changes === 1;
  });

  return {
    async append(requests, nowMicros) {
      const outcomes = appendAll.immediate(requests, nowMicros);
      await durable();
      for (const logId of grownLogs(requests, outcomes)) feed.emit({ kind: 'log_grown', logId });
      return outcomes;
    },
    async read(logId, from, limit, options) {
      return readRange<Buffer>({ as: 'bytes', backward: false }, logId, from, limit, options);
    },
    async readText(logId, from, limit, options) {
      return readRange<string>({ as: 'text', backward: false }, logId, from, limit, options);
    },
    async readBackward(logId, below, limit, options) {
      return readRange<string>({ as: 'text', backward: true }, logId, below, limit, options);
    },
    async claimedOffset(scope, key, since) {
      return heldKey.get(scope, key, since)?.msg_offset ?? undefined;
    },
    async describe(logId, offsets) {
      if (offsets.length === 0) return new Map();
      return new Map(described.all(logId, JSON.stringify(offsets)).map((row) => [row.msg_offset, describedMessage(row.headers, row.attributes)]));
    },
    async expungeValue(logId, offset) {
      const expunged = expunge.immediate(logId, offset);
      await durable();
      return expunged;
    },
    async getByKey(logId, key) {
      if (key === null) {
        const row = latestNilKey.get(logId);
        return row && fromRaw(row);
      }
      // Newest generation first: the first one holding the key holds its newest message.
      const span = keyedSpan.get(logId);
      if (!span || span.first === null || span.last === null) return undefined;
      for (let gen = keyGeneration(span.last); gen >= keyGeneration(span.first); gen--) {
        const row = latestByKeyIn.get({ seq: span.seq, gen, key });
        if (row) return fromRaw(row);
      }
      return undefined;
    },
  };
}
