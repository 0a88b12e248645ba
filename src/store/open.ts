import type { Config } from '../config/schema.js';
import { openPostgresStore } from './postgres/index.js';
import { openSqliteStore } from './sqlite/index.js';
import type { Store } from './store.js';

/** The backend the configuration names: PostgreSQL when `database_url` is set, SQLite in `data_dir` otherwise. */
export async function openStore(config: Config, logger: { warn(obj: object, msg: string): void }): Promise<Store> {
  if (!config.databaseUrl) return openSqliteStore(config.dataDir, config.sqliteSync);
  return openPostgresStore(config.databaseUrl, {
    poolSize: config.databasePoolSize,
    onWatchError: (err) => logger.warn({ err }, 'lost the database connection that hears other nodes; reconnecting'),
  });
}
