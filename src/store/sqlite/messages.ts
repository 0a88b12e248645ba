import type { Database } from 'better-sqlite3';
import type { Message, MessageHeaders } from '../../domain/types.js';
import type { AppendOutcome, AppendRequest, MessageStore } from '../store.js';

interface MessageRow {
  msg_offset: number;
  time: number;
  key: Buffer | null;
  value: Buffer | null;
}

const toMessage = (row: MessageRow): Message => ({ offset: row.msg_offset, time: row.time, key: row.key, value: row.value });

/** Raw rows (arrays, not objects) read about 40 % faster for large ranges. */
type RawRow<T> = [offset: number, time: number, key: T | null, value: T | null, headers?: string | null];

function fromRaw<T extends Buffer | string>(row: RawRow<T>): Message<T> {
  const message: Message<T> = { offset: row[0], time: row[1], key: row[2], value: row[3] };
  if (row[4]) message.headers = JSON.parse(row[4]) as MessageHeaders;
  return message;
}

export function sqliteMessages(db: Database, durable: () => Promise<void>): MessageStore {
  const head = db.prepare<[string], { seq: number; next_offset: number }>('SELECT seq, next_offset FROM logs WHERE id = ?');
  const insert = db.prepare('INSERT INTO messages (log_seq, msg_offset, time, key, value, headers) VALUES (?, ?, ?, ?, ?, ?)');
  // A key is new if absent, or present but older than the window; then it is (re)stamped.
  const claimKey = db.prepare(
    `INSERT INTO idempotency_keys (scope, key, created_at) VALUES (@scope, @key, @now)
     ON CONFLICT (scope, key) DO UPDATE SET created_at = excluded.created_at WHERE created_at < @since`,
  );
  const advance = db.prepare('UPDATE logs SET next_offset = ?, size_bytes = size_bytes + ? WHERE seq = ?');
  const rangeOf = (columns: string) =>
    db
      .prepare(
        `SELECT msg_offset, time, ${columns} FROM messages
         WHERE log_seq = (SELECT seq FROM logs WHERE id = ?) AND msg_offset >= ?
         ORDER BY msg_offset LIMIT ?`,
      )
      .raw(true);
  // SQLite hands text straight to V8, which decodes UTF-8 as Buffer#toString would.
  const ranges = {
    bytes: rangeOf('key, value'),
    text: rangeOf('CAST(key AS TEXT), CAST(value AS TEXT)'),
    bytesWithHeaders: rangeOf('key, value, headers'),
    textWithHeaders: rangeOf('CAST(key AS TEXT), CAST(value AS TEXT), headers'),
  };
  const latestByKey = db.prepare<[string, Buffer], MessageRow>(
    `SELECT msg_offset, time, key, value FROM messages
     WHERE log_seq = (SELECT seq FROM logs WHERE id = ?) AND key = ?
     ORDER BY msg_offset DESC LIMIT 1`,
  );
  const latestNilKey = db.prepare<[string], MessageRow>(
    `SELECT msg_offset, time, key, value FROM messages
     WHERE log_seq = (SELECT seq FROM logs WHERE id = ?) AND key IS NULL
     ORDER BY msg_offset DESC LIMIT 1`,
  );

  // All requests of a group commit share this transaction; a missing log is an
  // outcome for that request alone. Each log's head is read and written once
  // per group, and requests for the same log get consecutive offsets in order.
  const appendAll = db.transaction((requests: AppendRequest[], nowMicros: number): AppendOutcome[] => {
    const heads = new Map<string, { seq: number; next: number; bytes: number } | null>();
    const outcomes = requests.map(({ logId, messages, idempotency }): AppendOutcome => {
      let log = heads.get(logId);
      if (log === undefined) {
        const row = head.get(logId);
        log = row ? { seq: row.seq, next: row.next_offset, bytes: 0 } : null;
        heads.set(logId, log);
      }
      if (log === null) return { logMissing: true };
      if (idempotency && claimKey.run(idempotency).changes === 0) return { duplicate: true };
      for (const message of messages) {
        const headers = message.headers ? JSON.stringify(message.headers) : null;
        insert.run(log.seq, log.next++, message.time ?? nowMicros, message.key, message.value, headers);
        log.bytes += (message.key?.length ?? 0) + (message.value?.length ?? 0);
      }
      return { nextOffset: log.next };
    });
    for (const log of heads.values()) if (log) advance.run(log.next, log.bytes, log.seq);
    return outcomes;
  });

  return {
    async append(requests, nowMicros) {
      const outcomes = appendAll.immediate(requests, nowMicros);
      await durable();
      return outcomes;
    },
    async read(logId, from, limit, options) {
      const statement = options?.headers ? ranges.bytesWithHeaders : ranges.bytes;
      return (statement.all(logId, from, limit) as RawRow<Buffer>[]).map(fromRaw);
    },
    async readText(logId, from, limit, options) {
      const statement = options?.headers ? ranges.textWithHeaders : ranges.text;
      return (statement.all(logId, from, limit) as RawRow<string>[]).map(fromRaw);
    },
    async getByKey(logId, key) {
      const row = key === null ? latestNilKey.get(logId) : latestByKey.get(logId, key);
      return row && toMessage(row);
    },
  };
}
