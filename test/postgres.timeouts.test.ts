import pg from 'pg';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { createSchema, postgresAvailable, TEST_DATABASE_URL, type TestSchema } from './helpers/postgres.js';
import { startReceiver } from './helpers/receiver.js';
import { eventually, startTestServer, type TestServer } from './helpers/server.js';

const available = await postgresAvailable();

/** A connection of the test's own, outside the server's pool, that holds locks on the schema's tables. */
async function lockHolder(schema: TestSchema) {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  onTestFinished(() => client.end());
  return {
    async lock(tables: string[]) {
      await client.query('BEGIN');
      await client.query(`LOCK TABLE ${tables.map((table) => `${schema.name}.${table}`).join(', ')} IN ACCESS EXCLUSIVE MODE`);
    },
    release: () => client.query('COMMIT'),
    /** Statements of the server waiting for a lock in this schema. */
    async waiting(): Promise<number> {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace s ON s.oid = c.relnamespace
         WHERE NOT l.granted AND s.nspname = $1`,
        [schema.name],
      );
      return rows[0]!.n;
    },
  };
}

describe.runIf(available)('PostgreSQL timeouts', () => {
  let s: TestServer | undefined;
  let schema: TestSchema | undefined;
  afterEach(async () => {
    await s?.close();
    await schema?.drop();
    s = undefined;
    schema = undefined;
  });

  async function serve(overrides: Parameters<typeof startTestServer>[0]) {
    schema = await createSchema();
    s = await startTestServer({
      databaseUrl: schema.url,
      allowPrivateDestinations: true,
      retentionIntervalSeconds: 1,
      channels: [{ name: 'busy', token: 'busy-channel-token-0123' }],
      ...overrides,
    });
    return s;
  }

  it('answers 503 database_busy with Retry-After in every dialect while a lock outlasts the statement timeout, and 2xx once it is released', async () => {
    const server = await serve({ databaseStatementTimeoutSeconds: 1 });
    const receiver = await startReceiver();
    onTestFinished(() => receiver.close());
    const log = (await server.request('POST', '/logs', { body: {} })).body.log_id;
    expect((await server.request('POST', '/egress_webhooks', { body: { log_id: log, destination: receiver.url } })).status).toBe(200);
    const holder = await lockHolder(schema!);

    const calls = {
      klev: () => server.request('GET', '/logs'),
      svix: () => server.request('GET', '/api/v1/app'),
      events: () => server.request('GET', '/api/events'),
      kwp: () => server.request('GET', '/api/webhook/busy', { token: 'busy-channel-token-0123' }),
      publish: () => server.request('POST', `/message/${log}`, { body: { value: 'x' } }),
    };
    // The tables those calls read or write, and the leases the delivery and retention jobs renew.
    await holder.lock(['logs', 'applications', 'events', 'channels', 'leases']);
    const answers = await Promise.all(Object.values(calls).map((call) => call()));
    for (const answer of answers) {
      expect(answer.status).toBe(503);
      expect(answer.headers.get('retry-after')).toBe('5');
    }
    const [klev, svix, events, kwp, publish] = answers.map((answer) => answer.body);
    expect(klev).toMatchObject({ error: 'ERR_KLEV_API_0161' });
    expect(svix).toMatchObject({ code: 'database_busy' });
    expect(events).toMatchObject({ code: 'DATABASE_BUSY' });
    expect(kwp).toMatchObject({ code: 'ERR_KLEV_API_0161' });
    expect(publish).toMatchObject({ error: 'ERR_KLEV_API_0161' });

    await holder.release();
    for (const call of Object.values(calls)) expect((await call()).status).toBe(200);
    // The delivery job ran into the same locks and carries on: the message published now is delivered.
    await receiver.waitFor(1);
    expect(JSON.parse(receiver.received[0]!.body.toString()).value).toBe('x');
  });

  it('answers 503 database_busy when no pooled connection becomes free in time, and serves again once one does', async () => {
    const server = await serve({ databasePoolSize: 1, databaseAcquireTimeoutSeconds: 1, databaseStatementTimeoutSeconds: 60 });
    const log = (await server.request('POST', '/logs', { body: {} })).body.log_id;
    const holder = await lockHolder(schema!);
    await holder.lock(['logs']);
    // This request holds the pool's one connection, waiting for the lock.
    const stuck = server.request('GET', `/log/${log}`);
    await eventually(async () => expect(await holder.waiting()).toBeGreaterThan(0));

    const refused = await server.request('GET', '/api/v1/app');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(refused.body).toMatchObject({ code: 'database_busy', detail: expect.stringContaining('no database connection became free') });

    await holder.release();
    expect((await stuck).status).toBe(200);
    expect((await server.request('GET', '/api/v1/app')).status).toBe(200);
  });
});
