import type { Database } from 'better-sqlite3';
import type { Integration, Token } from '../../domain/types.js';
import type { IntegrationStore } from '../store.js';
import { type IntegrationRow, inPageOrder, pageBounds, readsBackward, toIntegration } from '../svix-rows.js';

const PAGE = 'log_id = @logId AND (@after IS NULL OR id > @after) AND (@before IS NULL OR id < @before)';

/** Integrations; `insertToken` inserts a token inside the caller's transaction, as the token store does. */
export function sqliteIntegrations(db: Database, durable: () => Promise<void>, insertToken: (token: Token) => void): IntegrationStore {
  type Page = ReturnType<typeof pageBounds> & { logId: string };
  const insert = db.prepare<[Omit<Integration, 'featureFlags'> & { featureFlags: string }]>(
    `INSERT INTO integrations (id, log_id, name, feature_flags, token_id, key, created_at, updated_at)
     VALUES (@id, @logId, @name, @featureFlags, @tokenId, @key, @createdAt, @updatedAt)`,
  );
  const byId = db.prepare<[string], IntegrationRow>('SELECT * FROM integrations WHERE id = ?');
  const forward = db.prepare<[Page], IntegrationRow>(`SELECT * FROM integrations WHERE ${PAGE} ORDER BY id LIMIT @limit`);
  const backward = db.prepare<[Page], IntegrationRow>(`SELECT * FROM integrations WHERE ${PAGE} ORDER BY id DESC LIMIT @limit`);
  const update = db.prepare<[string, string, number, string], IntegrationRow>(
    'UPDATE integrations SET name = ?, feature_flags = ?, updated_at = ? WHERE id = ? RETURNING *',
  );
  const setToken = db.prepare<[string, string, number, string], IntegrationRow>(
    'UPDATE integrations SET token_id = ?, key = ?, updated_at = ? WHERE id = ? RETURNING *',
  );
  const remove = db.prepare<[string], IntegrationRow>('DELETE FROM integrations WHERE id = ? RETURNING *');
  const removeToken = db.prepare<[string]>('DELETE FROM tokens WHERE id = ?');

  const create = db.transaction((integration: Integration, token: Token) => {
    insertToken(token);
    insert.run({ ...integration, featureFlags: JSON.stringify(integration.featureFlags) });
  });
  const rotate = db.transaction((id: string, token: Token, key: string, nowMs: number) => {
    const old = byId.get(id);
    if (!old) return undefined;
    removeToken.run(old.token_id);
    insertToken(token);
    return setToken.get(token.id, key, nowMs, id);
  });
  const deleteIntegration = db.transaction((id: string) => {
    const row = remove.get(id);
    if (row) removeToken.run(row.token_id);
    return row;
  });

  return {
    async create(integration, token) {
      create.immediate(integration, token);
      await durable();
    },
    async get(id) {
      const row = byId.get(id);
      return row && toIntegration(row);
    },
    async list(logId, page) {
      const rows = (readsBackward(page) ? backward : forward).all({ logId, ...pageBounds(page) });
      return inPageOrder(rows, page).map(toIntegration);
    },
    async update(id, { name, featureFlags, nowMs }) {
      const row = update.get(name, JSON.stringify(featureFlags), nowMs, id);
      await durable();
      return row && toIntegration(row);
    },
    async rotate(id, token, key, nowMs) {
      const row = rotate.immediate(id, token, key, nowMs);
      await durable();
      return row && toIntegration(row);
    },
    async delete(id) {
      const row = deleteIntegration.immediate(id);
      await durable();
      return row && toIntegration(row);
    },
  };
}
