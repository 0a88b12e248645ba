import { afterEach, describe, expect, it } from 'vitest';
import { privatePostgresAvailable, startPrivatePostgres } from './helpers/private-postgres.js';
import { type ServerProcess, spawnServer } from './helpers/process.js';
import { startReceiver } from './helpers/receiver.js';
import { ADMIN, eventually, request } from './helpers/server.js';

describe.runIf(privatePostgresAvailable())('PostgreSQL restarts while two nodes run', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('requests in the outage get 503 with a clear code, the nodes reconnect by themselves, and nothing acknowledged is lost', async () => {
    // A cluster of the test's own: the outage below must not reach a server other work uses.
    const postgres = await startPrivatePostgres();
    cleanup.push(() => postgres.remove());
    const env = { HOOKLOG_DATABASE_URL: postgres.url, HOOKLOG_ADMIN_TOKEN: ADMIN, HOOKLOG_ALLOW_PRIVATE_DESTINATIONS: 'true', HOOKLOG_LEASE_SECONDS: '3' };
    const nodes: ServerProcess[] = await Promise.all([spawnServer(env), spawnServer(env)]);
    cleanup.push(async () => {
      for (const node of nodes) if (node.proc.exitCode === null) node.proc.kill('SIGKILL');
      await Promise.all(nodes.map((node) => node.exited));
    });
    const [a, b] = nodes as [ServerProcess, ServerProcess];
    const receiver = await startReceiver();
    cleanup.push(() => receiver.close());
    const log = (await request(a.url, 'POST', '/logs', { body: {} })).body.log_id;
    await request(a.url, 'POST', '/egress_webhooks', { body: { log_id: log, destination: receiver.url } });

    // Publishers on both nodes, from before the outage until after it.
    const acknowledged: string[] = [];
    const refusals: Array<{ status: number; code?: string }> = [];
    let publishing = true;
    const publisher = async (node: ServerProcess, name: string) => {
      for (let i = 0; publishing; i++) {
        const response = await request(node.url, 'POST', `/message/${log}`, { body: { value: `${name}:${i}` } });
        if (response.status === 200) acknowledged.push(`${name}:${i}`);
        else {
          refusals.push({ status: response.status, code: response.body?.error });
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    };
    const publishers = [a, b].flatMap((node, n) => [0, 1, 2].map((p) => publisher(node, `${n}-${p}`)));

    await eventually(() => expect(acknowledged.length).toBeGreaterThan(100));
    await postgres.stop('immediate');
    try {
      await eventually(() => {
        // A node that died has nobody left to refuse; say so rather than count refusals that never come.
        for (const node of nodes) expect(node.proc.exitCode, `a node exited in the outage:\n${node.stderr()}`).toBeNull();
        expect(refusals.length).toBeGreaterThan(10);
      });
      // A read during the outage fails the same clear way.
      const read = await request(b.url, 'GET', `/messages/${log}`, { query: { offset: -2 } });
      expect(read.status).toBe(503);
      expect(read.body.error).toBe('ERR_KLEV_API_0121');
    } finally {
      await postgres.start();
    }
    const before = acknowledged.length;
    // Both nodes serve again without a restart of their own.
    await eventually(() => expect(acknowledged.length).toBeGreaterThan(before + 100), 20_000);
    publishing = false;
    await Promise.all(publishers);

    expect(nodes.every((node) => node.proc.exitCode === null)).toBe(true);
    expect(new Set(refusals.map((r) => `${r.status} ${r.code}`))).toEqual(new Set(['503 ERR_KLEV_API_0121']));

    const stored = await request(a.url, 'GET', `/messages/${log}`, { query: { offset: -2, len: 10_000 } });
    const values = new Set((stored.body.messages as Array<{ value: string }>).map((m) => m.value));
    expect(acknowledged.filter((value) => !values.has(value))).toEqual([]);
    const offsets = (stored.body.messages as Array<{ offset: number }>).map((m) => m.offset);
    expect(offsets).toEqual(offsets.map((_, i) => i));

    // The listening connections came back: a long-poll on A wakes for a publish on B.
    const next = offsets.length;
    const polling = request(a.url, 'GET', `/messages/${log}`, { query: { offset: next, poll: 30_000 } });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const published = Date.now();
    await request(b.url, 'POST', `/message/${log}`, { body: { value: 'after' } });
    expect((await polling).body.messages.map((m: { value: string }) => m.value)).toEqual(['after']);
    expect(Date.now() - published).toBeLessThan(2_000);

    // Delivery carried on from its stored cursor: every message reaches the receiver.
    await eventually(() => {
      const seen = new Set(receiver.received.map((r) => JSON.parse(r.body.toString()).offset as number));
      expect(seen.size).toBe(next + 1);
    }, 30_000);

    // A clean stop still works after the outage.
    for (const node of nodes) node.proc.kill('SIGTERM');
    expect((await Promise.all(nodes.map((node) => node.exited))).map((e) => e.code)).toEqual([0, 0]);
  });
});
