import type { Database } from 'better-sqlite3';
import type { Log } from '../../domain/types.js';
import type { ChangeFeed } from '../change-feed.js';
import { type LogRow, toLog } from '../rows.js';
import type { LogStore } from '../store.js';
import type { SqliteDeletion } from './deletion.js';

type NewLog = Parameters<LogStore['create']>[0];

/** The log store, plus a synchronous insert for use inside other transactions. */
export function sqliteLogs(db: Database, durable: () => Promise<void>, deletion: SqliteDeletion, feed: ChangeFeed): LogStore & { insert(log: NewLog): Log } {
  const insert = db.prepare<unknown[], LogRow>(
    `INSERT INTO logs (id, metadata, compacting, trim_bytes, trim_seconds, compact_seconds, expire_seconds)
     VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *`,
  );
  const byId = db.prepare<[string], LogRow>('SELECT * FROM logs WHERE id = ?');
  const list = db.prepare<[{ metadata: string | null }], LogRow>('SELECT * FROM logs WHERE @metadata IS NULL OR metadata = @metadata ORDER BY seq');
  const deleteLog = db.transaction((id: string) => deletion.log(id));

  const insertLog = (log: NewLog) =>
    toLog(insert.get(log.id, log.metadata, log.compacting ? 1 : 0, log.trimBytes, log.trimSeconds, log.compactSeconds, log.expireSeconds)!);
  return {
    insert: insertLog,
    async create(log) {
      const created = insertLog(log);
      await durable();
      return created;
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
      if (!deleted) return undefined;
      for (const webhookId of deleted.egress) feed.emit({ kind: 'egress_changed', webhookId });
      for (const webhookId of deleted.ingress) feed.emit({ kind: 'ingress_changed', webhookId });
      return deleted.log;
    },
  };
}
