import type { Token } from '../../domain/types.js';
import { type TokenRow, toToken } from '../rows.js';
import type { TokenStore } from '../store.js';
import type { Db, Queryable } from './db.js';

const COLUMNS = 'id, metadata, acl, secret_hash, application, expires_at';

/** Inserts a token with `q`, which may be a transaction's client. */
export async function insertToken(q: Queryable, token: Token): Promise<void> {
  await q.query({
    name: 'token-insert',
    text: 'INSERT INTO tokens (id, metadata, acl, secret_hash, application, expires_at) VALUES ($1, $2, $3, $4, $5, $6)',
    values: [token.id, token.metadata, JSON.stringify(token.acl), token.secretHash, token.application ?? null, token.expiresAt ?? null],
  });
}

export function postgresTokens(db: Db): TokenStore {
  return {
    create: (token) => insertToken(db, token),
    async get(id) {
      const [row] = await db.rows<TokenRow>({ name: 'token-get', text: `SELECT ${COLUMNS} FROM tokens WHERE id = $1`, values: [id] });
      return row && toToken(row);
    },
    async list({ metadata }) {
      return (
        await db.rows<TokenRow>({
          name: 'token-list',
          text: `SELECT ${COLUMNS} FROM tokens WHERE $1::text IS NULL OR metadata = $1 ORDER BY seq`,
          values: [metadata ?? null],
        })
      ).map(toToken);
    },
    async delete(id) {
      const [row] = await db.rows<TokenRow>({ text: `DELETE FROM tokens WHERE id = $1 RETURNING ${COLUMNS}`, values: [id] });
      return row && toToken(row);
    },
    async deleteForApplication(logId) {
      const { rowCount } = await db.query({ name: 'token-delete-for-application', text: 'DELETE FROM tokens WHERE application = $1', values: [logId] });
      return rowCount ?? 0;
    },
    async purgeExpired(before, limit) {
      const { rowCount } = await db.query({
        name: 'token-purge-expired',
        text: 'DELETE FROM tokens WHERE id IN (SELECT id FROM tokens WHERE expires_at IS NOT NULL AND expires_at < $1 LIMIT $2)',
        values: [before, limit],
      });
      return rowCount ?? 0;
    },
  };
}
