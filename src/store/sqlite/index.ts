import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Token } from '../../domain/types.js';
import type { Store } from '../store.js';
import { sqliteLogs } from './logs.js';
import { sqliteMessages } from './messages.js';
import { migrate } from './migrate.js';
import { sqliteOffsets } from './offsets.js';
import { sqliteRetention } from './retention.js';
import { sqliteTokens } from './tokens.js';

export const SQLITE_FILE = 'hooklog.db';

/**
 * Opens (creating if needed) the embedded database in `dataDir`.
 * WAL lets readers run beside the writer; synchronous=FULL makes every commit
 * durable against power loss, not only against a crash of this process. Group
 * commit (src/log/publisher.ts) keeps that affordable.
 */
export function openSqliteStore(dataDir: string): Store {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, SQLITE_FILE));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  migrate(db);

  const tokens = sqliteTokens(db);
  const claim = db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('admin_bootstrapped', ?)");
  const bootstrap = db.transaction((token: Token) => {
    if (claim.run(token.id).changes === 0) return false;
    tokens.insert(token);
    return true;
  });
  return {
    tokens,
    logs: sqliteLogs(db),
    messages: sqliteMessages(db),
    offsets: sqliteOffsets(db),
    retention: sqliteRetention(db),
    async createBootstrapToken(token) {
      return bootstrap.immediate(token);
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
