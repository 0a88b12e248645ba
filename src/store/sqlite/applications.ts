import type { Database } from 'better-sqlite3';
import type { Application } from '../../domain/types.js';
import type { ApplicationChanges, ApplicationStore, LogStore } from '../store.js';
import { type ApplicationRow, inPageOrder, pageBounds, readsBackward, toApplication } from '../svix-rows.js';

type NewLog = Parameters<LogStore['create']>[0];

const PAGE = '(@after IS NULL OR log_id > @after) AND (@before IS NULL OR log_id < @before)';

/**
 * Runs a write that may give a row a uid: 'uid_taken' when the unique index
 * refuses it. The index decides, rather than a read before the write, so
 * that the rule holds however writes interleave.
 */
export function unlessUidTaken<T>(write: () => T): T | 'uid_taken' {
  try {
    return write();
  } catch (err) {
    if ((err as { code?: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE') return 'uid_taken';
    throw err;
  }
}

const changeParams = (logId: string, changes: ApplicationChanges) => ({
  logId,
  // uid and rate limit can be set to NULL, so whether they change is a parameter of its own.
  setUid: changes.uid === undefined ? 0 : 1,
  uid: changes.uid ?? null,
  name: changes.name ?? null,
  setRateLimit: changes.rateLimit === undefined ? 0 : 1,
  rateLimit: changes.rateLimit ?? null,
  metadata: changes.metadata === undefined ? null : JSON.stringify(changes.metadata),
  nowMs: changes.nowMs,
});

/** Applications; `insertLog` inserts a log inside the caller's transaction, as the log store does. */
export function sqliteApplications(db: Database, durable: () => Promise<void>, insertLog: (log: NewLog) => unknown): ApplicationStore {
  // A uid that another application has leaves the row out, and no row comes back.
  const insert = db.prepare<[Record<string, string | number | null>], ApplicationRow>(
    `INSERT INTO applications (log_id, uid, name, rate_limit, metadata, created_at, updated_at)
     VALUES (@logId, @uid, @name, @rateLimit, @metadata, @createdAt, @updatedAt)
     ON CONFLICT (uid) DO NOTHING RETURNING *`,
  );
  const byId = db.prepare<[string], ApplicationRow>('SELECT * FROM applications WHERE log_id = ?');
  const byUid = db.prepare<[string], ApplicationRow>('SELECT * FROM applications WHERE uid = ?');
  const forward = db.prepare<[ReturnType<typeof pageBounds>], ApplicationRow>(`SELECT * FROM applications WHERE ${PAGE} ORDER BY log_id LIMIT @limit`);
  const backward = db.prepare<[ReturnType<typeof pageBounds>], ApplicationRow>(`SELECT * FROM applications WHERE ${PAGE} ORDER BY log_id DESC LIMIT @limit`);
  const update = db.prepare<[ReturnType<typeof changeParams>], ApplicationRow>(
    `UPDATE applications SET
       uid = CASE WHEN @setUid = 1 THEN @uid ELSE uid END,
       name = coalesce(@name, name),
       rate_limit = CASE WHEN @setRateLimit = 1 THEN @rateLimit ELSE rate_limit END,
       metadata = coalesce(@metadata, metadata),
       updated_at = @nowMs
     WHERE log_id = @logId RETURNING *`,
  );
  const create = db.transaction((log: NewLog, application: Application) => {
    const row = insert.get({ ...application, metadata: JSON.stringify(application.metadata) });
    if (!row) return 'uid_taken' as const;
    insertLog(log);
    return toApplication(row);
  });

  return {
    async create(log, application) {
      let created: Application | 'uid_taken' | 'id_taken';
      try {
        created = create.immediate(log, application);
      } catch (err) {
        // The uid's conflict is handled in the insert: one left is the id's, in applications or logs.
        if (!String((err as { code?: unknown }).code).startsWith('SQLITE_CONSTRAINT')) throw err;
        created = 'id_taken';
      }
      await durable();
      return created;
    },
    async get(logId) {
      const row = byId.get(logId);
      return row && toApplication(row);
    },
    async byUid(uid) {
      const row = byUid.get(uid);
      return row && toApplication(row);
    },
    async list(page) {
      const rows = (readsBackward(page) ? backward : forward).all(pageBounds(page));
      return inPageOrder(rows, page).map(toApplication);
    },
    async update(logId, changes) {
      const row = unlessUidTaken(() => update.get(changeParams(logId, changes)));
      await durable();
      if (row === 'uid_taken') return row;
      return row && toApplication(row);
    },
  };
}
