import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { TestServer } from './server.js';

/**
 * Everything a server has stored, table by table, read straight from its
 * database: a refused request must leave it exactly as it was. Left out is
 * what background work changes on its own: node heartbeats and leases,
 * ingress counters (a refused request is counted, on purpose), and delivery
 * progress (attempts, retries, message delivery states, each webhook's
 * cursor and last attempt, and how far each task got; a task created stays in).
 * Whether a webhook is active stays in: tests use retry schedules of hours,
 * so only a request can change it. Also left out: the queues of histories
 * that deletions left to the retention job, and the rows still waiting in
 * them (messages of deleted logs, delivery ids of deleted ingress webhooks),
 * which that job purges whenever it runs.
 */
const BACKGROUND_TABLES = new Set(['nodes', 'leases', 'ingress_metrics', 'delivery_attempts', 'deliveries', 'retry_set', 'deleted_logs', 'purges']);
const BACKGROUND_COLUMNS = new Set(['lease_owner', 'lease_until', 'failures', 'next_attempt_at', 'last_offset', 'last_time', 'last_response', 'last_error']);
/** How far each task got. */
const TASK_PROGRESS = new Set(['status', 'position', 'sent', 'succeeded', 'failed', 'error', 'updated_at']);

export type Snapshot = Record<string, string[]>;

export async function snapshotStore(server: TestServer): Promise<Snapshot> {
  return server.databaseUrl ? snapshotPostgres(server.databaseUrl) : snapshotSqlite(join(server.dataDir, 'hooklog.db'));
}

type Row = Record<string, unknown>;

/** Each table's rows as comparable text, without those a background purge may remove at any moment. */
function snapshotOf(tables: Record<string, Row[]>, pending: { liveLogs: Set<unknown>; purgedScopes: Set<unknown> }): Snapshot {
  const waiting = (table: string, row: Row) =>
    (table === 'messages' && !pending.liveLogs.has(row.log_seq)) || (table === 'idempotency_keys' && pending.purgedScopes.has(row.scope));
  return Object.fromEntries(
    Object.entries(tables)
      .filter(([name]) => !BACKGROUND_TABLES.has(name))
      .map(([name, rows]) => [
        name,
        rowsOf(
          name,
          rows.filter((row) => !waiting(name, row)),
        ),
      ]),
  );
}

function pendingOf(tables: Record<string, Row[]>) {
  return {
    liveLogs: new Set((tables.logs ?? []).map((row) => row.seq)),
    purgedScopes: new Set((tables.purges ?? []).filter((row) => row.kind === 'idempotency_keys').map((row) => row.id)),
  };
}

function rowsOf(table: string, rows: Array<Record<string, unknown>>): string[] {
  return rows
    .map((row) =>
      JSON.stringify(
        Object.entries(row)
          .filter(
            ([column]) =>
              !BACKGROUND_COLUMNS.has(column) &&
              !(table === 'egress_webhooks' && column === 'next_offset') &&
              !(table === 'delivery_tasks' && TASK_PROGRESS.has(column)),
          )
          .map(([column, value]) => [column, Buffer.isBuffer(value) ? value.toString('hex') : value === true ? 1 : value === false ? 0 : value]),
      ),
    )
    .sort();
}

function snapshotSqlite(file: string): Snapshot {
  if (!existsSync(file)) throw new Error(`no database at ${file}`);
  const db = new Database(file, { readonly: true });
  try {
    const names = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all();
    // One read transaction, so that the purge queue and the rows it names are seen at one moment.
    const tables = db.transaction(() => Object.fromEntries(names.map(({ name }) => [name, db.prepare(`SELECT * FROM "${name}"`).all() as Row[]])))();
    return snapshotOf(tables, pendingOf(tables));
  } finally {
    db.close();
  }
}

/** One query over every table, so that a test can take a snapshot per request. */
async function snapshotPostgres(url: string): Promise<Snapshot> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const names = (
      await client.query<{ name: string }>('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()')
    ).rows.map((row) => row.name);
    // One statement, so that the purge queue and the rows it names are seen at one moment.
    const all = names.map((name) => `SELECT '${name}' AS t, to_jsonb(x) AS row FROM "${name}" x`).join(' UNION ALL ');
    const rows = (await client.query<{ t: string; row: Row }>(all)).rows;
    const tables = Object.fromEntries(names.map((name) => [name, rows.filter((r) => r.t === name).map((r) => r.row)]));
    return snapshotOf(tables, pendingOf(tables));
  } finally {
    await client.end();
  }
}
