import type { Database } from 'better-sqlite3';
import { firstOrderedIdAt } from '../../domain/ids.js';
import type { EventRecord } from '../../domain/types.js';
import { EVENT_COLUMNS, type EventRow, eventValues, toEventRecord } from '../rows.js';
import type { EventFilter, EventStore } from '../store.js';

const EVENT_PLACEHOLDERS = eventValues({ id: '' } as EventRecord, null, null)
  .map(() => '?')
  .join(', ');

/** Writes one events row, inside its caller's transaction (an append's, or a quarantine's). */
export function sqliteEventInsert(db: Database): (record: EventRecord, offset: number | null, queuedAt: number | null) => void {
  const insert = db.prepare(`INSERT INTO events (${EVENT_COLUMNS}, body) VALUES (${EVENT_PLACEHOLDERS})`);
  return (record, offset, queuedAt) => insert.run(...eventValues(record, offset, queuedAt));
}

/**
 * The WHERE clause and parameters of a filter. Times
 * are a range of ids, which sort by the millisecond they were received in
 * (newOrderedId): the primary key's index answers them alone.
 */
function where(filter: EventFilter, deletedLogs: string[]): { sql: string; params: Record<string, unknown> } {
  const conditions: string[] = [];
  const params: Record<string, unknown> = {};
  // A deleted log's records wait for the retention job: not one is read meanwhile. Most of the time none waits,
  // and leaving the condition out lets a count read the smallest index alone.
  if (deletedLogs.length > 0) {
    conditions.push('log_id NOT IN (SELECT value FROM json_each(@deletedLogs))');
    params.deletedLogs = JSON.stringify(deletedLogs);
  }
  if (filter.logIds) {
    conditions.push('log_id IN (SELECT value FROM json_each(@logIds))');
    params.logIds = JSON.stringify(filter.logIds);
  }
  if (filter.sourceId !== undefined) {
    conditions.push('source_id = @sourceId');
    params.sourceId = filter.sourceId;
  }
  if (filter.fromMs !== undefined) {
    conditions.push('id >= @fromId');
    params.fromId = firstOrderedIdAt('evt', filter.fromMs);
  }
  if (filter.toMs !== undefined) {
    conditions.push('id < @toId');
    params.toId = firstOrderedIdAt('evt', filter.toMs + 1);
  }
  if (filter.accepted !== undefined) conditions.push(filter.accepted ? 'reason IS NULL' : 'reason IS NOT NULL');
  return { sql: conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '', params };
}

/**
 * The rows matching a filter, newest first, as a query to page or count.
 * The window is chosen from the narrow columns alone: the bodies of refused
 * requests are read for the rows it keeps only.
 * A search looks in the newest `scan` rows only, and no further back than
 * `scanBytes` of payload, in SQL: an accepted event's payload is its
 * message's value, a refused one's its body.
 */
function matching(filter: EventFilter, deletedLogs: string[]): { sql: string; params: Record<string, unknown> } {
  const { sql, params } = where(filter, deletedLogs);
  if (!filter.search) return { sql: `SELECT ${EVENT_COLUMNS} FROM events ${sql}`, params };
  const columns = (table: string) =>
    EVENT_COLUMNS.split(', ')
      .map((column) => `${table}.${column}`)
      .join(', ');
  return {
    sql: `SELECT ${columns('w')}
          FROM (SELECT *, sum(size) OVER (ORDER BY id DESC ROWS UNBOUNDED PRECEDING) - size AS before
                FROM (SELECT ${EVENT_COLUMNS} FROM events ${sql} ORDER BY id DESC LIMIT @scan)) w
          JOIN events e ON e.id = w.id
          LEFT JOIN logs l ON l.id = w.log_id
          LEFT JOIN messages m ON m.log_seq = l.seq AND m.msg_offset = w.msg_offset
          WHERE w.before < @scanBytes AND instr(coalesce(m.value, e.body), @search) > 0`,
    params: { ...params, scan: filter.search.scan, scanBytes: filter.search.scanBytes, search: filter.search.bytes },
  };
}

