import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../src/http/app.js';
import { healthChecks } from '../src/http/health.js';
import { klevErrorBody } from '../src/protocols/klev/errors.js';
import { createSchema, postgresAvailable } from './helpers/postgres.js';
import { freePort, runCli, spawnServer } from './helpers/process.js';
import { ADMIN, eventually, request, startTestServer } from './helpers/server.js';

const postgres = await postgresAvailable();
const SHUTTING_DOWN = { status: 'unavailable', reason: 'shutting_down', detail: 'the node is shutting down' };

describe('health checks', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });
  const start = async (...args: Parameters<typeof startTestServer>) => {
    const s = await startTestServer(...args);
    cleanup.push(() => s.close());
    return s;
  };

  it('answer without a token: /healthz while the process serves, /readyz while the database is ready', async () => {
    const s = await start();
    const live = await s.request('GET', '/healthz', { token: null });
    expect([live.status, live.body]).toEqual([200, { status: 'ok' }]);
    const ready = await s.request('GET', '/readyz', { token: null });
    expect([ready.status, ready.body]).toEqual([200, { status: 'ready' }]);
    // Other methods are refused in the API's error body, not the framework's.
    const post = await s.request('POST', '/readyz', { token: null });
    expect([post.status, post.body.error]).toEqual([405, 'ERR_KLEV_API_0006']);
  });

  it('/readyz answers 503 with the reason while the SQLite database lacks a migration this code knows', async () => {
    const s = await start();
    const db = new Database(join(s.dataDir, 'hooklog.db'));
    try {
      const { version, name } = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version DESC LIMIT 1').get() as {
        version: number;
        name: string;
      };
      db.prepare('DELETE FROM schema_migrations WHERE version = ?').run(version);
      const behind = await s.request('GET', '/readyz', { token: null });
      expect(behind.status).toBe(503);
      expect(behind.body).toEqual({
        status: 'unavailable',
        reason: 'migrations_behind',
        detail: `the database is at version ${version - 1}, this code needs ${version}`,
      });
      db.prepare('INSERT INTO schema_migrations (version, name) VALUES (?, ?)').run(version, name);
      expect((await s.request('GET', '/readyz', { token: null })).status).toBe(200);
    } finally {
      db.close();
    }
  });

  it('answer through a shutdown on health_port: /readyz 503 shutting_down, /healthz 200, until the node has closed', async () => {
    const healthPort = await freePort();
    const s = await startTestServer({ healthPort });
    const health = s.server.healthUrl!;
    expect(health).toBe(`http://127.0.0.1:${healthPort}`);
    expect((await request(health, 'GET', '/readyz', { token: null })).body).toEqual({ status: 'ready' });
    // Only the health checks are served there.
    const other = await request(health, 'GET', '/logs');
    expect([other.status, other.body.error]).toEqual([404, 'ERR_KLEV_API_0005']);

    // A request still arriving holds the shutdown open (up to its grace period).
    const port = Number(new URL(s.url).port);
    const slow: Socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => slow.once('connect', resolve));
    slow.write(`POST /logs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closed = s.close();
    try {
      const ready = await request(health, 'GET', '/readyz', { token: null });
      expect([ready.status, ready.body]).toEqual([503, SHUTTING_DOWN]);
      expect((await request(health, 'GET', '/healthz', { token: null })).status).toBe(200);
    } finally {
      slow.destroy();
      await closed;
    }
    // The listener closed with the node.
    await expect(fetch(`${health}/healthz`)).rejects.toThrow();
  });

  it('on the main port, for shutdown_delay_seconds after close: /readyz 503 shutting_down while other requests are served, then the listener closes', async () => {
    const s = await startTestServer({ shutdownDelaySeconds: 2 });
    expect((await s.request('POST', '/logs', { body: { metadata: 'before' } })).status).toBe(200);
    const closed = s.close();
    let listening = true;
    void closed.then(() => (listening = false));
    try {
      const ready = await s.request('GET', '/readyz', { token: null });
      expect([ready.status, ready.body]).toEqual([503, SHUTTING_DOWN]);
      // The node drains: a balancer that has not yet noticed still gets answers, not refusals.
      expect((await s.request('POST', '/logs', { body: { metadata: 'during the delay' } })).status).toBe(200);
      expect((await s.request('GET', '/logs')).status).toBe(200);
      expect((await s.request('GET', '/healthz', { token: null })).status).toBe(200);
      expect(listening).toBe(true);
    } finally {
      await closed;
    }
    await expect(fetch(`${s.url}/readyz`)).rejects.toThrow();
  });

  it("are exempt from the app's refusal of requests while it closes: /readyz says why it is unready", async () => {
    const app = buildApp(
      { isClosing: () => true },
      { maxBodyBytes: 1024, requestTimeoutMs: 1000, keepAliveTimeoutMs: 1000, logger: pino({ level: 'silent' }), errorsFor: () => ({ body: klevErrorBody }) },
    );
    app.register(healthChecks, {
      readiness: async () => ({ ready: false, reason: 'shutting_down', detail: 'the node is shutting down' }),
      errorBody: klevErrorBody,
    });
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect([ready.statusCode, ready.json()]).toEqual([503, SHUTTING_DOWN]);
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    // Any other route is refused as before (here, the 405 of a health path).
    const refused = await app.inject({ method: 'DELETE', url: '/healthz' });
    expect([refused.statusCode, refused.json().error, refused.headers['retry-after']]).toEqual([503, 'ERR_KLEV_API_0113', '1']);
    await app.close();
  });

  describe.runIf(postgres)('on PostgreSQL', () => {
    /** A connection holding an exclusive lock on the schema's migrations table, until its ROLLBACK. */
    const lockMigrations = async (url: string) => {
      const locker = new pg.Client({ connectionString: url });
      await locker.connect();
      cleanup.push(() => locker.end());
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE');
      return locker;
    };

    it('/readyz answers 503 database_timeout while its query waits on a lock, and 200 once it is released', async () => {
      const schema = await createSchema();
      cleanup.push(() => schema.drop());
      const s = await start({ databaseUrl: schema.url });
      expect((await s.request('GET', '/readyz', { token: null })).status).toBe(200);

      // An exclusive lock on the migrations table stalls the probe as a database that hangs would.
      const locker = await lockMigrations(schema.url);
      try {
        const stalled = await s.request('GET', '/readyz', { token: null });
        expect([stalled.status, stalled.body]).toEqual([
          503,
          { status: 'unavailable', reason: 'database_timeout', detail: 'the database did not answer within 1 s' },
        ]);
        // Liveness does not touch the database.
        expect((await s.request('GET', '/healthz', { token: null })).status).toBe(200);
      } finally {
        await locker.query('ROLLBACK');
      }
      await eventually(async () => expect((await s.request('GET', '/readyz', { token: null })).status).toBe(200));
    });

    it('probes behind a lock share one query, which gives its connection back after the probe time though the lock is still held', async () => {
      const schema = await createSchema();
      cleanup.push(() => schema.drop());
      // An api node: no delivery or retention work takes connections meanwhile.
      const s = await start({ databaseUrl: schema.url, role: 'api' });
      const inUse = () => {
        const pool = s.server.store.poolUsage!();
        return pool.total - pool.idle;
      };
      const locker = await lockMigrations(schema.url);
      try {
        let most = 0;
        const sampler = setInterval(() => (most = Math.max(most, inUse())), 10);
        try {
          for (let round = 0; round < 2; round++) {
            const probes = await Promise.all(Array.from({ length: 5 }, () => s.request('GET', '/readyz', { token: null })));
            expect(probes.map((probe) => [probe.status, probe.body.reason])).toEqual(Array(5).fill([503, 'database_timeout']));
          }
        } finally {
          clearInterval(sampler);
        }
        expect(most).toBe(1);
        // The probe's statement timeout, not the lock's release, frees the connection.
        await eventually(() => expect(inUse()).toBe(0));
      } finally {
        await locker.query('ROLLBACK');
      }
      expect((await s.request('GET', '/readyz', { token: null })).status).toBe(200);
    });

    it('a start that cannot bind health_port leaves nothing running: the API port is free again and no database connection stays open', async () => {
      const schema = await createSchema();
      cleanup.push(() => schema.drop());
      const taken = createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      cleanup.push(() => new Promise((resolve) => taken.close(resolve)));
      const healthPort = (taken.address() as AddressInfo).port;
      const port = await freePort();
      const name = `hooklog-failed-start-${process.pid}-${Date.now()}`;
      const url = new URL(schema.url);
      url.searchParams.set('application_name', name);
      await expect(startTestServer({ databaseUrl: url.toString(), port, healthPort })).rejects.toThrow(/EADDRINUSE/);
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
      const admin = new pg.Client({ connectionString: schema.url });
      await admin.connect();
      try {
        const open = async () =>
          (await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [name])).rows[0]!.n;
        await eventually(async () => expect(await open()).toBe(0));
      } finally {
        await admin.end();
      }

      // `serve` says so in one line and exits non-zero.
      const refused = await runCli(['serve'], {
        HOOKLOG_DATABASE_URL: schema.url,
        HOOKLOG_ADMIN_TOKEN: ADMIN,
        HOOKLOG_HOST: '127.0.0.1',
        HOOKLOG_PORT: String(await freePort()),
        HOOKLOG_HEALTH_PORT: String(healthPort),
      });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toBe(`hooklog: cannot start: listen EADDRINUSE: address already in use 127.0.0.1:${healthPort}\n`);
    });

    it('a worker, which has no API listener, serves the health checks on health_port, and closes it when it stops', async () => {
      const schema = await createSchema();
      cleanup.push(() => schema.drop());
      const healthPort = await freePort();
      const metricsToken = 'worker-metrics-token-0123456789';
      const worker = await spawnServer(
        { HOOKLOG_DATABASE_URL: schema.url, HOOKLOG_ADMIN_TOKEN: ADMIN, HOOKLOG_HEALTH_PORT: String(healthPort), HOOKLOG_METRICS_TOKEN: metricsToken },
        ['--role', 'worker'],
      );
      cleanup.push(async () => {
        if (worker.proc.exitCode === null) worker.proc.kill('SIGKILL');
        await worker.exited;
      });
      const health = `http://127.0.0.1:${healthPort}`;
      expect(worker.stdout()).toContain(`worker running (data in PostgreSQL`);
      expect(worker.stdout()).toContain(`health checks on ${health}`);
      expect((await request(health, 'GET', '/healthz', { token: null })).body).toEqual({ status: 'ok' });
      expect((await request(health, 'GET', '/readyz', { token: null })).body).toEqual({ status: 'ready' });
      // Nothing of the API is served there, but the worker's metrics are: it is the node that delivers.
      expect((await request(health, 'GET', '/logs')).status).toBe(404);
      expect((await fetch(`${health}/metrics`)).status).toBe(401);
      const scraped = await fetch(`${health}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
      expect(scraped.status).toBe(200);
      expect(await scraped.text()).toMatch(/^hooklog_leases_held\{kind="retention"\} [01]$/m);

      worker.proc.kill('SIGTERM');
      expect((await worker.exited).code).toBe(0);
      await expect(fetch(`${health}/healthz`)).rejects.toThrow();
    });
  });
});
