import type pg from 'pg';
import type { Message, MessageAttributes, MessageHeaders } from '../../domain/types.js';
import { attributesJson, messageBytes } from '../rows.js';
import type { AppendOutcome, AppendRequest, MessageStore, ReadOptions } from '../store.js';
import { BinaryRows } from './copy.js';
import type { Db } from './db.js';
import type { Changes } from './watch.js';

/** Attributes are always read: NULL for most messages, so they cost nothing. */
type Row = [offset: number, time: number, key: Buffer | null, value: Buffer | null, attributes: string | null, headers?: string | null];

function toMessage(row: Row): Message {
  const message: Message = { offset: row[0], time: row[1], key: row[2], value: row[3] };
  if (row[4] !== null) message.attributes = JSON.parse(row[4]) as MessageAttributes;
  if (row[5]) message.headers = JSON.parse(row[5]) as MessageHeaders;
  return message;
}

/** A message's bytes as reads count them against their limit: key, value, headers and attributes (see messageBytes). */
const READ_BYTES =
  'coalesce(octet_length(key), 0) + coalesce(octet_length(value), 0) + coalesce(octet_length(headers), 0) + coalesce(octet_length(attributes), 0)';

const text = (bytes: Buffer | null) => (bytes === null ? null : bytes.toString('utf8'));

interface Head {
  seq: number;
  next: number;
  bytes: number;
  maxTime: number;
  /** The largest message appended in this transaction. */
  maxBytes: number;
}

/**
 * Messages. An append is one transaction for a whole group of publish
 * requests: it locks the rows of the logs it appends to (in seq order, so two
 * groups never deadlock), which is what makes each log's offsets gap-free and
 * strictly increasing when several nodes publish at once. All rows go in with
 * one binary COPY.
 */
