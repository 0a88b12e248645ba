import { firstOrderedIdAt } from '../../domain/ids.js';
import { EVENT_COLUMNS, type EventRow, eventValues, toEventRecord } from '../rows.js';
import type { EventFilter, EventStore } from '../store.js';
import type { Db } from './db.js';

/**
 * The WHERE clause of a filter, with its values from `$first` on. Times
 * are a range of ids, which sort by the millisecond they were received in
 * (newOrderedId): the primary key's index answers them alone.
 */
function where(filter: EventFilter, first: number, deletedLogs: string[]): { sql: string; values: unknown[] } {
  const conditions: string[] = [];
  const values: unknown[] = [];
  const param = (value: unknown) => {
    values.push(value);
    return `$${first + values.length - 1}`;
  };
  // A deleted log's records wait for the retention job: not one is read meanwhile. Most of the time none waits,
  // and leaving the condition out lets a count read an index alone.
  if (deletedLogs.length > 0) conditions.push(`NOT (log_id = ANY(${param(deletedLogs)}::text[]))`);
  if (filter.logIds) conditions.push(`log_id = ANY(${param(filter.logIds)}::text[])`);
  if (filter.sourceId !== undefined) conditions.push(`source_id = ${param(filter.sourceId)}`);
  if (filter.fromMs !== undefined) conditions.push(`id >= ${param(firstOrderedIdAt('evt', filter.fromMs))}`);
  if (filter.toMs !== undefined) conditions.push(`id < ${param(firstOrderedIdAt('evt', filter.toMs + 1))}`);
  if (filter.accepted !== undefined) conditions.push(filter.accepted ? 'reason IS NULL' : 'reason IS NOT NULL');
  return { sql: conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '', values };
}

/**
 * The rows matching a filter as a query to page or count. The window is
 * chosen from the narrow columns alone: the bodies of refused requests are
 * read for the rows it keeps only. A search looks in
 * the newest `scan` rows only, and no further back than `scanBytes` of
 * payload: an accepted event's payload is its message's value, a refused
 * one's its body.
 */
function matching(filter: EventFilter, deletedLogs: string[]): { sql: string; values: unknown[] } {
  if (!filter.search) {
    const { sql, values } = where(filter, 1, deletedLogs);
    return { sql: `SELECT ${EVENT_COLUMNS} FROM events ${sql}`, values };
  }
  const { sql, values } = where(filter, 4, deletedLogs);
  const columns = EVENT_COLUMNS.split(', ')
    .map((column) => `w.${column}`)
    .join(', ');
  return {
    sql: `SELECT ${columns}
          FROM (SELECT *, sum(size) OVER (ORDER BY id DESC ROWS UNBOUNDED PRECEDING) - size AS before
                FROM (SELECT ${EVENT_COLUMNS} FROM events ${sql} ORDER BY id DESC LIMIT $1) newest) w
          JOIN events e ON e.id = w.id
          LEFT JOIN logs l ON l.id = w.log_id
          LEFT JOIN messages m ON m.log_seq = l.seq AND m.msg_offset = w.msg_offset
          WHERE w.before < $3 AND position($2::bytea IN coalesce(m.value, e.body)) > 0`,
    values: [filter.search.scan, filter.search.bytes, filter.search.scanBytes, ...values],
  };
}

export function postgresEvents(db: Db): EventStore {
  const deletedLogs = async () =>
    (await db.rows<{ id: string }>({ name: 'events-deleted-logs', text: "SELECT id FROM purges WHERE kind = 'events'" })).map((row) => row.id);
  return {
    quarantine: (record, keep) =>
      db.tx(async (q) => {
        // One quarantine write per source at a time: concurrent ones would each miss the others' rows when trimming to `keep`.
        await q.query({ name: 'events-quarantine-lock', text: "SELECT pg_advisory_xact_lock(hashtext('quarantine ' || $1))", values: [record.sourceId] });
        const values = eventValues(record, null, null);
        await q.query({
          name: 'events-quarantine',
          text: `INSERT INTO events (${EVENT_COLUMNS}, body) VALUES (${values.map((_, i) => `$${i + 1}`).join(', ')})`,
          values,
        });
        // The oldest refused requests of the source beyond the newest `keep`.
        await q.query({
          name: 'events-quarantine-overflow',
          text: `DELETE FROM events WHERE reason IS NOT NULL AND source_id = $1 AND id <= (
                   SELECT id FROM events WHERE reason IS NOT NULL AND source_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)`,
          values: [record.sourceId, keep],
        });
      }),
    async get(id) {
      const [row] = await db.rows<EventRow>({
        name: 'events-get',
        text: `SELECT ${EVENT_COLUMNS}, body FROM events WHERE id = $1 AND log_id NOT IN (SELECT id FROM purges WHERE kind = 'events')`,
        values: [id],
      });
      return row && toEventRecord(row);
    },
    async list(filter, skip, limit) {
      const { sql, values } = matching(filter, await deletedLogs());
      const n = values.length;
      const rows = await db.rows<EventRow>({
        text: `SELECT * FROM (${sql}) matched ORDER BY id DESC LIMIT $${n + 1} OFFSET $${n + 2}`,
        values: [...values, limit, skip],
      });
      return rows.map(toEventRecord);
    },
    async count(filter) {
      const { sql, values } = matching(filter, await deletedLogs());
      const [row] = await db.rows<{ n: number }>({ text: `SELECT count(*)::bigint AS n FROM (${sql}) matched`, values });
      return row!.n;
    },
    delete: (id) =>
      db.tx(async (q) => {
        const [row] = (await q.query<EventRow>({ text: `DELETE FROM events WHERE id = $1 RETURNING ${EVENT_COLUMNS}`, values: [id] })).rows;
        if (!row) return undefined;
        if (row.msg_offset !== null) {
          // The log's row first, as retention and appends lock it before its messages: size_bytes stays true, and none deadlock.
          const [log] = (await q.query<{ seq: number }>({ text: 'SELECT seq FROM logs WHERE id = $1 FOR UPDATE', values: [row.log_id] })).rows;
          if (log) {
            await q.query({
              text: `WITH gone AS (DELETE FROM messages WHERE log_seq = $1 AND msg_offset = $2
                                   RETURNING coalesce(octet_length(key), 0) + coalesce(octet_length(value), 0) AS bytes)
                     UPDATE logs SET size_bytes = size_bytes - (SELECT coalesce(sum(bytes), 0) FROM gone) WHERE seq = $1`,
              values: [log.seq, row.msg_offset],
            });
            for (const table of ['deliveries', 'delivery_attempts', 'retry_set']) {
              await q.query({
                text: `DELETE FROM ${table} WHERE webhook_id IN (SELECT id FROM egress_webhooks WHERE log_id = $1) AND msg_offset = $2`,
                values: [row.log_id, row.msg_offset],
              });
            }
          }
        }
        return toEventRecord(row);
      }),
  };
}
