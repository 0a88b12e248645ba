import { afterEach, describe, expect, it } from 'vitest';
import { privatePostgresAvailable, startPrivatePostgres } from './helpers/private-postgres.js';
import { spawnServer } from './helpers/process.js';
import { ADMIN, eventually, request } from './helpers/server.js';

describe.runIf(privatePostgresAvailable())('readiness while PostgreSQL is down', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('/readyz answers 503 database_unreachable while the database is stopped, /healthz stays 200, and /readyz is 200 again once it is back', async () => {
    // A cluster of the test's own: the outage must not reach a server other work uses.
    const postgres = await startPrivatePostgres();
    cleanup.push(() => postgres.remove());
    const node = await spawnServer({ HOOKLOG_DATABASE_URL: postgres.url, HOOKLOG_ADMIN_TOKEN: ADMIN });
    cleanup.push(async () => {
      if (node.proc.exitCode === null) node.proc.kill('SIGKILL');
      await node.exited;
    });
    expect((await request(node.url, 'GET', '/readyz', { token: null })).body).toEqual({ status: 'ready' });

    await postgres.stop('immediate');
    try {
      // The unauthenticated answer names no host or driver error: those go to the log.
      for (let probe = 0; probe < 3; probe++) {
        const down = await request(node.url, 'GET', '/readyz', { token: null });
        expect([down.status, down.body]).toEqual([503, { status: 'unavailable', reason: 'database_unreachable', detail: 'the database cannot be reached' }]);
      }
      expect((await request(node.url, 'GET', '/healthz', { token: null })).body).toEqual({ status: 'ok' });
      // A request that needs the database is told when to come back.
      const refused = await request(node.url, 'GET', '/logs');
      expect([refused.status, refused.body.error, refused.headers.get('retry-after')]).toEqual([503, 'ERR_KLEV_API_0121', '5']);
    } finally {
      await postgres.start();
    }
    await eventually(async () => expect((await request(node.url, 'GET', '/readyz', { token: null })).body).toEqual({ status: 'ready' }), 20_000);
    expect(node.proc.exitCode).toBeNull();
    // Logged once per change, not once per probe: the cause at warn, the recovery at info.
    // The node's stdout reaches this process a moment after its answers.
    await eventually(() => {
      const lines = node
        .stdout()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line));
      const unready = lines.filter((line) => line.msg === 'not ready: the database cannot be reached');
      expect(unready).toHaveLength(1);
      expect(unready[0]).toMatchObject({ level: 40, reason: 'database_unreachable', err: { message: expect.stringMatching(/cannot be reached \(.+\)/) } });
      expect(lines.filter((line) => line.msg === 'ready again')).toHaveLength(1);
    });
  });
});
