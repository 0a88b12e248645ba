import type { Database } from 'better-sqlite3';
import type { IdempotencyClaim, IdempotencyStore } from '../store.js';

/** Answers kept for idempotency keys. One process writes the file, so a claim's insert and read, in one transaction, cannot race another claim. */
export function sqliteIdempotency(db: Database, durable: () => Promise<void>): IdempotencyStore {
  // A row from before the window is taken over as if it were not there: its request is over or abandoned.
  const take = db.prepare<[{ scope: string; key: string; now: number; since: number; abandoned: number }], { scope: string }>(
    `INSERT INTO idempotent_responses (scope, key, status, body, created_at) VALUES (@scope, @key, NULL, NULL, @now)
     ON CONFLICT (scope, key) DO UPDATE SET status = NULL, body = NULL, created_at = @now
       WHERE created_at < @since OR (status IS NULL AND created_at < @abandoned)
     RETURNING scope`,
  );
  const held = db.prepare<[string, string], { status: number | null; body: string | null }>(
    'SELECT status, body FROM idempotent_responses WHERE scope = ? AND key = ?',
  );
  const complete = db.prepare('UPDATE idempotent_responses SET status = ?, body = ? WHERE scope = ? AND key = ?');
  // Only a claim still running is given up: an answer kept is never forgotten by a late failure.
  const release = db.prepare('DELETE FROM idempotent_responses WHERE scope = ? AND key = ? AND status IS NULL');
  const purge = db.prepare<[number, number]>(
    'DELETE FROM idempotent_responses WHERE (scope, key) IN (SELECT scope, key FROM idempotent_responses WHERE created_at < ? LIMIT ?)',
  );
  const claim = db.transaction((scope: string, key: string, now: number, since: number, abandoned: number): IdempotencyClaim => {
    if (take.get({ scope, key, now, since, abandoned })) return { state: 'claimed' };
    const row = held.get(scope, key)!;
    return row.status === null ? { state: 'running' } : { state: 'done', status: row.status, body: row.body! };
  });

  return {
    async claim(scope, key, nowMs, sinceMs, abandonedBeforeMs = sinceMs) {
      const claimed = claim.immediate(scope, key, nowMs, sinceMs, abandonedBeforeMs);
      // Only a claim wrote anything.
      if (claimed.state === 'claimed') await durable();
      return claimed;
    },
    async complete(scope, key, status, body) {
      complete.run(status, body, scope, key);
      await durable();
    },
    async release(scope, key) {
      release.run(scope, key);
      await durable();
    },
    async purge(before, limit) {
      return purge.run(before, limit).changes;
    },
  };
}
