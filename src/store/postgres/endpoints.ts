import type { EndpointChanges, EndpointStore } from '../store.js';
import { type EndpointRow, inPageOrder, readsBackward, toEndpoint } from '../svix-rows.js';
import { unlessUidTaken } from './applications.js';
import type { Db } from './db.js';
import { pageValues } from './pages.js';

const COLUMNS = 'webhook_id, log_id, uid, description, version, metadata, created_at, updated_at';
const PAGE = 'log_id = $4 AND ($1::text IS NULL OR webhook_id COLLATE "C" > $1) AND ($2::text IS NULL OR webhook_id COLLATE "C" < $2)';

// A uid can be set to NULL, so whether it changes is a parameter of its own.
const changeValues = (webhookId: string, changes: EndpointChanges) => [
  webhookId,
  changes.uid !== undefined,
  changes.uid ?? null,
  changes.description ?? null,
  changes.version ?? null,
  changes.metadata === undefined ? null : JSON.stringify(changes.metadata),
  changes.nowMs,
];

/** The endpoint fields of egress webhooks; the egress store inserts them, and deletion removes them. */
export function postgresEndpoints(db: Db): EndpointStore {
  const one = async (text: string, values: unknown[]) => {
    const [row] = await db.rows<EndpointRow>({ text, values });
    return row && toEndpoint(row);
  };
  return {
    get: (webhookId) => one(`SELECT ${COLUMNS} FROM endpoints WHERE webhook_id = $1`, [webhookId]),
    byUid: (logId, uid) => one(`SELECT ${COLUMNS} FROM endpoints WHERE log_id = $1 AND uid = $2`, [logId, uid]),
    async list(logId, page) {
      const rows = await db.rows<EndpointRow>({
        text: `SELECT ${COLUMNS} FROM endpoints WHERE ${PAGE} ORDER BY webhook_id COLLATE "C" ${readsBackward(page) ? 'DESC' : ''} LIMIT $3`,
        values: [...pageValues(page), logId],
      });
      return inPageOrder(rows, page).map(toEndpoint);
    },
    update: (webhookId, changes) =>
      unlessUidTaken(() =>
        one(
          `UPDATE endpoints SET
             uid = CASE WHEN $2::boolean THEN $3 ELSE uid END,
             description = coalesce($4, description),
             version = coalesce($5::integer, version),
             metadata = coalesce($6, metadata),
             updated_at = $7
           WHERE webhook_id = $1 RETURNING ${COLUMNS}`,
          changeValues(webhookId, changes),
        ),
      ),
  };
}
