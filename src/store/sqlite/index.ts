import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Token } from '../../domain/types.js';
import { ChangeFeed } from '../change-feed.js';
import { readinessProbe } from '../readiness.js';
import type { Store } from '../store.js';
import { sqliteApplications } from './applications.js';
import { sqliteChannels } from './channels.js';
import { Checkpointer, WRITER_CHECKPOINT_PAGES } from './checkpointer.js';
import { sqliteCluster } from './cluster.js';
import { sqliteDeletion } from './deletion.js';
import { sqliteEgress } from './egress.js';
import { sqliteEndpoints } from './endpoints.js';
import { sqliteEventTypes } from './event-types.js';
import { sqliteEvents } from './events.js';
import { prepareFiles } from './files.js';
import { sqliteIdempotency } from './idempotency.js';
import { sqliteIngress } from './ingress.js';
import { sqliteIntegrations } from './integrations.js';
import { sqliteLogs } from './logs.js';
import { sqliteMessages } from './messages.js';
import { migrate, newestSqliteMigration } from './migrate.js';
import { sqliteOffsets } from './offsets.js';
import { sqliteRetention } from './retention.js';
import { sqliteTokens } from './tokens.js';
import { WalSync } from './wal-sync.js';

const SQLITE_FILE = 'hooklog.db';

export interface SqliteOptions {
  sync: 'full' | 'normal';
  /** The page cache, in MiB. */
  cacheMb: number;
  allowReadableDir: boolean;
}

const DEFAULTS: SqliteOptions = { sync: 'full', cacheMb: 32, allowReadableDir: false };

/**
 * Opens (creating if needed) the embedded database in `dataDir`.
 * WAL lets readers run beside the writer. With `sync` full (the default) every
 * write method resolves only after its commit is flushed to disk (see
 * WalSync), so it survives power loss; group commit (src/log/publisher.ts)
 * makes one flush serve many requests. With `normal` it resolves once the
 * commit reached the OS, which survives a crash of this process only.
 * A data directory that other users can read is refused unless
 * `allowReadableDir`.
 */
export function openSqliteStore(dataDir: string, options: Partial<SqliteOptions> = {}): Store {
  const { sync, cacheMb, allowReadableDir } = { ...DEFAULTS, ...options };
  const file = join(dataDir, SQLITE_FILE);
  prepareFiles(dataDir, file, { allowReadableDir });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // NORMAL leaves the WAL flush to WalSync, off the event loop; checkpoints still sync.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  // Negative: in KiB rather than pages.
  db.pragma(`cache_size = ${-cacheMb * 1024}`);
  migrate(db);
  db.pragma(`wal_autocheckpoint = ${WRITER_CHECKPOINT_PAGES}`);
  const checkpointer = new Checkpointer(file);

  const wal = new WalSync(`${file}-wal`);
  const durable = sync === 'full' ? () => wal.sync() : () => Promise.resolve();
  const tokens = sqliteTokens(db, durable);
  const feed = new ChangeFeed();
  const deletion = sqliteDeletion(db);
  const logs = sqliteLogs(db, durable, deletion, feed);
  const claim = db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('admin_bootstrapped', ?)");
  const bootstrap = db.transaction((token: Token) => {
    if (claim.run(token.id).changes === 0) return false;
    tokens.insert(token);
    return true;
  });
  const newest = newestSqliteMigration();
  // WAL readers never wait for the writer, so this answers at once unless the file itself is gone or broken.
  const applied = db.prepare<[], { version: number | null }>('SELECT max(version) AS version FROM schema_migrations');
  return {
    capabilities: { sharedByNodes: false, appendsInFlight: Infinity },
    tokens,
    logs,
    messages: sqliteMessages(db, durable, feed),
    offsets: sqliteOffsets(db, durable),
    retention: sqliteRetention(db, deletion),
    egress: sqliteEgress(db, durable, deletion, feed),
    ingress: sqliteIngress(db, durable, deletion, feed),
    cluster: sqliteCluster(db),
    applications: sqliteApplications(db, durable, logs.insert),
    endpoints: sqliteEndpoints(db, durable),
    eventTypes: sqliteEventTypes(db, durable),
    idempotency: sqliteIdempotency(db, durable),
    integrations: sqliteIntegrations(db, durable, tokens.insert),
    events: sqliteEvents(db, durable),
    channels: sqliteChannels(db, durable),
    // One process owns the file: every change is made here, and emitted after its commit.
    async watch(listener) {
      feed.subscribe(listener);
    },
    async createBootstrapToken(token) {
      const created = bootstrap.immediate(token);
      await durable();
      return created;
    },
    ready: readinessProbe(async () => applied.get()?.version ?? null, newest),
    async close() {
      await wal.close();
      await checkpointer.close();
      if (db.open) db.close();
    },
  };
}
