import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { TestServer } from './server.js';

/**
 * Runs one statement straight on a test server's database, for what no API
 * can do: making stored history old, say. `?` placeholders work on both.
 */
export async function execSql(server: TestServer, statement: string, values: unknown[] = []): Promise<void> {
  if (!server.databaseUrl) {
    const db = new Database(join(server.dataDir, 'hooklog.db'));
    try {
      db.pragma('busy_timeout = 5000');
      db.prepare(statement).run(...values);
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: server.databaseUrl });
  await client.connect();
  try {
    let n = 0;
    await client.query(
      statement.replace(/\?/g, () => `$${++n}`),
      values,
    );
  } finally {
    await client.end();
  }
}
