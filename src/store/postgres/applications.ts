import type { ApplicationChanges, ApplicationStore } from '../store.js';
import { type ApplicationRow, inPageOrder, readsBackward, toApplication } from '../svix-rows.js';
import type { Db } from './db.js';
import { insertLog } from './logs.js';
import { pageValues } from './pages.js';

const COLUMNS = 'log_id, uid, name, rate_limit, metadata, created_at, updated_at';
const PAGE = '($1::text IS NULL OR log_id COLLATE "C" > $1) AND ($2::text IS NULL OR log_id COLLATE "C" < $2)';

/**
 * Runs a write that may give a row a uid: 'uid_taken' when the unique index
 * refuses it (unique_violation). The index decides, rather than a read
 * before the write, so that the rule holds however writes interleave.
 */
export async function unlessUidTaken<T>(write: () => Promise<T>): Promise<T | 'uid_taken'> {
  try {
    return await write();
  } catch (err) {
    if ((err as { code?: unknown }).code === '23505') return 'uid_taken';
    throw err;
  }
}

// uid and rate limit can be set to NULL, so whether they change is a parameter of its own.
const changeValues = (logId: string, changes: ApplicationChanges) => [
  logId,
  changes.uid !== undefined,
  changes.uid ?? null,
  changes.name ?? null,
  changes.rateLimit !== undefined,
  changes.rateLimit ?? null,
  changes.metadata === undefined ? null : JSON.stringify(changes.metadata),
  changes.nowMs,
];

export function postgresApplications(db: Db): ApplicationStore {
  const one = async (text: string, values: unknown[]) => {
    const [row] = await db.rows<ApplicationRow>({ text, values });
    return row && toApplication(row);
  };
  return {
    create: async (log, application) => {
      try {
        return await db.tx(async (q) => {
          // A uid that another application has leaves the row out, and no row comes back; a concurrent insert of it is waited for.
          const [row] = (
            await q.query<ApplicationRow>({
              text: `INSERT INTO applications (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
                   ON CONFLICT (uid) DO NOTHING RETURNING ${COLUMNS}`,
              values: [
                application.logId,
                application.uid,
                application.name,
                application.rateLimit,
                JSON.stringify(application.metadata),
                application.createdAt,
                application.updatedAt,
              ],
            })
          ).rows;
          if (!row) return 'uid_taken' as const;
          await insertLog(q, log);
          return toApplication(row);
        });
      } catch (err) {
        // The uid's conflict is handled in the insert: a unique violation left is the id's, in applications or logs.
        if ((err as { code?: unknown }).code === '23505') return 'id_taken';
        throw err;
      }
    },
    get: (logId) => one(`SELECT ${COLUMNS} FROM applications WHERE log_id = $1`, [logId]),
    byUid: (uid) => one(`SELECT ${COLUMNS} FROM applications WHERE uid = $1`, [uid]),
    async list(page) {
      const rows = await db.rows<ApplicationRow>({
        text: `SELECT ${COLUMNS} FROM applications WHERE ${PAGE} ORDER BY log_id COLLATE "C" ${readsBackward(page) ? 'DESC' : ''} LIMIT $3`,
        values: pageValues(page),
      });
      return inPageOrder(rows, page).map(toApplication);
    },
    update: (logId, changes) =>
      unlessUidTaken(() =>
        one(
          `UPDATE applications SET
             uid = CASE WHEN $2::boolean THEN $3 ELSE uid END,
             name = coalesce($4, name),
             rate_limit = CASE WHEN $5::boolean THEN $6::integer ELSE rate_limit END,
             metadata = coalesce($7, metadata),
             updated_at = $8
           WHERE log_id = $1 RETURNING ${COLUMNS}`,
          changeValues(logId, changes),
        ),
      ),
  };
}
