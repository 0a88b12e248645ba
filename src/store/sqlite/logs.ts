import type { Database } from 'better-sqlite3';
import { type LogRow, toLog } from '../rows.js';
import type { LogStore } from '../store.js';

export function sqliteLogs(db: Database, durable: () => Promise<void>, removeWebhooksOf: (logId: string) => void): LogStore {
  const insert = db.prepare<unknown[], LogRow>(
    `INSERT INTO logs (id, metadata, compacting, trim_bytes, trim_seconds, compact_seconds, expire_seconds)
     VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *`,
  );
  const byId = db.prepare<[string], LogRow>('SELECT * FROM logs WHERE id = ?');
  const list = db.prepare<[{ metadata: string | null }], LogRow>(
    'SELECT * FROM logs WHERE @metadata IS NULL OR metadata = @metadata ORDER BY seq',
  );
  const remove = db.prepare<[string], LogRow>('DELETE FROM logs WHERE id = ? RETURNING *');
  const markDeleted = db.prepare('INSERT INTO deleted_logs (seq) VALUES (?)');
  const removeOffsets = db.prepare('DELETE FROM offsets WHERE log_id = ?');


  const deleteLog = db.transaction((id: string) => {
    const row = remove.get(id);
    if (!row) return undefined;
    markDeleted.run(row.seq);
    removeOffsets.run(id);
    removeWebhooksOf(id);
    return toLog(row);
  });

  return {
    async create(log) {
      const row = insert.get(
        log.id,
        log.metadata,
        log.compacting ? 1 : 0,
        log.trimBytes,
        log.trimSeconds,
        log.compactSeconds,
        log.expireSeconds,
      );
      await durable();
      return toLog(row!);
    },
    async get(id) {
      const row = byId.get(id);
      return row && toLog(row);
    },
    async list({ metadata }) {
      return list.all({ metadata: metadata ?? null }).map(toLog);
    },
    async delete(id) {
      const deleted = deleteLog.immediate(id);
      await durable();
      return deleted;
    },
  };
}
