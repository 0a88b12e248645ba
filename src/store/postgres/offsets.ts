import { type OffsetRow, toOffset } from '../rows.js';
import type { OffsetStore } from '../store.js';
import type { Db } from './db.js';

const COLUMNS = 'id, log_id, metadata, value, value_metadata';

export function postgresOffsets(db: Db): OffsetStore {
  const one = async (text: string, values: unknown[]) => {
    const [row] = await db.rows<OffsetRow>({ text, values });
    return row && toOffset(row);
  };
  return {
    async create(offset) {
      await db.query({
        text: 'INSERT INTO offsets (id, log_id, metadata, value, value_metadata) VALUES ($1, $2, $3, $4, $5)',
        values: [offset.id, offset.logId, offset.metadata, offset.value, offset.valueMetadata],
      });
    },
    get: (id) => one(`SELECT ${COLUMNS} FROM offsets WHERE id = $1`, [id]),
    async list({ logId, metadata }) {
      // NULL filter parameters match every row, so one statement serves every filter combination.
      const rows = await db.rows<OffsetRow>({
        name: 'offset-list',
        text: `SELECT ${COLUMNS} FROM offsets
               WHERE ($1::text IS NULL OR log_id = $1) AND ($2::text IS NULL OR metadata = $2) ORDER BY seq`,
        values: [logId ?? null, metadata ?? null],
      });
      return rows.map(toOffset);
    },
    set: (id, value, valueMetadata) => one(`UPDATE offsets SET value = $2, value_metadata = $3 WHERE id = $1 RETURNING ${COLUMNS}`, [id, value, valueMetadata]),
    delete: (id) => one(`DELETE FROM offsets WHERE id = $1 RETURNING ${COLUMNS}`, [id]),
  };
}
