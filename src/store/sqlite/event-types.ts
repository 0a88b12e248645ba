import type { Database } from 'better-sqlite3';
import type { EventType } from '../../domain/types.js';
import type { EventTypeStore } from '../store.js';
import { type EventTypeRow, inPageOrder, pageBounds, readsBackward, schemasJson, toEventType } from '../svix-rows.js';

const PAGE = '(@includeArchived = 1 OR archived = 0) AND (@after IS NULL OR name > @after) AND (@before IS NULL OR name < @before)';

const params = (eventType: EventType) => ({
  ...eventType,
  schemas: schemasJson(eventType.schemas),
  archived: eventType.archived ? 1 : 0,
  deprecated: eventType.deprecated ? 1 : 0,
});

export function sqliteEventTypes(db: Database, durable: () => Promise<void>): EventTypeStore {
  type Page = ReturnType<typeof pageBounds> & { includeArchived: number };
  const insert = db.prepare<[ReturnType<typeof params>]>(
    `INSERT INTO event_types (name, description, schemas, archived, deprecated, feature_flag, group_name, created_at, updated_at)
     VALUES (@name, @description, @schemas, @archived, @deprecated, @featureFlag, @groupName, @createdAt, @updatedAt)
     ON CONFLICT (name) DO NOTHING`,
  );
  const byName = db.prepare<[string], EventTypeRow>('SELECT * FROM event_types WHERE name = ?');
  const forward = db.prepare<[Page], EventTypeRow>(`SELECT * FROM event_types WHERE ${PAGE} ORDER BY name LIMIT @limit`);
  const backward = db.prepare<[Page], EventTypeRow>(`SELECT * FROM event_types WHERE ${PAGE} ORDER BY name DESC LIMIT @limit`);
  const replace = db.prepare<[ReturnType<typeof params>]>(
    `UPDATE event_types SET description = @description, schemas = @schemas, archived = @archived, deprecated = @deprecated,
       feature_flag = @featureFlag, group_name = @groupName, updated_at = @updatedAt
     WHERE name = @name`,
  );
  const remove = db.prepare<[string]>('DELETE FROM event_types WHERE name = ?');
  // The names come as one JSON array, so that one statement serves any number of them.
  const active = db.prepare<[string], { name: string }>('SELECT name FROM event_types WHERE name IN (SELECT value FROM json_each(?)) AND archived = 0');

  return {
    async create(eventType) {
      const created = insert.run(params(eventType)).changes > 0;
      await durable();
      return created;
    },
    async get(name) {
      const row = byName.get(name);
      return row && toEventType(row);
    },
    async list({ includeArchived, ...page }) {
      const rows = (readsBackward(page) ? backward : forward).all({ includeArchived: includeArchived ? 1 : 0, ...pageBounds(page) });
      return inPageOrder(rows, page).map(toEventType);
    },
    async replace(eventType) {
      const replaced = replace.run(params(eventType)).changes > 0;
      await durable();
      return replaced;
    },
    async delete(name) {
      const deleted = remove.run(name).changes > 0;
      await durable();
      return deleted;
    },
    async active(names) {
      return new Set(active.all(JSON.stringify(names)).map((row) => row.name));
    },
  };
}
