import type { IdempotencyClaim, IdempotencyStore } from '../store.js';
import type { Db } from './db.js';

/**
 * Answers kept for idempotency keys. A claim is one upsert: of two at once,
 * the second waits on the first's row and then finds it inside the window,
 * so exactly one of them claims the key.
 */
export function postgresIdempotency(db: Db): IdempotencyStore {
  const claim = async (scope: string, key: string, nowMs: number, sinceMs: number, abandonedBeforeMs = sinceMs): Promise<IdempotencyClaim> => {
    // A row from before the window is taken over as if it were not there: its request is over or abandoned.
    const { rowCount } = await db.query({
      text: `INSERT INTO idempotent_responses (scope, key, status, body, created_at) VALUES ($1, $2, NULL, NULL, $3)
             ON CONFLICT (scope, key) DO UPDATE SET status = NULL, body = NULL, created_at = EXCLUDED.created_at
             WHERE idempotent_responses.created_at < $4 OR (idempotent_responses.status IS NULL AND idempotent_responses.created_at < $5)`,
      values: [scope, key, nowMs, sinceMs, abandonedBeforeMs],
    });
    if (rowCount === 1) return { state: 'claimed' };
    const [row] = await db.rows<{ status: number | null; body: string | null }>({
      text: 'SELECT status, body FROM idempotent_responses WHERE scope = $1 AND key = $2',
      values: [scope, key],
    });
    // Released between the two statements: the key is free again.
    if (!row) return claim(scope, key, nowMs, sinceMs, abandonedBeforeMs);
    return row.status === null ? { state: 'running' } : { state: 'done', status: row.status, body: row.body! };
  };
  return {
    claim,
    async complete(scope, key, status, body) {
      await db.query({ text: 'UPDATE idempotent_responses SET status = $3, body = $4 WHERE scope = $1 AND key = $2', values: [scope, key, status, body] });
    },
    async release(scope, key) {
      // Only a claim still running is given up: an answer kept is never forgotten by a late failure.
      await db.query({ text: 'DELETE FROM idempotent_responses WHERE scope = $1 AND key = $2 AND status IS NULL', values: [scope, key] });
    },
    async purge(before, limit) {
      const { rowCount } = await db.query({
        text: `DELETE FROM idempotent_responses WHERE (scope, key) IN (
                 SELECT scope, key FROM idempotent_responses WHERE created_at < $1 LIMIT $2)`,
        values: [before, limit],
      });
      return rowCount ?? 0;
    },
  };
}
