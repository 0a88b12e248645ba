import { existsSync } from 'node:fs';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { TEST_DATABASE_URL } from './helpers/postgres.js';
import { type PrivatePostgres, privatePostgresAvailable, startPrivatePostgres } from './helpers/private-postgres.js';

/** When the server at `url` started, or null when none answers there. */
async function startedAt(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    return (await client.query('SELECT pg_postmaster_start_time()::text AS started')).rows[0].started;
  } catch {
    return null;
  } finally {
    await client.end().catch(() => {});
  }
}

describe.runIf(privatePostgresAvailable())('startPrivatePostgres', () => {
  const clusters: PrivatePostgres[] = [];
  afterEach(async () => {
    for (const cluster of clusters.splice(0)) await cluster.remove();
  });

  it('stops, starts and removes a server of its own', async () => {
    const postgres = await startPrivatePostgres();
    clusters.push(postgres);
    const first = await startedAt(postgres.url);
    expect(first).not.toBeNull();

    await postgres.stop('immediate');
    expect(await startedAt(postgres.url)).toBeNull();
    await postgres.start();
    const second = await startedAt(postgres.url);
    expect(second).not.toBeNull();
    expect(second).not.toBe(first);

    await postgres.remove();
    expect(await startedAt(postgres.url)).toBeNull();
    expect(existsSync(postgres.dir)).toBe(false);
  });

  it('leaves the server at HOOKLOG_TEST_DATABASE_URL running while its own is down', async (context) => {
    const before = await startedAt(TEST_DATABASE_URL);
    if (before === null) context.skip(`nothing answers at ${TEST_DATABASE_URL}`);
    const postgres = await startPrivatePostgres();
    clusters.push(postgres);

    await postgres.stop('immediate');
    // The same start time: not only up, but never stopped and started again.
    expect(await startedAt(TEST_DATABASE_URL)).toBe(before);
    await postgres.start();
    await postgres.stop('fast');
    expect(await startedAt(TEST_DATABASE_URL)).toBe(before);
  });
});
