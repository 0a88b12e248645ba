import { afterEach, describe, expect, it } from 'vitest';
import { adminQuery, createSchema, postgresAvailable, type TestSchema } from './helpers/postgres.js';
import { type ServerProcess, spawnServer } from './helpers/process.js';
import { type Receiver, startReceiver } from './helpers/receiver.js';
import { ADMIN, eventually, request } from './helpers/server.js';

/**
 * Several hooklog processes on one PostgreSQL schema, each on its own port,
 * as users run them behind a load balancer.
 */
describe.runIf(await postgresAvailable())('several nodes on one PostgreSQL database', () => {
  let schema: TestSchema;
  let env: Record<string, string>;
  const nodes: ServerProcess[] = [];
  const receivers: Receiver[] = [];

  const start = async (...args: string[]) => {
    const node = await spawnServer(env, args);
    nodes.push(node);
    return node;
  };
  const receiver = async () => {
    const r = await startReceiver();
    receivers.push(r);
    return r;
  };

  const setUp = async (extra: Record<string, string> = {}) => {
    schema = await createSchema();
    env = {
      HOOKLOG_DATABASE_URL: schema.url,
      HOOKLOG_ADMIN_TOKEN: ADMIN,
      HOOKLOG_ALLOW_PRIVATE_DESTINATIONS: 'true',
      HOOKLOG_LEASE_SECONDS: '1.5',
      HOOKLOG_RETRY_SCHEDULE: '0,0.1,0.1,0.1',
      ...extra,
    };
  };

  afterEach(async () => {
    for (const node of nodes.splice(0)) {
      if (node.proc.exitCode === null && node.proc.signalCode === null) node.proc.kill('SIGKILL');
      await node.exited;
    }
    await Promise.all(receivers.splice(0).map((r) => r.close()));
    await schema.drop();
  });

  const offsetsAt = (r: Receiver, path: string) => r.received.filter((x) => x.path === path).map((x) => JSON.parse(x.body.toString()).offset as number);

  it('publishing through either node gives each log one gap-free, strictly increasing offset sequence', async () => {
    await setUp();
    // Started together: the migration lock makes them take turns.
    const [a, b] = await Promise.all([start(), start()]);
    const logs = [(await request(a.url, 'POST', '/logs', { body: {} })).body.log_id, (await request(b.url, 'POST', '/logs', { body: {} })).body.log_id];

    // 8 publishers per node, each publishing 24 messages in turn, alternating logs.
    const publisher = async (node: ServerProcess, name: string) => {
      for (let i = 0; i < 24; i++) {
        const log = logs[i % 2];
        const response = await request(node.url, 'POST', `/message/${log}`, { body: { value: `${name}:${i}` } });
        expect(response.status).toBe(200);
      }
    };
    await Promise.all([a, b].flatMap((node, n) => Array.from({ length: 8 }, (_, p) => publisher(node, `${n}-${p}`))));

    for (const log of logs) {
      const read = await request(b.url, 'GET', `/messages/${log}`, { query: { offset: -2, len: 1000 } });
      const messages = read.body.messages as Array<{ offset: number; value: string }>;
      expect(messages.map((m) => m.offset)).toEqual(Array.from({ length: 16 * 12 }, (_, i) => i));
      // Each publisher's messages appear in the order it sent them.
      const byPublisher = new Map<string, number[]>();
      for (const m of messages) {
        const [name, i] = m.value.split(':') as [string, string];
        byPublisher.set(name, [...(byPublisher.get(name) ?? []), Number(i)]);
      }
      expect(byPublisher.size).toBe(16);
      for (const sent of byPublisher.values()) expect(sent).toEqual([...sent].sort((x, y) => x - y));
    }
  });

  it('a long-poll on one node wakes when a message is published through the other', async () => {
    await setUp();
    const [a, b] = await Promise.all([start(), start()]);
    const log = (await request(a.url, 'POST', '/logs', { body: {} })).body.log_id;
    for (let round = 0; round < 3; round++) {
      const started = Date.now();
      const polling = request(a.url, 'GET', `/messages/${log}`, { query: { offset: round, poll: 30_000 } });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const published = Date.now();
      await request(b.url, 'POST', `/message/${log}`, { body: { value: `m${round}` } });
      const answer = await polling;
      expect(answer.body.messages.map((m: { value: string }) => m.value)).toEqual([`m${round}`]);
      // Woken by the other node's NOTIFY, not by the 30 s poll running out.
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(Date.now() - published).toBeLessThan(2_000);
    }
  });

  it('api and worker roles: each attempt is made by exactly one worker, in order, and the workers share the webhooks', async () => {
    await setUp();
    const api = await start('--role', 'api');
    const workers = await Promise.all([start('--role', 'worker'), start('--role', 'worker')]);
    expect(workers.map((w) => w.url)).toEqual(['', '']);
    const r = await receiver();
    const log = (await request(api.url, 'POST', '/logs', { body: {} })).body.log_id;
    const paths = Array.from({ length: 6 }, (_, i) => `/hook?w=${i}`);
    for (const path of paths) {
      const created = await request(api.url, 'POST', '/egress_webhooks', { body: { log_id: log, destination: r.url.replace('/hook', path) } });
      expect(created.status).toBe(200);
    }
    const total = 40;
    for (let i = 0; i < total; i++) await request(api.url, 'POST', `/message/${log}`, { body: { value: String(i) } });

    await r.waitFor(paths.length * total, 20_000);
    // Nothing more arrives: no second node repeats an attempt.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(r.received).toHaveLength(paths.length * total);
    for (const path of paths) expect(offsetsAt(r, path)).toEqual(Array.from({ length: total }, (_, i) => i));

    const owners = await adminQuery(`SELECT DISTINCT lease_owner FROM ${schema.name}.egress_webhooks`);
    expect(owners.rows).toHaveLength(2);
    const attempts = await adminQuery(`SELECT count(*)::int AS n FROM ${schema.name}.delivery_attempts`);
    expect(attempts.rows[0].n).toBe(paths.length * total);
  });

  it('a resend, replay and recover through node A are sent by node B, which holds the lease', async () => {
    await setUp();
    const b = await start();
    const r = await receiver();
    const log = (await request(b.url, 'POST', '/logs', { body: {} })).body.log_id;
    const webhook = (await request(b.url, 'POST', '/egress_webhooks', { body: { log_id: log, destination: r.url, mode: 'parallel' } })).body.webhook_id;
    r.respond = (arrived) => (JSON.parse(arrived.body.toString()).value === 'broken' ? { status: 500 } : undefined);
    await request(b.url, 'POST', `/messages/${log}`, { body: { messages: [{ value: 'a' }, { value: 'broken' }] } });
    await r.waitFor(5);
    const owner = async () => (await adminQuery(`SELECT lease_owner FROM ${schema.name}.egress_webhooks`)).rows[0].lease_owner as string;
    const holder = await owner();
    expect(holder).toBeTruthy();

    // A serves the API only: it can never hold the lease.
    const a = await start('--role', 'api');
    const finished = async (path: string, body: object) => {
      const answer = await request(a.url, 'POST', `/egress_webhook/${webhook}/${path}`, { body });
      expect(answer.status).toBe(202);
      return eventually(async () => {
        const task = (await request(a.url, 'GET', `/tasks/${answer.body.task_id}`)).body;
        expect(task.status).toBe('finished');
        return task;
      }, 15_000);
    };
    expect(await finished('resend', { offset: 0 })).toMatchObject({ sent: 1, succeeded: 1 });
    expect(await finished('replay', { since: 0, until: 2 })).toMatchObject({ sent: 2, succeeded: 1, failed: 1 });
    r.respond = undefined;
    expect(await finished('recover', { since: 0 })).toMatchObject({ sent: 1, succeeded: 1 });
    const manual = (await request(a.url, 'GET', `/egress_webhook/${webhook}/attempts`, { query: { limit: 100 } })).body.attempts.filter(
      (attempt: { trigger: string }) => attempt.trigger === 'manual',
    );
    // A replay's attempts run side by side, in any order.
    expect(manual.map((attempt: { offset: number }) => attempt.offset).sort()).toEqual([0, 0, 1, 1]);
    expect(await owner()).toBe(holder);
    expect((await request(a.url, 'GET', `/egress_webhook/${webhook}/summary`)).body.counts).toMatchObject({ success: 2, failed: 0 });
  });

  it('kill -9 of a worker mid-delivery: the other takes its webhooks over and delivers every message, in order', async () => {
    await setUp();
    const api = await start('--role', 'api');
    const workers = await Promise.all([start('--role', 'worker'), start('--role', 'worker')]);
    const r = await receiver();
    r.fallback = { status: 200, delayMs: 5 };
    const log = (await request(api.url, 'POST', '/logs', { body: {} })).body.log_id;
    const paths = Array.from({ length: 4 }, (_, i) => `/hook?w=${i}`);
    for (const path of paths) await request(api.url, 'POST', '/egress_webhooks', { body: { log_id: log, destination: r.url.replace('/hook', path) } });
    // Both workers must be serving before one dies.
    await eventually(async () => {
      const owners = await adminQuery(`SELECT DISTINCT lease_owner FROM ${schema.name}.egress_webhooks WHERE lease_owner IS NOT NULL`);
      expect(owners.rows).toHaveLength(2);
    });
    const total = 600;
    await request(api.url, 'POST', `/messages/${log}`, { body: { messages: Array.from({ length: total }, (_, i) => ({ value: String(i) })) } });

    // Long enough that most of what the node delivered was recorded well before it died.
    await r.waitFor(1000, 30_000);
    const killedAt = Date.now();
    workers[0]!.proc.kill('SIGKILL');
    expect((await workers[0]!.exited).signal).toBe('SIGKILL');
    expect(r.received.length).toBeLessThan(paths.length * total);

    await eventually(() => {
      for (const path of paths) expect(new Set(offsetsAt(r, path)).size).toBe(total);
    }, 60_000);
    for (const path of paths) {
      const arrivals = r.received.filter((x) => x.path === path);
      const seen = offsetsAt(r, path);
      // In order: offsets rise by one, except once where the survivor resumed at
      // the dead node's last recorded cursor, never past a message it had not sent.
      const drops = seen.flatMap((offset, i) => (i > 0 && offset !== seen[i - 1]! + 1 ? [i] : []));
      expect(drops.length).toBeLessThanOrEqual(1);
      const resumed = drops[0] ?? seen.length;
      expect(seen.slice(0, resumed)).toEqual(Array.from({ length: resumed }, (_, i) => i));
      const from = seen[resumed] ?? total;
      expect(from).toBeLessThanOrEqual(resumed);
      expect(seen.slice(resumed)).toEqual(Array.from({ length: total - from }, (_, i) => from + i));
      // Records commit within DELIVERY_RECORD_WINDOW_MS: only what arrived just
      // before the kill may be sent again (750 ms leaves room for a slow commit).
      for (const repeated of arrivals.slice(from, resumed)) expect(killedAt - repeated.at).toBeLessThan(750);
    }
    const owners = await adminQuery(`SELECT DISTINCT lease_owner FROM ${schema.name}.egress_webhooks`);
    expect(owners.rows).toHaveLength(1);
  }, 120_000);

  it('retention runs on one node at a time, and moves to another when that node dies', async () => {
    await setUp({ HOOKLOG_RETENTION_INTERVAL_SECONDS: '0.2', HOOKLOG_LOG_LEVEL: 'debug' });
    const workers = await Promise.all([start('--role', 'worker'), start('--role', 'worker')]);
    const runs = (node: ServerProcess) =>
      node
        .stdout()
        .split('\n')
        .filter((line) => line.includes('"retention run"')).length;
    await eventually(() => expect(runs(workers[0]!) + runs(workers[1]!)).toBeGreaterThanOrEqual(6));
    const [leader, other] = runs(workers[0]!) > 0 ? [workers[0]!, workers[1]!] : [workers[1]!, workers[0]!];
    expect(runs(other)).toBe(0);

    leader.proc.kill('SIGKILL');
    await leader.exited;
    // The lease lasts two intervals plus lease_seconds; then the survivor leads.
    await eventually(() => expect(runs(other)).toBeGreaterThanOrEqual(3), 10_000);
  });
});
