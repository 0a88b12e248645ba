import pg from 'pg';
import { randomBase62 } from '../../src/domain/ids.js';

/** The database the PostgreSQL tests use; each test gets a schema of its own in it. */
export const TEST_DATABASE_URL = process.env.HOOKLOG_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let reachable: Promise<boolean> | undefined;

/**
 * Whether the test database answers. When it does not, PostgreSQL tests are
 * skipped with a message on stderr, except under CI=true, where that is a
 * failure: CI must test both backends.
 */
export async function postgresAvailable(): Promise<boolean> {
  reachable ??= (async () => {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch (err) {
      const why = `PostgreSQL at ${TEST_DATABASE_URL} is not reachable (${(err as Error).message})`;
      if (process.env.CI === 'true') throw new Error(`${why}; CI requires it (set HOOKLOG_TEST_DATABASE_URL or start the server)`);
      process.stderr.write(`\n  SKIPPING PostgreSQL tests: ${why}. Set HOOKLOG_TEST_DATABASE_URL to run them.\n\n`);
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return reachable;
}

export interface TestSchema {
  /** HOOKLOG_DATABASE_URL for this schema. */
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A fresh, empty schema, and a URL whose connections use it. */
export async function createSchema(): Promise<TestSchema> {
  const name = `hooklog_test_${randomBase62(10).toLowerCase()}`;
  await adminQuery(`CREATE SCHEMA ${name}`);
  const url = new URL(TEST_DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${name}`);
  return { url: url.toString(), name, drop: async () => void (await adminQuery(`DROP SCHEMA IF EXISTS ${name} CASCADE`)) };
}

export async function adminQuery(text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}
