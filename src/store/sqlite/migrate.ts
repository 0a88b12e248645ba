import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Database } from 'better-sqlite3';
import { migrationFiles } from '../readiness.js';

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
  for (const { version, name } of migrationFiles(MIGRATIONS_DIR)) {
    if (options.through !== undefined && version > options.through) break;
    db.transaction(() => {
      const applied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').get(version);
      if (applied) return;
      db.exec(readFileSync(MIGRATIONS_DIR + name, 'utf8'));
      db.prepare('INSERT INTO schema_migrations (version, name) VALUES (?, ?)').run(version, name);
    }).immediate();
  }
}

/** The newest migration this code ships: a database behind it is not ready. */
export function newestSqliteMigration(): number {
  return migrationFiles(MIGRATIONS_DIR).at(-1)?.version ?? 0;
}
