import { firstOrderedIdAt } from '../../domain/ids.js';
import { type LogRow, toLog } from '../rows.js';
import type { RetentionStore } from '../store.js';
import { LOG_COLUMNS } from './columns.js';
import type { Db, Queryable } from './db.js';
import { postgresDeletion } from './deletion.js';

/** The bytes trim_bytes counts: key and value. */
const STORED_BYTES = 'coalesce(length(key), 0) + coalesce(length(value), 0)';

/**
 * Each step deletes a bounded number of messages in its own transaction,
 * under the log's row lock, and keeps logs.size_bytes true by subtracting
 * what it deleted (RETURNING).
 */
export function postgresRetention(db: Db): RetentionStore {
  /** Locks the log, runs a RETURNING delete built for its seq, and shrinks the log's size by what it freed. */
  const deleteAndShrink = (logId: string, remove: (q: Queryable, log: { seq: number; size_bytes: number }) => Promise<Array<{ size: number }>>) =>
    db.tx(async (q) => {
      // A step is bounded in rows, not in time: a compaction step on a large log of
      // keys seldom written again probes every newer generation per message (about
      // 13 s at 1 M unique keys), and cutting it would leave the log never compacted.
      await q.query({ text: 'SET LOCAL statement_timeout = 0' });
      const [log] = (await q.query<{ seq: number; size_bytes: number }>({ text: 'SELECT seq, size_bytes FROM logs WHERE id = $1 FOR UPDATE', values: [logId] }))
        .rows;
      if (!log) return 0;
      const rows = await remove(q, log);
      const freed = rows.reduce((sum, row) => sum + row.size, 0);
      if (rows.length > 0) await q.query({ text: 'UPDATE logs SET size_bytes = size_bytes - $1 WHERE seq = $2', values: [freed, log.seq] });
      return rows.length;
    });

  const deleteWhere = async (q: Queryable, seq: number, where: string, values: unknown[], limit: number) =>
    (
      await q.query<{ size: number }>({
        text: `DELETE FROM messages WHERE log_seq = $1 AND msg_offset IN (
                 SELECT msg_offset FROM messages m WHERE m.log_seq = $1 AND ${where} ORDER BY msg_offset LIMIT $2)
               RETURNING ${STORED_BYTES} AS size`,
        values: [seq, limit, ...values],
      })
    ).rows;

  return {
    async logsWithRetention() {
      const rows = await db.rows<LogRow>({
        text: `SELECT ${LOG_COLUMNS} FROM logs
               WHERE compacting OR trim_bytes > 0 OR trim_seconds > 0 OR expire_seconds > 0 ORDER BY seq`,
      });
      return rows.map(toLog);
    },
    // Trimming by age removes the prefix of the log before its first young
    // message, then the old messages after it: those are all late (times rise
    // for the others), and found through their own index.
    trimByAge: (logId, beforeMicros, limit) =>
      deleteAndShrink(logId, async (q, log) => {
        const [young] = (
          await q.query<{ msg_offset: number }>({
            text: 'SELECT msg_offset FROM messages WHERE log_seq = $1 AND time >= $2 ORDER BY msg_offset LIMIT 1',
            values: [log.seq, beforeMicros],
          })
        ).rows;
        const prefix = await deleteWhere(q, log.seq, 'msg_offset < $3', [young ? young.msg_offset : Number.MAX_SAFE_INTEGER], limit);
        if (prefix.length >= limit) return prefix;
        // No ORDER BY: the index of late messages by time finds them without scanning the log.
        const late = await q.query<{ size: number }>({
          text: `DELETE FROM messages WHERE log_seq = $1 AND msg_offset IN (
                   SELECT msg_offset FROM messages WHERE log_seq = $1 AND late AND time < $3 LIMIT $2)
                 RETURNING ${STORED_BYTES} AS size`,
          values: [log.seq, limit - prefix.length, beforeMicros],
        });
        return [...prefix, ...late.rows];
      }),
    trimBySize: (logId, maxBytes, limit) =>
      deleteAndShrink(logId, async (q, log) => {
        let excess = log.size_bytes - maxBytes;
        if (excess <= 0) return [];
        const oldest = await q.query<{ msg_offset: number; size: number }>({
          text: `SELECT msg_offset, ${STORED_BYTES} AS size FROM messages WHERE log_seq = $1 ORDER BY msg_offset LIMIT $2`,
          values: [log.seq, limit],
        });
        let end = 0;
        for (const row of oldest.rows) {
          if (excess <= 0) break;
          excess -= row.size;
          end = row.msg_offset + 1;
        }
        return deleteWhere(q, log.seq, 'msg_offset < $3', [end], limit);
      }),
    compact: (logId, beforeMicros, limit) =>
      deleteAndShrink(logId, (q, log) =>
        deleteWhere(
          q,
          log.seq,
          // The key index is filed by generation (migration 010): a later message
          // with the key is looked for in this one's generation and each newer one.
          // The LIMIT keeps the lookup a probe per generation: as a semi-join the
          // planner may drop the generation from the index condition and scan.
          `m.key IS NOT NULL AND m.time < $3
           AND EXISTS (
             SELECT 1 FROM generate_series(m.msg_offset >> 16, (SELECT (next_offset - 1) >> 16 FROM logs WHERE seq = $1)) AS g,
               LATERAL (SELECT 1 FROM messages n WHERE n.log_seq = $1 AND (n.msg_offset >> 16) = g AND n.key = m.key AND n.msg_offset > m.msg_offset LIMIT 1) later)`,
          [beforeMicros],
          limit,
        ),
      ),
    expire: (logId, beforeMicros, limit) =>
      deleteAndShrink(logId, (q, log) => deleteWhere(q, log.seq, 'key IS NOT NULL AND value IS NULL AND time < $3', [beforeMicros], limit)),
    purgeDeleted: (limit) => postgresDeletion.purgeStep(db, limit),
    async purgeIdempotencyKeys(before, limit) {
      const result = await db.query({
        text: `DELETE FROM idempotency_keys WHERE (scope, key) IN (
                 SELECT scope, key FROM idempotency_keys WHERE created_at < $1 LIMIT $2)`,
        values: [before, limit],
      });
      return result.rowCount ?? 0;
    },
    async purgeEvents(acceptedBefore, refusedBefore, limit) {
      let deleted = 0;
      // Ids sort by the millisecond they were received in: a range of the primary key.
      for (const [accepted, before] of [
        [true, acceptedBefore],
        [false, refusedBefore],
      ] as const) {
        if (deleted >= limit) break;
        const { rowCount } = await db.query({
          text: `DELETE FROM events WHERE id IN (
                   SELECT id FROM events WHERE id < $1 AND reason IS ${accepted ? '' : 'NOT '}NULL LIMIT $2)`,
          values: [firstOrderedIdAt('evt', before), limit - deleted],
        });
        deleted += rowCount ?? 0;
      }
      return deleted;
    },
    async purgeDeliveryHistory(before, limit) {
      let deleted = 0;
      for (const text of PURGE_DELIVERY_HISTORY) {
        if (deleted >= limit) break;
        deleted += (await db.query({ text, values: [before, limit - deleted] })).rowCount ?? 0;
      }
      return deleted;
    },
  };
}

/** Old attempts, settled deliveries and ended tasks, each bounded by $2 rows. */
const PURGE_DELIVERY_HISTORY = [
  'DELETE FROM delivery_attempts WHERE id IN (SELECT id FROM delivery_attempts WHERE time < $1 LIMIT $2)',
  `DELETE FROM deliveries WHERE (webhook_id, msg_offset) IN (
     SELECT webhook_id, msg_offset FROM deliveries WHERE updated_at < $1 AND status <> 'pending' LIMIT $2)`,
  "DELETE FROM delivery_tasks WHERE id IN (SELECT id FROM delivery_tasks WHERE updated_at < $1 AND status <> 'running' LIMIT $2)",
];
