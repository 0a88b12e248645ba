import type { Database } from 'better-sqlite3';
import type { Message } from '../../domain/types.js';
import type { AppendOutcome, AppendRequest, MessageStore } from '../store.js';

interface MessageRow {
  msg_offset: number;
  time: number;
  key: Buffer | null;
  value: Buffer | null;
}

const toMessage = (row: MessageRow): Message => ({ offset: row.msg_offset, time: row.time, key: row.key, value: row.value });

export function sqliteMessages(db: Database): MessageStore {
  const head = db.prepare<[string], { seq: number; next_offset: number }>('SELECT seq, next_offset FROM logs WHERE id = ?');
  const insert = db.prepare('INSERT INTO messages (log_seq, msg_offset, time, key, value) VALUES (?, ?, ?, ?, ?)');
  const advance = db.prepare('UPDATE logs SET next_offset = ?, size_bytes = size_bytes + ? WHERE seq = ?');
  const range = db.prepare<[string, number, number], MessageRow>(
    `SELECT msg_offset, time, key, value FROM messages
     WHERE log_seq = (SELECT seq FROM logs WHERE id = ?) AND msg_offset >= ?
     ORDER BY msg_offset LIMIT ?`,
  );
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
  // outcome for that request alone. Reading the head inside the transaction
  // means two requests for the same log in one group get consecutive offsets.
  const appendAll = db.transaction((requests: AppendRequest[], nowMicros: number): AppendOutcome[] =>
    requests.map(({ logId, messages }) => {
      const log = head.get(logId);
      if (!log) return { logMissing: true };
      let offset = log.next_offset;
      let bytes = 0;
      for (const message of messages) {
        insert.run(log.seq, offset++, message.time ?? nowMicros, message.key, message.value);
        bytes += (message.key?.length ?? 0) + (message.value?.length ?? 0);
      }
      if (messages.length > 0) advance.run(offset, bytes, log.seq);
      return { nextOffset: offset };
    }),
  );

  return {
    async append(requests, nowMicros) {
      return appendAll.immediate(requests, nowMicros);
    },
    async read(logId, from, limit) {
      return range.all(logId, from, limit).map(toMessage);
    },
    async getByKey(logId, key) {
      const row = key === null ? latestNilKey.get(logId) : latestByKey.get(logId, key);
      return row && toMessage(row);
    },
  };
}
