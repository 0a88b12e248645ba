import type { Database } from 'better-sqlite3';
import { type OffsetRow, toOffset } from '../rows.js';
import type { OffsetStore } from '../store.js';

export function sqliteOffsets(db: Database, durable: () => Promise<void>): OffsetStore {
  const insert = db.prepare('INSERT INTO offsets (id, log_id, metadata, value, value_metadata) VALUES (?, ?, ?, ?, ?)');
  const byId = db.prepare<[string], OffsetRow>('SELECT * FROM offsets WHERE id = ?');
  // NULL filter parameters match every row, so one statement serves every filter combination.
  const filtered = db.prepare<[{ logId: string | null; metadata: string | null }], OffsetRow>(
    `SELECT * FROM offsets
     WHERE (@logId IS NULL OR log_id = @logId) AND (@metadata IS NULL OR metadata = @metadata)
     ORDER BY rowid`,
  );
  const update = db.prepare<[number, string, string], OffsetRow>('UPDATE offsets SET value = ?, value_metadata = ? WHERE id = ? RETURNING *');
  const remove = db.prepare<[string], OffsetRow>('DELETE FROM offsets WHERE id = ? RETURNING *');

  return {
    async create(offset) {
      insert.run(offset.id, offset.logId, offset.metadata, offset.value, offset.valueMetadata);
      await durable();
    },
    async get(id) {
      const row = byId.get(id);
      return row && toOffset(row);
    },
    async list({ logId, metadata }) {
      return filtered.all({ logId: logId ?? null, metadata: metadata ?? null }).map(toOffset);
    },
    async set(id, value, valueMetadata) {
      const row = update.get(value, valueMetadata, id);
      await durable();
      return row && toOffset(row);
    },
    async delete(id) {
      const row = remove.get(id);
      await durable();
      return row && toOffset(row);
    },
  };
}