export function postgresMessages(db: Db, changes: Changes): MessageStore {
  async function appendAll(q: pg.PoolClient, onCommit: (after: () => void) => void, requests: AppendRequest[], nowMicros: number): Promise<AppendOutcome[]> {
    const ids = [...new Set(requests.map((r) => r.logId))];
    const locked = await q.query<{ id: string; seq: number; next_offset: number; max_time: number }>({
      name: 'append-lock',
      text: 'SELECT id, seq, next_offset, max_time FROM logs WHERE id = ANY($1::text[]) ORDER BY seq FOR UPDATE',
      values: [ids],
    });
    const heads = new Map<string, Head>(
      locked.rows.map((row) => [row.id, { seq: row.seq, next: row.next_offset, bytes: 0, maxTime: row.max_time, maxBytes: 0 }]),
    );
    const rows = new BinaryRows();
    const outcomes: AppendOutcome[] = [];
    const grownIds = new Set<string>();
    for (const { logId, messages, idempotency } of requests) {
      const log = heads.get(logId);
      if (!log) {
        outcomes.push({ logMissing: true });
        continue;
      }
      if (idempotency) {
        // A key is new if absent, or present but older than the window; then it is (re)stamped.
        const claimed = await q.query({
          name: 'append-claim-key',
          text: `INSERT INTO idempotency_keys (scope, key, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (scope, key) DO UPDATE SET created_at = excluded.created_at WHERE idempotency_keys.created_at < $4`,
          values: [idempotency.scope, idempotency.key, idempotency.now, idempotency.since],
        });
        if (claimed.rowCount === 0) {
          outcomes.push({ duplicate: true });
          continue;
        }
      }
      for (const message of messages) {
        const headers = message.headers ? JSON.stringify(message.headers) : null;
        const attributes = message.attributes ? attributesJson(message.attributes) : null;
        const time = message.time ?? nowMicros;
        rows.add([log.seq, log.next++, time, message.key, message.value, headers, attributes, time < log.maxTime ? true : null]);
        log.bytes += (message.key?.length ?? 0) + (message.value?.length ?? 0);
        log.maxBytes = Math.max(log.maxBytes, messageBytes(message.key, message.value, headers, attributes));
        log.maxTime = Math.max(log.maxTime, time);
        grownIds.add(logId);
      }
      outcomes.push({ nextOffset: log.next });
    }
    if (grownIds.size === 0) return outcomes;
    await rows.copyInto(q, 'messages', ['log_seq', 'msg_offset', 'time', 'key', 'value', 'headers', 'attributes', 'late']);
    const grown = [...grownIds].map((id) => [id, heads.get(id)!] as const);
    await q.query({
      name: 'append-advance',
      text: `UPDATE logs SET next_offset = v.next, size_bytes = size_bytes + v.bytes, max_time = v.max_time,
               max_message_bytes = greatest(max_message_bytes, v.max_bytes)
             FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[]) AS v(seq, next, bytes, max_time, max_bytes)
             WHERE logs.seq = v.seq`,
      values: [
        grown.map(([, h]) => h.seq),
        grown.map(([, h]) => h.next),
        grown.map(([, h]) => h.bytes),
        grown.map(([, h]) => h.maxTime),
        grown.map(([, h]) => h.maxBytes),
      ],
    });
    await changes.announce(
      q,
      onCommit,
      'log_grown',
      grown.map(([id]) => id),
    );
    return outcomes;
  }

  // A page is read in one of two ways, chosen once per query by the log's
  // largest message (each branch's condition runs once; the other branch is
  // never executed). When a full page of the largest message fits the byte
  // limit ($4, NULL for none), rows are read as they are. Otherwise the
  // running total of each row's size stops the page at the limit, the first
  // row always included; rows past it are filtered before they are sent, so
  // their large values are never read out of TOAST storage.
  const range = (withHeaders: boolean) => {
    const columns = `msg_offset, time, key, value, attributes${withHeaders ? ', headers' : ''}`;
    const fits = '(SELECT $4::bigint IS NULL OR $3 * max_message_bytes <= $4 FROM logs WHERE id = $1)';
    const rows = 'FROM messages WHERE log_seq = (SELECT seq FROM logs WHERE id = $1) AND msg_offset >= $2';
    return `SELECT ${columns} FROM (
              (SELECT ${columns} ${rows} AND ${fits} ORDER BY msg_offset LIMIT $3)
              UNION ALL
              (SELECT ${columns} FROM (
                 SELECT ${columns}, row_number() OVER w AS n, sum(${READ_BYTES}) OVER w AS running ${rows} AND NOT ${fits}
                 WINDOW w AS (ORDER BY msg_offset ROWS UNBOUNDED PRECEDING)
                 ORDER BY msg_offset LIMIT $3) counted
               WHERE n = 1 OR running <= $4)) page
            ORDER BY msg_offset`;
  };

  async function read(logId: string, from: number, limit: number, options?: ReadOptions): Promise<Message[]> {
    const withHeaders = options?.headers === true;
    const values = [logId, from, limit, options?.maxBytes ?? null];
    const rows = await db.arrays<Row>({ name: withHeaders ? 'read-headers' : 'read', text: range(withHeaders), values });
    return rows.map(toMessage);
  }

  const latest = (nil: boolean) =>
    `SELECT msg_offset, time, key, value, attributes FROM messages
     WHERE log_seq = (SELECT seq FROM logs WHERE id = $1) AND ${nil ? 'key IS NULL' : 'key = $2'}
     ORDER BY msg_offset DESC LIMIT 1`;

  return {
    async append(requests, nowMicros) {
      return db.tx((q, onCommit) => appendAll(q, onCommit, requests, nowMicros));
    },
    read,
    async readText(logId, from, limit, options) {
      // PostgreSQL refuses to convert invalid UTF-8, so decoding happens here, as Buffer#toString does.
      return (await read(logId, from, limit, options)).map((m) => ({ ...m, key: text(m.key), value: text(m.value) }));
    },
    async getByKey(logId, key) {
      const [row] = await db.arrays<Row>({ text: latest(key === null), values: key === null ? [logId] : [logId, key] });
      return row && toMessage(row);
    },
  };
}
