import type { IntegrationStore } from '../store.js';
import { type IntegrationRow, inPageOrder, readsBackward, toIntegration } from '../svix-rows.js';
import type { Db } from './db.js';
import { pageValues } from './pages.js';
import { insertToken } from './tokens.js';

const COLUMNS = 'id, log_id, name, feature_flags, token_id, key, created_at, updated_at';
const PAGE = 'log_id = $4 AND ($1::text IS NULL OR id COLLATE "C" > $1) AND ($2::text IS NULL OR id COLLATE "C" < $2)';

export function postgresIntegrations(db: Db): IntegrationStore {
  const one = async (text: string, values: unknown[]) => {
    const [row] = await db.rows<IntegrationRow>({ text, values });
    return row && toIntegration(row);
  };
  return {
    create: (integration, token) =>
      db.tx(async (q) => {
        await insertToken(q, token);
        await q.query({
          text: `INSERT INTO integrations (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          values: [
            integration.id,
            integration.logId,
            integration.name,
            JSON.stringify(integration.featureFlags),
            integration.tokenId,
            integration.key,
            integration.createdAt,
            integration.updatedAt,
          ],
        });
      }),
    get: (id) => one(`SELECT ${COLUMNS} FROM integrations WHERE id = $1`, [id]),
    async list(logId, page) {
      const rows = await db.rows<IntegrationRow>({
        text: `SELECT ${COLUMNS} FROM integrations WHERE ${PAGE} ORDER BY id COLLATE "C" ${readsBackward(page) ? 'DESC' : ''} LIMIT $3`,
        values: [...pageValues(page), logId],
      });
      return inPageOrder(rows, page).map(toIntegration);
    },
    update: (id, { name, featureFlags, nowMs }) =>
      one(`UPDATE integrations SET name = $2, feature_flags = $3, updated_at = $4 WHERE id = $1 RETURNING ${COLUMNS}`, [
        id,
        name,
        JSON.stringify(featureFlags),
        nowMs,
      ]),
    rotate: (id, token, key, nowMs) =>
      db.tx(async (q) => {
        // Locked, so that of two rotations at once the second removes the token the first made, not leaving it behind.
        const [old] = (await q.query<{ token_id: string }>({ text: 'SELECT token_id FROM integrations WHERE id = $1 FOR UPDATE', values: [id] })).rows;
        if (!old) return undefined;
        await q.query({ text: 'DELETE FROM tokens WHERE id = $1', values: [old.token_id] });
        await insertToken(q, token);
        const [row] = (
          await q.query<IntegrationRow>({
            text: `UPDATE integrations SET token_id = $2, key = $3, updated_at = $4 WHERE id = $1 RETURNING ${COLUMNS}`,
            values: [id, token.id, key, nowMs],
          })
        ).rows;
        return toIntegration(row!);
      }),
    delete: (id) =>
      db.tx(async (q) => {
        const [row] = (await q.query<IntegrationRow>({ text: `DELETE FROM integrations WHERE id = $1 RETURNING ${COLUMNS}`, values: [id] })).rows;
        if (!row) return undefined;
        await q.query({ text: 'DELETE FROM tokens WHERE id = $1', values: [row.token_id] });
        return toIntegration(row);
      }),
  };
}
