import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { migrationFiles } from '../readiness.js';
import { Db } from './db.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations/postgres/', import.meta.url));

/**
 * Applies the numbered, forward-only migrations this schema has not seen,
 * each in its own transaction, while holding an advisory lock keyed by the
 * schema's name: nodes that start together take turns, and each finds the
 * others' work done. Resolves with the versions it applied. `through` stops
 * after that version; tests use it to check a migration against data written
 * by the schema before it.
 */
export async function migratePostgres(url: string, options: { through?: number } = {}): Promise<number[]> {
  const client = new pg.Client(Db.clientConfig(url));
  // A dropped connection also rejects the query in progress, which fails the migration; unheard, the event would end the process.
  client.on('error', () => {});
  await client.connect();
  const applied: number[] = [];
  try {
    const { rows } = await client.query<{ schema: string | null }>('SELECT current_schema() AS schema');
    if (!rows[0]?.schema) throw new Error('no schema of the search_path exists; create it first (CREATE SCHEMA …)');
    await client.query("SELECT pg_advisory_lock(hashtext(current_schema() || '.hooklog.migrate'))");
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL)');
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    for (const { version, name } of migrationFiles(MIGRATIONS_DIR)) {
      if (options.through !== undefined && version > options.through) break;
      if (done.has(version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(readFileSync(MIGRATIONS_DIR + name, 'utf8'));
        await client.query({ text: 'INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', values: [version, name] });
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${name} failed: ${(err as Error).message}`);
      }
      applied.push(version);
    }
  } finally {
    // Ending the session releases the advisory lock too.
    await client.end();
  }
  return applied;
}

/** The newest migration this code ships: a schema behind it is not ready. */
export function newestPostgresMigration(): number {
  return migrationFiles(MIGRATIONS_DIR).at(-1)?.version ?? 0;
}
