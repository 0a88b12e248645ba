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
 * progress (attempts, retries, each webhook's cursor and last attempt).
 * Whether a webhook is active stays in: tests use retry schedules of hours,
 * so only a request can change it.
 */
const BACKGROUND_TABLES = new Set(['nodes', 'leases', 'ingress_metrics', 'delivery_attempts', 'retry_set']);
const BACKGROUND_COLUMNS = new Set(['lease_owner', 'lease_until', 'failures', 'next_attempt_at', 'last_offset', 'last_time', 'last_response', 'last_error']);

export type Snapshot = Record<string, string[]>;

export async function snapshotStore(server: TestServer): Promise<Snapshot> {
  return server.databaseUrl ? snapshotPostgres(server.databaseUrl) : snapshotSqlite(join(server.dataDir, 'hooklog.db'));
}

function rowsOf(table: string, rows: Array<Record<string, unknown>>): string[] {
  return rows
    .map((row) =>
      JSON.stringify(
        Object.entries(row)
          .filter(([column]) => !BACKGROUND_COLUMNS.has(column) && !(table === 'egress_webhooks' && column === 'next_offset'))
          .map(([column, value]) => [column, Buffer.isBuffer(value) ? value.toString('hex') : value === true ? 1 : value === false ? 0 : value]),
      ),
    )
    .sort();
}

function snapshotSqlite(file: string): Snapshot {
  if (!existsSync(file)) throw new Error(`no database at ${file}`);
  const db = new Database(file, { readonly: true });
  try {
    const tables = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all();
    const snapshot: Snapshot = {};
    for (const { name } of tables) {
      if (!BACKGROUND_TABLES.has(name)) snapshot[name] = rowsOf(name, db.prepare(`SELECT * FROM "${name}"`).all() as Array<Record<string, unknown>>);
    }
    return snapshot;
  } finally {
    db.close();
  }
}

/** One query over every table, so that a test can take a snapshot per request. */
async function snapshotPostgres(url: string): Promise<Snapshot> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = (await client.query<{ name: string }>('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()')).rows
      .map((row) => row.name)
      .filter((name) => !BACKGROUND_TABLES.has(name));
    const all = tables.map((name) => `SELECT '${name}' AS t, to_jsonb(x) AS row FROM "${name}" x`).join(' UNION ALL ');
    const rows = (await client.query<{ t: string; row: Record<string, unknown> }>(all)).rows;
    return Object.fromEntries(
      tables.map((name) => [
        name,
        rowsOf(
          name,
          rows.filter((r) => r.t === name).map((r) => r.row),
        ),
      ]),
    );
  } finally {
    await client.end();
  }
}
