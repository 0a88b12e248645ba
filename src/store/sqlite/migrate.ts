import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Database } from 'better-sqlite3';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations/sqlite/', import.meta.url));

/**
 * Applies the numbered, forward-only migrations that this database has not
 * seen, each in its own transaction. `BEGIN IMMEDIATE` takes the write lock
 * first, so a second process opening the same file waits instead of racing.
 * `through` stops after that version; tests use it to check a migration
 * against data written by the schema before it.
 */
export function migrate(db: Database, options: { through?: number } = {}): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)');
  const files = readdirSync(MIGRATIONS_DIR)
    .filter((name) => /^\d+_.+\.sql$/.test(name))
    .sort();
  for (const name of files) {
    const version = Number.parseInt(name, 10);
    if (options.through !== undefined && version > options.through) break;
    db.transaction(() => {
      const applied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').get(version);
      if (applied) return;
      db.exec(readFileSync(MIGRATIONS_DIR + name, 'utf8'));
      db.prepare('INSERT INTO schema_migrations (version, name) VALUES (?, ?)').run(version, name);
    }).immediate();
  }
}
