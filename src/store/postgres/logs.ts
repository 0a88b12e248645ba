import { type LogRow, toLog } from '../rows.js';
import type { LogStore } from '../store.js';
import type { Db } from './db.js';
import type { Changes } from './watch.js';

export const LOG_COLUMNS = 'seq, id, metadata, compacting, trim_bytes, trim_seconds, compact_seconds, expire_seconds, next_offset';

export function postgresLogs(db: Db, changes: Changes): LogStore {
  return {
    async create(log) {
      const [row] = await db.rows<LogRow>({
        text: `INSERT INTO logs (id, metadata, compacting, trim_bytes, trim_seconds, compact_seconds, expire_seconds)
               VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${LOG_COLUMNS}`,
        values: [log.id, log.metadata, log.compacting, log.trimBytes, log.trimSeconds, log.compactSeconds, log.expireSeconds],
      });
      return toLog(row!);
    },
    async get(id) {
      const [row] = await db.rows<LogRow>({ name: 'log-get', text: `SELECT ${LOG_COLUMNS} FROM logs WHERE id = $1`, values: [id] });
      return row && toLog(row);
    },
    async list({ metadata }) {
      const rows = await db.rows<LogRow>({
        text: `SELECT ${LOG_COLUMNS} FROM logs WHERE $1::text IS NULL OR metadata = $1 ORDER BY seq`,
        values: [metadata ?? null],
      });
      return rows.map(toLog);
    },
    // Webhooks cannot outlive their log, whose offsets never come back. The
    // messages are left to the retention job, which purges them in steps.
    delete: (id) =>
      db.tx(async (q) => {
        const [row] = (await q.query<LogRow>({ text: `DELETE FROM logs WHERE id = $1 RETURNING ${LOG_COLUMNS}`, values: [id] })).rows;
        if (!row) return undefined;
        await q.query({ text: 'INSERT INTO deleted_logs (seq) VALUES ($1)', values: [row.seq] });
        await q.query({ text: 'DELETE FROM offsets WHERE log_id = $1', values: [id] });
        const egress = `SELECT id FROM egress_webhooks WHERE log_id = $1`;
        for (const table of ['egress_secrets', 'retry_set', 'delivery_attempts']) {
          await q.query({ text: `DELETE FROM ${table} WHERE webhook_id IN (${egress})`, values: [id] });
        }
        const removed = await q.query<{ id: string }>({ text: 'DELETE FROM egress_webhooks WHERE log_id = $1 RETURNING id', values: [id] });
        for (const webhook of removed.rows) await changes.egressChanged(q, webhook.id);
        const ingress = `SELECT id FROM ingress_webhooks WHERE log_id = $1`;
        await q.query({ text: `DELETE FROM ingress_metrics WHERE webhook_id IN (${ingress})`, values: [id] });
        await q.query({ text: `DELETE FROM idempotency_keys WHERE scope IN (${ingress})`, values: [id] });
        await q.query({ text: 'DELETE FROM ingress_webhooks WHERE log_id = $1', values: [id] });
        return toLog(row);
      }),
  };
}