export function sqliteEvents(db: Database, durable: () => Promise<void>): EventStore {
  const insert = sqliteEventInsert(db);
  const byId = db.prepare<[string], EventRow>(
    `SELECT ${EVENT_COLUMNS}, body FROM events WHERE id = ? AND log_id NOT IN (SELECT id FROM purges WHERE kind = 'events')`,
  );
  // The oldest refused requests of a source beyond the newest `keep`.
  const overflow = db.prepare<[{ sourceId: string; keep: number }]>(
    `DELETE FROM events WHERE reason IS NOT NULL AND source_id = @sourceId AND id <= (
       SELECT id FROM events WHERE reason IS NOT NULL AND source_id = @sourceId ORDER BY id DESC LIMIT 1 OFFSET @keep)`,
  );
  const purging = db.prepare<[], { id: string }>("SELECT id FROM purges WHERE kind = 'events'");
  const deletedLogs = () => purging.all().map((row) => row.id);
  const removeRecord = db.prepare<[string], EventRow>(`DELETE FROM events WHERE id = ? RETURNING ${EVENT_COLUMNS}`);
  const seqOf = db.prepare<[string], { seq: number }>('SELECT seq FROM logs WHERE id = ?');
  const removeMessage = db.prepare<[number, number], { size: number }>(
    'DELETE FROM messages WHERE log_seq = ? AND msg_offset = ? RETURNING ifnull(length(key), 0) + ifnull(length(value), 0) AS size',
  );
  const shrink = db.prepare('UPDATE logs SET size_bytes = size_bytes - ? WHERE seq = ?');
  const ofDestinations = (table: string) =>
    db.prepare<[string, number]>(`DELETE FROM ${table} WHERE webhook_id IN (SELECT id FROM egress_webhooks WHERE log_id = ?) AND msg_offset = ?`);
  const removeDeliveries = ['deliveries', 'delivery_attempts', 'retry_set'].map(ofDestinations);
  // One statement per combination of filters, a few dozen at most: lists of logs are JSON parameters.
  const queries = new Map<string, ReturnType<Database['prepare']>>();
  const prepared = (sql: string) => {
    let statement = queries.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      queries.set(sql, statement);
    }
    return statement;
  };

  const quarantine = db.transaction((record: EventRecord, keep: number) => {
    insert(record, null, null);
    overflow.run({ sourceId: record.sourceId, keep });
  });
  const remove = db.transaction((id: string): EventRecord | undefined => {
    const row = removeRecord.get(id);
    if (!row) return undefined;
    const log = row.msg_offset === null ? undefined : seqOf.get(row.log_id);
    if (log) {
      const removed = removeMessage.get(log.seq, row.msg_offset!);
      if (removed) shrink.run(removed.size, log.seq);
      for (const statement of removeDeliveries) statement.run(row.log_id, row.msg_offset!);
    }
    return toEventRecord(row);
  });

  return {
    async quarantine(record, keep) {
      quarantine.immediate(record, keep);
      await durable();
    },
    async get(id) {
      const row = byId.get(id);
      return row && toEventRecord(row);
    },
    async list(filter, skip, limit) {
      const { sql, params } = matching(filter, deletedLogs());
      const rows = prepared(`SELECT * FROM (${sql}) ORDER BY id DESC LIMIT @limit OFFSET @skip`).all({ ...params, limit, skip }) as EventRow[];
      return rows.map(toEventRecord);
    },
    async count(filter) {
      const { sql, params } = matching(filter, deletedLogs());
      return (prepared(`SELECT count(*) AS n FROM (${sql})`).get(params) as { n: number }).n;
    },
    async delete(id) {
      const deleted = remove.immediate(id);
      await durable();
      return deleted;
    },
  };
}
