import type { EventType } from '../../domain/types.js';
import type { EventTypeStore } from '../store.js';
import { type EventTypeRow, inPageOrder, readsBackward, schemasJson, toEventType } from '../svix-rows.js';
import type { Db } from './db.js';
import { pageValues } from './pages.js';

const COLUMNS = 'name, description, schemas, archived, deprecated, feature_flag, group_name, created_at, updated_at';
const PAGE = '($4::boolean OR NOT archived) AND ($1::text IS NULL OR name COLLATE "C" > $1) AND ($2::text IS NULL OR name COLLATE "C" < $2)';

/** Every column but created_at, in order: an insert adds it, a replacement keeps it. */
const values = (eventType: EventType) => [
  eventType.name,
  eventType.description,
  schemasJson(eventType.schemas),
  eventType.archived,
  eventType.deprecated,
  eventType.featureFlag,
  eventType.groupName,
  eventType.updatedAt,
];

export function postgresEventTypes(db: Db): EventTypeStore {
  return {
    async create(eventType) {
      const { rowCount } = await db.query({
        text: `INSERT INTO event_types (name, description, schemas, archived, deprecated, feature_flag, group_name, updated_at, created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (name) DO NOTHING`,
        values: [...values(eventType), eventType.createdAt],
      });
      return rowCount === 1;
    },
    async get(name) {
      const [row] = await db.rows<EventTypeRow>({ text: `SELECT ${COLUMNS} FROM event_types WHERE name = $1`, values: [name] });
      return row && toEventType(row);
    },
    async list({ includeArchived, ...page }) {
      const rows = await db.rows<EventTypeRow>({
        text: `SELECT ${COLUMNS} FROM event_types WHERE ${PAGE} ORDER BY name COLLATE "C" ${readsBackward(page) ? 'DESC' : ''} LIMIT $3`,
        values: [...pageValues(page), includeArchived],
      });
      return inPageOrder(rows, page).map(toEventType);
    },
    async replace(eventType) {
      const { rowCount } = await db.query({
        text: `UPDATE event_types SET description = $2, schemas = $3, archived = $4, deprecated = $5, feature_flag = $6, group_name = $7, updated_at = $8
               WHERE name = $1`,
        values: values(eventType),
      });
      return rowCount === 1;
    },
    async delete(name) {
      const { rowCount } = await db.query({ text: 'DELETE FROM event_types WHERE name = $1', values: [name] });
      return rowCount === 1;
    },
    async active(names) {
      const rows = await db.rows<{ name: string }>({ text: 'SELECT name FROM event_types WHERE name = ANY($1::text[]) AND NOT archived', values: [names] });
      return new Set(rows.map((row) => row.name));
    },
  };
}
