import type { Database, Statement } from 'better-sqlite3';
import { firstOrderedIdAt } from '../../domain/ids.js';
import { type LogRow, toLog } from '../rows.js';
import type { RetentionStore } from '../store.js';
import type { SqliteDeletion } from './deletion.js';
import { keyGeneration } from './messages.js';

interface Bounded {
  seq: number;
  before: number;
  limit: number;
}

/**
 * Index probes a compaction statement may make: a message whose key is never
 * written again costs one per newer generation, so a window spans fewer
 * offsets the more generations a log has (tens of milliseconds each).
 */
const COMPACTION_PROBES = 65_536;
/** How long one call compacts before it hands back, keeping its place: the retention job (and shutdown) wait no longer. */
const COMPACTION_CALL_MS = 2_000;

/** The bytes trim_bytes counts: key and value. */
const STORED_BYTES = 'ifnull(length(key), 0) + ifnull(length(value), 0)';

/**
 * Each step deletes a bounded number of messages in its own transaction and
 * keeps logs.size_bytes true by subtracting what it deleted (RETURNING).
 * better-sqlite3 runs on the event loop, so small steps keep request latency low.
 */
export function sqliteRetention(db: Database, deletion: SqliteDeletion): RetentionStore {
  const seqOf = db.prepare<[string], { seq: number; size_bytes: number }>('SELECT seq, size_bytes FROM logs WHERE id = ?');
  const shrink = db.prepare('UPDATE logs SET size_bytes = size_bytes - ? WHERE seq = ?');
  const withRetention = db.prepare<[], LogRow>(
    `SELECT * FROM logs
     WHERE compacting = 1 OR trim_bytes > 0 OR trim_seconds > 0 OR expire_seconds > 0
     ORDER BY seq`,
  );

  // Trimming by age removes the prefix of the log before its first young
  // message, then the old messages after it. Those are all late (times rise
  // for the others), and found through their own index: a trim never scans
  // the young part of the log.
  const firstYoung = db.prepare<[number, number], { msg_offset: number }>(
    'SELECT msg_offset FROM messages WHERE log_seq = ? AND time >= ? ORDER BY msg_offset LIMIT 1',
  );
  const deletePrefix = db.prepare<[{ seq: number; end: number; limit: number }], { size: number }>(
    `DELETE FROM messages WHERE log_seq = @seq AND msg_offset IN (
       SELECT msg_offset FROM messages WHERE log_seq = @seq AND msg_offset < @end ORDER BY msg_offset LIMIT @limit)
     RETURNING ${STORED_BYTES} AS size`,
  );
  const deleteOldLate = db.prepare<[Bounded], { size: number }>(
    `DELETE FROM messages WHERE id IN (
       SELECT id FROM messages WHERE log_seq = @seq AND late = 1 AND time < @before LIMIT @limit)
     RETURNING ${STORED_BYTES} AS size`,
  );
  const oldest = db.prepare<[number, number], { msg_offset: number; size: number }>(
    `SELECT msg_offset, ${STORED_BYTES} AS size FROM messages WHERE log_seq = ? ORDER BY msg_offset LIMIT ?`,
  );
  // A keyed message is overwritten once a later one has its key. The key index
  // is filed by generation (migration 013), so the later one is looked for in
  // the message's own generation and each newer one (@gens lists them all).
  const overwritten = db.prepare<[Bounded & { from: number; to: number; gens: string }], { size: number }>(
    `DELETE FROM messages WHERE log_seq = @seq AND msg_offset IN (
       SELECT m.msg_offset FROM messages m
       WHERE m.log_seq = @seq AND m.msg_offset >= @from AND m.msg_offset < @to AND m.key IS NOT NULL AND m.time < @before
         AND EXISTS (
           SELECT 1 FROM messages n
           WHERE n.log_seq = @seq AND n.key = m.key AND n.msg_offset > m.msg_offset
             AND n.msg_offset >> 16 IN (SELECT value FROM json_each(@gens) WHERE value >= m.msg_offset >> 16))
       LIMIT @limit)
     RETURNING ${STORED_BYTES} AS size`,
  );
  const span = db.prepare<[number], { first: number | null; next: number }>(
    'SELECT (SELECT min(msg_offset) FROM messages WHERE log_seq = logs.seq) AS first, next_offset AS next FROM logs WHERE seq = ?',
  );
  /** Where each log's compaction goes on from: a pass walks the log in windows, and the next one starts over. */
  const compacted = new Map<string, number>();
  const expired = db.prepare<[Bounded], { size: number }>(
    `DELETE FROM messages WHERE log_seq = @seq AND msg_offset IN (
       SELECT msg_offset FROM messages
       WHERE log_seq = @seq AND key IS NOT NULL AND value IS NULL AND time < @before
       LIMIT @limit)
     RETURNING ${STORED_BYTES} AS size`,
  );
  const oldKeys = db.prepare<[{ before: number; limit: number }]>(
    `DELETE FROM idempotency_keys WHERE (scope, key) IN (
       SELECT scope, key FROM idempotency_keys WHERE created_at < @before LIMIT @limit)`,
  );

  // Old attempts, settled deliveries and ended tasks, each bounded by @limit rows.
  const deliveryHistory = [
    db.prepare('DELETE FROM delivery_attempts WHERE id IN (SELECT id FROM delivery_attempts WHERE time < @before LIMIT @limit)'),
    db.prepare(
      `DELETE FROM deliveries WHERE (webhook_id, msg_offset) IN (
         SELECT webhook_id, msg_offset FROM deliveries WHERE updated_at < @before AND status <> 'pending' LIMIT @limit)`,
    ),
    db.prepare("DELETE FROM delivery_tasks WHERE id IN (SELECT id FROM delivery_tasks WHERE updated_at < @before AND status <> 'running' LIMIT @limit)"),
  ];

  // Records of accepted requests go with the attempt history; refused ones sooner, by their own index.
  const oldEvents = [
    db.prepare(
      `DELETE FROM events WHERE id IN (
         SELECT id FROM events WHERE id < @acceptedBefore AND reason IS NULL LIMIT @limit)`,
    ),
    db.prepare(
      `DELETE FROM events WHERE id IN (
         SELECT id FROM events WHERE id < @refusedBefore AND reason IS NOT NULL LIMIT @limit)`,
    ),
  ];

  /** Runs a RETURNING delete for one log and keeps its size_bytes in step. */
  const deleteAndShrink = <P extends object>(logId: string, statement: Statement<[P], { size: number }>, params: (seq: number) => P): number =>
    db
      .transaction(() => {
        const log = seqOf.get(logId);
        if (!log) return 0;
        const rows = statement.all(params(log.seq));
        const freed = rows.reduce((sum, row) => sum + row.size, 0);
        if (rows.length > 0) shrink.run(freed, log.seq);
        return rows.length;
      })
      .immediate();

  return {
    async logsWithRetention() {
      return withRetention.all().map(toLog);
    },
    async trimByAge(logId, beforeMicros, limit) {
      const prefix = deleteAndShrink(logId, deletePrefix, (seq) => {
        const young = firstYoung.get(seq, beforeMicros);
        return { seq, end: young ? young.msg_offset : Number.MAX_SAFE_INTEGER, limit };
      });
      if (prefix >= limit) return prefix;
      return prefix + deleteAndShrink(logId, deleteOldLate, (seq) => ({ seq, before: beforeMicros, limit: limit - prefix }));
    },
    async trimBySize(logId, maxBytes, limit) {
      return deleteAndShrink(logId, deletePrefix, (seq) => {
        let excess = seqOf.get(logId)!.size_bytes - maxBytes;
        let end = 0;
        for (const row of excess > 0 ? oldest.all(seq, limit) : []) {
          if (excess <= 0) break;
          excess -= row.size;
          end = row.msg_offset + 1;
        }
        return { seq, end, limit };
      });
    },
    async compact(logId, beforeMicros, limit) {
      // Each window of offsets is one statement, so a log whose keys are
      // rarely overwritten (every lookup finds nothing, in every generation)
      // holds the writer for one window at a time, not for the whole log;
      // a long log takes several calls, each going on where the last stopped.
      let deleted = 0;
      const until = Date.now() + COMPACTION_CALL_MS;
      while (deleted < limit && Date.now() < until) {
        const log = seqOf.get(logId);
        const at = log && span.get(log.seq);
        const from = at && at.first !== null ? Math.max(compacted.get(logId) ?? 0, at.first) : Infinity;
        // The end of the log (or of a log now gone or empty): the next pass starts over.
        if (!at || from >= at.next) {
          compacted.delete(logId);
          return deleted;
        }
        const generations = keyGeneration(at.next - 1) - keyGeneration(from) + 1;
        const to = from + Math.max(16, Math.floor(COMPACTION_PROBES / generations));
        const gens = JSON.stringify(Array.from({ length: generations }, (_, i) => keyGeneration(from) + i));
        deleted += deleteAndShrink(logId, overwritten, (seq) => ({ seq, before: beforeMicros, limit: limit - deleted, from, to, gens }));
        // A window cut short by the limit is looked at again.
        if (deleted < limit) compacted.set(logId, to);
        await new Promise((resolve) => setImmediate(resolve));
      }
      return deleted;
    },
    async expire(logId, beforeMicros, limit) {
      return deleteAndShrink(logId, expired, (seq) => ({ seq, before: beforeMicros, limit }));
    },
    async purgeDeleted(limit) {
      return db.transaction(() => deletion.purgeStep(limit)).immediate();
    },
    async purgeIdempotencyKeys(before, limit) {
      return oldKeys.run({ before, limit }).changes;
    },
    async purgeEvents(acceptedBefore, refusedBefore, limit) {
      // Ids sort by the millisecond they were received in: a range of the primary key.
      const params = { acceptedBefore: firstOrderedIdAt('evt', acceptedBefore), refusedBefore: firstOrderedIdAt('evt', refusedBefore) };
      let deleted = 0;
      for (const statement of oldEvents) {
        if (deleted >= limit) break;
        deleted += statement.run({ ...params, limit: limit - deleted }).changes;
      }
      return deleted;
    },
    async purgeDeliveryHistory(before, limit) {
      let deleted = 0;
      for (const statement of deliveryHistory) {
        if (deleted >= limit) break;
        deleted += statement.run({ before, limit: limit - deleted }).changes;
      }
      return deleted;
    },
  };
}
