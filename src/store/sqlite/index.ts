import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { SqliteSync } from '../../config/schema.js';
import type { Token } from '../../domain/types.js';
import type { Store } from '../store.js';
import { sqliteCluster } from './cluster.js';
import { sqliteEgress } from './egress.js';
import { sqliteIngress } from './ingress.js';
import { sqliteLogs } from './logs.js';
import { sqliteMessages } from './messages.js';
import { migrate } from './migrate.js';
import { sqliteOffsets } from './offsets.js';
import { sqliteRetention } from './retention.js';
import { sqliteTokens } from './tokens.js';
import { WalSync } from './wal-sync.js';

const SQLITE_FILE = 'hooklog.db';

/**
 * Opens (creating if needed) the embedded database in `dataDir`.
 * WAL lets readers run beside the writer. With `sync` full (the default) every
 * write method resolves only after its commit is flushed to disk (see
 * WalSync), so it survives power loss; group commit (src/log/publisher.ts)
 * makes one flush serve many requests. With `normal` it resolves once the
 * commit reached the OS, which survives a crash of this process only.
 */
export function openSqliteStore(dataDir: string, sync: SqliteSync = 'full'): Store {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, SQLITE_FILE));
  db.pragma('journal_mode = WAL');
  // NORMAL leaves the WAL flush to WalSync, off the event loop; checkpoints still sync.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  migrate(db);

  const wal = new WalSync(`${join(dataDir, SQLITE_FILE)}-wal`);
  const durable = sync === 'full' ? () => wal.sync() : () => Promise.resolve();
  const tokens = sqliteTokens(db, durable);
  const egress = sqliteEgress(db, durable);
  const ingress = sqliteIngress(db, durable);
  // Webhooks cannot outlive their log, whose offsets never come back.
  const removeWebhooksOf = (logId: string) => {
    egress.removeForLog(logId);
    ingress.removeForLog(logId);
  };
  const claim = db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('admin_bootstrapped', ?)");
  const bootstrap = db.transaction((token: Token) => {
    if (claim.run(token.id).changes === 0) return false;
    tokens.insert(token);
    return true;
  });
  return {
    capabilities: { sharedByNodes: false, appendsInFlight: Infinity },
    tokens,
    logs: sqliteLogs(db, durable, removeWebhooksOf),
    messages: sqliteMessages(db, durable),
    offsets: sqliteOffsets(db, durable),
    retention: sqliteRetention(db),
    egress,
    ingress,
    cluster: sqliteCluster(db),
    // One process: its publisher and API tell its notifier and dispatcher directly.
    async watch() {},
    async createBootstrapToken(token) {
      const created = bootstrap.immediate(token);
      await durable();
      return created;
    },
    async close() {
      await wal.close();
      if (db.open) db.close();
    },
  };
}
