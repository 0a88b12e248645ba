import type { Database } from 'better-sqlite3';
import type { Token } from '../../domain/types.js';
import { type TokenRow, toToken } from '../rows.js';
import type { TokenStore } from '../store.js';

/** The token store, plus a synchronous insert for use inside other transactions. */
export function sqliteTokens(db: Database, durable: () => Promise<void>): TokenStore & { insert(token: Token): void } {
  const insert = db.prepare('INSERT INTO tokens (id, metadata, acl, secret_hash, application, expires_at) VALUES (?, ?, ?, ?, ?, ?)');
  const byId = db.prepare<[string], TokenRow>('SELECT * FROM tokens WHERE id = ?');
  const list = db.prepare<[{ metadata: string | null }], TokenRow>('SELECT * FROM tokens WHERE @metadata IS NULL OR metadata = @metadata ORDER BY rowid');
  const remove = db.prepare<[string], TokenRow>('DELETE FROM tokens WHERE id = ? RETURNING *');
  const removeForApplication = db.prepare<[string]>('DELETE FROM tokens WHERE application = ?');
  const removeExpired = db.prepare<[number, number]>(
    'DELETE FROM tokens WHERE id IN (SELECT id FROM tokens WHERE expires_at IS NOT NULL AND expires_at < ? LIMIT ?)',
  );

  const insertToken = (token: Token) => {
    insert.run(token.id, token.metadata, JSON.stringify(token.acl), token.secretHash, token.application ?? null, token.expiresAt ?? null);
  };
  return {
    insert: insertToken,
    async create(token) {
      insertToken(token);
      await durable();
    },
    async get(id) {
      const row = byId.get(id);
      return row && toToken(row);
    },
    async list({ metadata }) {
      return list.all({ metadata: metadata ?? null }).map(toToken);
    },
    async delete(id) {
      const row = remove.get(id);
      await durable();
      return row && toToken(row);
    },
    async deleteForApplication(logId) {
      const { changes } = removeForApplication.run(logId);
      await durable();
      return changes;
    },
    async purgeExpired(before, limit) {
      // They no longer authenticate: losing this delete to a power cut only leaves them for the next run.
      return removeExpired.run(before, limit).changes;
    },
  };
}
