import { ChangeFeed } from '../change-feed.js';
import { readinessProbe } from '../readiness.js';
import type { Store, StoreChange } from '../store.js';
import { postgresApplications } from './applications.js';
import { postgresChannels } from './channels.js';
import { postgresCluster } from './cluster.js';
import { Db } from './db.js';
import { postgresEgress } from './egress.js';
import { postgresEndpoints } from './endpoints.js';
import { postgresEventTypes } from './event-types.js';
import { postgresEvents } from './events.js';
import { postgresIdempotency } from './idempotency.js';
import { postgresIngress } from './ingress.js';
import { postgresIntegrations } from './integrations.js';
import { postgresLogs } from './logs.js';
import { postgresMessages } from './messages.js';
import { migratePostgres, newestPostgresMigration } from './migrate.js';
import { postgresOffsets } from './offsets.js';
import { postgresRetention } from './retention.js';
import { insertToken, postgresTokens } from './tokens.js';
import { ChangeListener, Changes } from './watch.js';

export interface PostgresOptions {
  poolSize: number;
  /** How long a query waits for a free pooled connection; default 5 s. */
  acquireTimeoutMs?: number;
  /** The longest one pooled statement may run; default none. Migrations and the listener are never bounded. */
  statementTimeoutMs?: number;
  /** Where errors of the listening connection go; it reconnects by itself. */
  onWatchError?: (err: unknown) => void;
}

/**
 * Opens the PostgreSQL backend at `url` after applying its migrations. Several
 * hooklog nodes can share it. Every write resolves once committed, and
 * PostgreSQL's commit is durable (synchronous_commit is left on).
 */
export async function openPostgresStore(url: string, options: PostgresOptions): Promise<Store> {
  await migratePostgres(url);
  const db = new Db(url, { size: options.poolSize, acquireTimeoutMs: options.acquireTimeoutMs, statementTimeoutMs: options.statementTimeoutMs });
  let listener: ChangeListener | null = null;
  try {
    const [{ schema }] = (await db.rows<{ schema: string }>({ text: 'SELECT current_schema() AS schema' })) as [{ schema: string }];
    const newest = newestPostgresMigration();
    const changes = new Changes(`hooklog.${schema}`, new ChangeFeed());
    return {
      capabilities: { sharedByNodes: true, appendsInFlight: 2 },
      tokens: postgresTokens(db),
      logs: postgresLogs(db, changes),
      messages: postgresMessages(db, changes),
      offsets: postgresOffsets(db),
      retention: postgresRetention(db),
      egress: postgresEgress(db, changes),
      ingress: postgresIngress(db, changes),
      cluster: postgresCluster(db),
      applications: postgresApplications(db),
      endpoints: postgresEndpoints(db),
      eventTypes: postgresEventTypes(db),
      idempotency: postgresIdempotency(db),
      integrations: postgresIntegrations(db),
      events: postgresEvents(db),
      channels: postgresChannels(db),
      // This node's changes reach the feed after each commit; other nodes' through the listener.
      async watch(onChange: (change: StoreChange) => void) {
        changes.feed.subscribe(onChange);
        if (listener) return;
        listener = new ChangeListener(url, changes, options.onWatchError ?? (() => {}));
        await listener.start();
      },
      createBootstrapToken: (token) =>
        db.tx(async (q) => {
          const claimed = await q.query({
            text: "INSERT INTO meta (key, value) VALUES ('admin_bootstrapped', $1) ON CONFLICT (key) DO NOTHING",
            values: [token.id],
          });
          if (claimed.rowCount === 0) return false;
          await insertToken(q, token);
          return true;
        }),
      poolUsage: () => ({ total: db.pool.totalCount, idle: db.pool.idleCount, waiting: db.pool.waitingCount }),
      // From the pool, as requests are served: a node whose pool is exhausted for a second is not ready either.
      // The probe's own statement timeout frees its connection soon after the probe gave up, rather than
      // after the pool's (much longer) one: probes behind a lock would otherwise take the pool.
      ready: readinessProbe(
        (timeoutMs) =>
          db.tx(async (q) => {
            await q.query({ text: "SELECT set_config('statement_timeout', $1, true)", values: [String(Math.ceil(timeoutMs))] });
            const { rows } = await q.query<{ version: number | null }>({ text: 'SELECT max(version) AS version FROM schema_migrations' });
            return rows[0]?.version ?? null;
          }),
        newest,
      ),
      async close() {
        await listener?.close();
        await db.close();
      },
    };
  } catch (err) {
    await db.close();
    throw err;
  }
}
