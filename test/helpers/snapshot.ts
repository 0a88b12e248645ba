import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { TestServer } from './server.js';

/**
 * Everything a server has stored, table by table, read straight from its
 * database: a refused request must leave it exactly as it was. Every table
 * is read, whatever its name, so a table a migration adds is covered at once:
 * the Svix dialect's applications, endpoints, event types, integrations and
 * the answers kept for idempotency keys, and the columns it added to tokens
 * (the application a token was made for, when it expires). None of those
 * changes without a request: an expired token stays until it is deleted,
 * and the retention job forgets a kept answer only after 12 hours. Left out is
 * what background work changes on its own: node heartbeats and leases,
 * ingress counters (a refused request is counted, on purpose), and delivery
 * progress (attempts, retries, message delivery states, each webhook's
 * cursor and last attempt, and how far each task got; a task created stays in).
 * Whether a webhook is active stays in: tests use retry schedules of hours,
 * so only a request can change it. Also left out: the queues of histories
 * that deletions left to the retention job, and the rows still waiting in
 * them (messages of deleted logs, delivery ids of deleted ingress webhooks),
 * which that job purges whenever it runs. Requests refused for their
 * signature are kept in the quarantine on purpose, as they are counted: those
 * event records are left out too, but not those of accepted requests.
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
function snapshotOf(tables: Record<string, Row[]>, pending: ReturnType<typeof pendingOf>): Snapshot {
  const waiting = (table: string, row: Row) =>
    (table === 'messages' && !pending.liveLogs.has(row.log_seq)) ||
    (table === 'idempotency_keys' && pending.purgedScopes.has(row.scope)) ||
    (table === 'events' && (row.reason !== null || pending.purgedLogs.has(row.log_id)));
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
    purgedLogs: new Set((tables.purges ?? []).filter((row) => row.kind === 'events').map((row) => row.id)),
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

/**
 * One connection per database, kept while snapshots follow each other and
 * closed once they stop: connecting and listing the tables cost ten times
 * what reading them does, and the fuzzer takes a snapshot per request. A
 * server's tables are all made before it answers, so the list is kept too.
 */
const IDLE_MS = 500;
interface Connection {
  client: Promise<pg.Client>;
  /** The statement that reads every table at once, and the tables it reads. */
  statement: Promise<{ names: string[]; text: string }>;
  /** Snapshots under way. */
  users: number;
  idle?: NodeJS.Timeout;
}
const connections = new Map<string, Connection>();

function acquire(url: string): Connection {
  const kept = connections.get(url);
  if (kept) {
    clearTimeout(kept.idle);
    kept.users++;
    return kept;
  }
  const client = (async () => {
    const made = new pg.Client({ connectionString: url });
    // A connection that breaks is forgotten; the next snapshot makes another.
    made.on('error', () => forget(url, connection));
    await made.connect();
    return made;
  })();
  const statement = client.then(async (ready) => {
    const names = (
      await ready.query<{ name: string }>('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()')
    ).rows.map((row) => row.name);
    return { names, text: names.map((name) => `SELECT '${name}' AS t, to_jsonb(x) AS row FROM "${name}" x`).join(' UNION ALL ') };
  });
  const connection: Connection = { client, statement, users: 1 };
  connections.set(url, connection);
  return connection;
}

function release(url: string, connection: Connection): void {
  connection.users--;
  if (connection.users > 0) return;
  clearTimeout(connection.idle);
  connection.idle = setTimeout(() => forget(url, connection), IDLE_MS);
  connection.idle.unref();
}

function forget(url: string, connection: Connection): void {
  if (connections.get(url) !== connection) return;
  connections.delete(url);
  clearTimeout(connection.idle);
  void connection.client.then((client) => client.end()).catch(() => {});
}

/** One statement over every table, so that a test can take a snapshot per request. */
async function snapshotPostgres(url: string): Promise<Snapshot> {
  const connection = acquire(url);
  try {
    const client = await connection.client;
    const { names, text } = await connection.statement;
    // One statement, so that the purge queue and the rows it names are seen at one moment.
    const rows = (await client.query<{ t: string; row: Row }>(text)).rows;
    const tables = Object.fromEntries(names.map((name) => [name, rows.filter((r) => r.t === name).map((r) => r.row)]));
    return snapshotOf(tables, pendingOf(tables));
  } catch (err) {
    forget(url, connection);
    throw err;
  } finally {
    release(url, connection);
  }
}
