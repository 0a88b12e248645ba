import type { Log } from '../../domain/types.js';
import { type LogRow, toLog } from '../rows.js';
import type { LogStore } from '../store.js';
import { LOG_COLUMNS } from './columns.js';
import type { Db, Queryable } from './db.js';
import { postgresDeletion } from './deletion.js';
import type { Changes } from './watch.js';

/** Inserts a log with `q`, which may be a transaction's client. */
export async function insertLog(q: Queryable, log: Parameters<LogStore['create']>[0]): Promise<Log> {
  const [row] = (
    await q.query<LogRow>({
      text: `INSERT INTO logs (id, metadata, compacting, trim_bytes, trim_seconds, compact_seconds, expire_seconds)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${LOG_COLUMNS}`,
      values: [log.id, log.metadata, log.compacting, log.trimBytes, log.trimSeconds, log.compactSeconds, log.expireSeconds],
    })
  ).rows;
  return toLog(row!);
}

export function postgresLogs(db: Db, changes: Changes): LogStore {
  return {
    create: (log) => insertLog(db, log),
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
    delete: (id) =>
      db.tx(async (q, onCommit) => {
        const deleted = await postgresDeletion.log(q, id);
        if (!deleted) return undefined;
        await changes.announce(q, onCommit, 'egress_changed', deleted.egress);
        await changes.announce(q, onCommit, 'ingress_changed', deleted.ingress);
        return deleted.log;
      }),
  };
}
