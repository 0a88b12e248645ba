import type { Database } from 'better-sqlite3';
import type { EndpointChanges, EndpointStore } from '../store.js';
import { type EndpointRow, inPageOrder, pageBounds, readsBackward, toEndpoint } from '../svix-rows.js';
import { unlessUidTaken } from './applications.js';

const PAGE = 'log_id = @logId AND (@after IS NULL OR webhook_id > @after) AND (@before IS NULL OR webhook_id < @before)';

const changeParams = (webhookId: string, changes: EndpointChanges) => ({
  webhookId,
  // A uid can be set to NULL, so whether it changes is a parameter of its own.
  setUid: changes.uid === undefined ? 0 : 1,
  uid: changes.uid ?? null,
  description: changes.description ?? null,
  version: changes.version ?? null,
  metadata: changes.metadata === undefined ? null : JSON.stringify(changes.metadata),
  nowMs: changes.nowMs,
});

/** The endpoint fields of egress webhooks; the egress store inserts them, and deletion removes them. */
export function sqliteEndpoints(db: Database, durable: () => Promise<void>): EndpointStore {
  type Page = ReturnType<typeof pageBounds> & { logId: string };
  const byId = db.prepare<[string], EndpointRow>('SELECT * FROM endpoints WHERE webhook_id = ?');
  const byUid = db.prepare<[string, string], EndpointRow>('SELECT * FROM endpoints WHERE log_id = ? AND uid = ?');
  const forward = db.prepare<[Page], EndpointRow>(`SELECT * FROM endpoints WHERE ${PAGE} ORDER BY webhook_id LIMIT @limit`);
  const backward = db.prepare<[Page], EndpointRow>(`SELECT * FROM endpoints WHERE ${PAGE} ORDER BY webhook_id DESC LIMIT @limit`);
  const update = db.prepare<[ReturnType<typeof changeParams>], EndpointRow>(
    `UPDATE endpoints SET
       uid = CASE WHEN @setUid = 1 THEN @uid ELSE uid END,
       description = coalesce(@description, description),
       version = coalesce(@version, version),
       metadata = coalesce(@metadata, metadata),
       updated_at = @nowMs
     WHERE webhook_id = @webhookId RETURNING *`,
  );

  return {
    async get(webhookId) {
      const row = byId.get(webhookId);
      return row && toEndpoint(row);
    },
    async byUid(logId, uid) {
      const row = byUid.get(logId, uid);
      return row && toEndpoint(row);
    },
    async list(logId, page) {
      const rows = (readsBackward(page) ? backward : forward).all({ logId, ...pageBounds(page) });
      return inPageOrder(rows, page).map(toEndpoint);
    },
    async update(webhookId, changes) {
      const row = unlessUidTaken(() => update.get(changeParams(webhookId, changes)));
      await durable();
      if (row === 'uid_taken') return row;
      return row && toEndpoint(row);
    },
  };
}
