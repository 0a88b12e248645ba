import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { createSchema, postgresAvailable, type TestSchema } from './helpers/postgres.js';
import { type ServerProcess, spawnServer } from './helpers/process.js';
import { type Receiver, startReceiver } from './helpers/receiver.js';
import { ADMIN, eventually, removeDir, request, tempDir } from './helpers/server.js';

const TOTAL = 100_000;
const BATCH = 10_000;

/**
 * A replay of 100,000 messages is a task: the request answers at once, the
 * task reports progress, and it goes on from where it was after the server
 * is killed and started again. Real processes, so that the kill is real.
 */
describe.each([
  ['sqlite', async () => ({ env: { HOOKLOG_DATA_DIR: tempDir() }, cleanUp: async (env: Record<string, string>) => removeDir(env.HOOKLOG_DATA_DIR!) })],
  [
    'postgres',
    async () => {
      if (!(await postgresAvailable())) return null;
      const schema: TestSchema = await createSchema();
      return { env: { HOOKLOG_DATABASE_URL: schema.url }, cleanUp: () => schema.drop() };
    },
  ],
] as const)('a replay task over %s', (_backend, backend) => {
  let server: ServerProcess | undefined;
  let receiver: Receiver | undefined;
  let cleanUp: (() => Promise<void>) | undefined;
  afterEach(async () => {
    server?.proc.kill('SIGKILL');
    await server?.exited;
    await receiver?.close();
    await cleanUp?.();
  });

  it(`replays ${TOTAL.toLocaleString('en')} messages as a task that answers at once, reports progress and survives kill -9`, async () => {
    const made = await backend();
    if (!made) return;
    const env = { ...made.env, HOOKLOG_ADMIN_TOKEN: ADMIN, HOOKLOG_ALLOW_PRIVATE_DESTINATIONS: 'true' };
    cleanUp = () => made.cleanUp(made.env as Record<string, string>);
    receiver = await startReceiver();
    server = await spawnServer(env);
    const call = (method: string, path: string, body?: unknown) => request(server!.url, method, path, body === undefined ? {} : { body });
    const log = (await call('POST', '/logs', {})).body.log_id;
    for (let from = 0; from < TOTAL; from += BATCH) {
      const messages = Array.from({ length: BATCH }, (_, i) => ({ value: String(from + i) }));
      expect((await call('POST', `/messages/${log}`, { messages })).status).toBe(200);
    }
    // It starts at the end of the log: only the replay sends anything.
    const webhook = (await call('POST', '/egress_webhooks', { log_id: log, destination: receiver.url })).body.webhook_id;

    const started = performance.now();
    const replay = await call('POST', `/egress_webhook/${webhook}/replay`, { since: 0 });
    const answeredMs = performance.now() - started;
    expect(replay.status).toBe(202);
    // It stores a task and answers: sending 100,000 messages takes half a minute and more. The bench measures
    // the answer (README: Benchmarks); this bound only has to tell the two apart on a busy machine.
    expect(answeredMs).toBeLessThan(1_000);
    expect(replay.body).toMatchObject({ kind: 'replay', status: 'running', total: TOTAL, end_offset: TOTAL });
    const task = replay.body.task_id as string;

    // Progress shows while it runs.
    const midway = await eventually(async () => {
      const body = (await call('GET', `/tasks/${task}`)).body;
      expect(body.progress).toBeGreaterThan(0.02);
      return body;
    }, 60_000);
    expect(midway.status).toBe('running');
    expect(midway.progress).toBeLessThan(1);
    expect(midway.sent).toBe(midway.position);

    server.proc.kill('SIGKILL');
    await server.exited;
    server = await spawnServer(env);
    const resumed = (await call('GET', `/tasks/${task}`)).body;
    expect(resumed.status).toBe('running');
    expect(resumed.position).toBeGreaterThanOrEqual(midway.position);

    const done = await eventually(async () => {
      const body = (await call('GET', `/tasks/${task}`)).body;
      expect(body.status).toBe('finished');
      return body;
    }, 240_000);
    expect(done).toMatchObject({ progress: 1, position: TOTAL, sent: TOTAL, succeeded: TOTAL, failed: 0 });
    // Every message arrived, those sent before the kill but not yet saved as progress more than once.
    const values = new Set(receiver.received.map((r) => JSON.parse(r.body.toString()).value as string));
    expect(values.size).toBe(TOTAL);
  }, 300_000);
});
