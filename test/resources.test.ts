import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../src/domain/ids.js';
import { openPostgresStore } from '../src/store/postgres/index.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import type { Store } from '../src/store/store.js';
import { p99, startLatencyProbe } from './helpers/latency-probe.js';
import { createSchema, postgresAvailable, type TestSchema } from './helpers/postgres.js';
import { type ServerProcess, spawnServer } from './helpers/process.js';
import { rawRequest } from './helpers/raw-http.js';
import { ADMIN, removeDir, request, tempDir } from './helpers/server.js';

/**
 * The API counts as responsive while its p99 stays under this. The defects it
 * guards against blocked the event loop for seconds; the bound leaves room
 * for a shared two-core machine, where 100 ms was sometimes exceeded with
 * nothing wrong.
 */
const RESPONSIVE_MS = 250;

/** Writes `count` messages of 1 MiB, keyed 0, 1, 2…, to a new log in `store`, then closes it. */
async function seed(store: Store, logId: string, count: number): Promise<void> {
  await store.logs.create({ id: logId, metadata: 'big', compacting: false, trimBytes: 0, trimSeconds: 0, compactSeconds: 0, expireSeconds: 0 });
  const value = Buffer.alloc(1024 * 1024, 'v');
  for (let i = 0; i < count; i += 16) {
    const messages = Array.from({ length: 16 }, (_, j) => ({ key: Buffer.from(String(i + j)), value }));
    await store.messages.append([{ logId, messages }], Date.now() * 1000);
  }
  await store.close();
}

/** Reads every page of `logId` from `from` until `count` messages came, and returns their keys and the largest page in bytes. */
async function readPages(url: string, logId: string, from: number, count: number, encoding: 'string' | 'base64') {
  const keys: string[] = [];
  let largest = 0;
  for (let offset = from; keys.length < count; ) {
    const page = await rawRequest(url, 'GET', `/messages/${logId}?offset=${offset}&len=10000&encoding=${encoding}`, { timeoutMs: 30_000 });
    expect(page.status).toBe(200);
    largest = Math.max(largest, Buffer.byteLength(page.text));
    const messages = page.body.messages as Array<{ key: string }>;
    expect(messages.length).toBeGreaterThan(0);
    keys.push(...messages.map((m) => (encoding === 'base64' ? Buffer.from(m.key, 'base64').toString() : m.key)));
    offset = page.body.next_offset;
  }
  return { keys: keys.slice(0, count), largest };
}

/** kB of a process's resident memory now, and at its peak. */
function memoryOf(pid: number) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(status.match(new RegExp(`${name}:\\s+(\\d+) kB`))![1]);
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/**
 * No single client can stall or exhaust the server: slow bodies are cut off,
 * a 1 GiB log is read in bounded pages while the API stays responsive, and
 * thousands of long-polls cost little. Runs the built server as its own
 * process, so that its memory can be read from /proc.
 */
describe('bounded work', () => {
  let server: ServerProcess;
  let dataDir: string;
  const MiB = 1024 * 1024;
  /** A log of 1024 messages of 1 MiB, written to the database before the server starts: publishing it over HTTP would take most of a minute. */
  const bigLog = newId('log');

  beforeAll(async () => {
    dataDir = tempDir();
    await seed(openSqliteStore(dataDir, { sync: 'normal' }), bigLog, 1024);
    server = await spawnServer({
      HOOKLOG_DATA_DIR: dataDir,
      HOOKLOG_ADMIN_TOKEN: ADMIN,
      HOOKLOG_SQLITE_SYNC: 'normal',
      HOOKLOG_MAX_BODY_BYTES: String(2 * MiB),
      HOOKLOG_REQUEST_TIMEOUT_SECONDS: '1',
      HOOKLOG_INGRESS_MAX_REQUESTS_PER_CLIENT: '20',
      // The 2,000 long-polls below are all the admin's.
      HOOKLOG_MAX_LONG_POLLS_PER_TOKEN: '2000',
    });
  });
  afterAll(async () => {
    server.proc.kill('SIGTERM');
    await server.exited;
    removeDir(dataDir);
  });

  const memory = () => memoryOf(server.proc.pid!);

  /** Latencies in ms of `GET /`, asked every 10 ms by another process until `work` settles, and what `work` returned. */
  const probeWhile = async <T>(work: Promise<T>): Promise<{ latencies: number[]; result: T }> => {
    const probe = startLatencyProbe(`${server.url}/`, ADMIN);
    const result = await work.finally(() => undefined);
    return { latencies: await probe.stop(), result };
  };

  /** A request whose body arrives one byte every 200 ms; resolves with what the server answered and when it closed. */
  const slowBody = (path: string, headers: string) =>
    new Promise<{ answer: string; closedAfterMs: number }>((resolve) => {
      const started = Date.now();
      const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
      let answer = '';
      socket.on('connect', () => socket.write(`POST ${path} HTTP/1.1\r\nhost: x\r\n${headers}content-length: 1000\r\n\r\n{`));
      const drip = setInterval(() => socket.writable && socket.write(' '), 200);
      socket.on('data', (chunk) => (answer += chunk.toString()));
      socket.on('error', () => {});
      socket.on('close', () => {
        clearInterval(drip);
        resolve({ answer, closedAfterMs: Date.now() - started });
      });
    });

  it('cuts off slow request bodies with 408, on the API and on public ingress URLs', async () => {
    const log = (await request(server.url, 'POST', '/logs', { body: {} })).body.log_id;
    const ingress = (await request(server.url, 'POST', '/ingress_webhooks', { body: { log_id: log, type: 'none' } })).body.webhook_id;
    const json = 'content-type: application/json\r\n';
    const results = await Promise.all([
      ...Array.from({ length: 100 }, () => slowBody(`/message/${log}`, `authorization: Bearer ${ADMIN}\r\n${json}`)),
      ...Array.from({ length: 15 }, () => slowBody(`/ingress/${ingress}`, json)),
    ]);
    for (const { answer, closedAfterMs } of results) {
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(answer).toContain('"error":"ERR_KLEV_API_0124"');
      expect(closedAfterMs).toBeLessThan(10_000);
    }
    // Nothing of them was stored.
    expect((await request(server.url, 'GET', `/messages/${log}`, { query: { offset: -2 } })).body.messages).toEqual([]);
  });

  it('caps the requests one address has in flight on the public ingress URLs', async () => {
    const log = (await request(server.url, 'POST', '/logs', { body: {} })).body.log_id;
    const ingress = (await request(server.url, 'POST', '/ingress_webhooks', { body: { log_id: log, type: 'none' } })).body.webhook_id;
    const slow = Array.from({ length: 20 }, () => slowBody(`/ingress/${ingress}`, 'content-type: application/json\r\n'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const over = await rawRequest(server.url, 'POST', `/ingress/${ingress}`, { token: null, body: '{}', headers: { 'content-type': 'application/json' } });
    expect(over.status).toBe(429);
    expect(over.body.error).toBe('ERR_KLEV_API_0126');
    // The API itself is not capped.
    expect((await request(server.url, 'GET', '/')).status).toBe(200);
    await Promise.all(slow);
    const after = await rawRequest(server.url, 'POST', `/ingress/${ingress}`, { token: null, body: '{}', headers: { 'content-type': 'application/json' } });
    expect(after.status).toBe(200);
  });

  it('serves a 1 GiB log in pages within the response cap, with the API responsive and memory bounded', async () => {
    const before = memory();
    // Four readers of len=10000 at once, each a quarter of the log; before the fix each such read built a 1.3 GB response.
    const encodings = ['string', 'base64', 'string', 'base64'] as const;
    const { latencies, result } = await probeWhile(
      Promise.all(encodings.map((encoding, quarter) => readPages(server.url, bigLog, quarter * 256, 256, encoding))),
    );
    expect(result.flatMap((quarter) => quarter.keys)).toEqual(Array.from({ length: 1024 }, (_, i) => String(i)));
    for (const { largest } of result) expect(largest).toBeLessThanOrEqual(4 * MiB);
    expect(p99(latencies), `p99 of ${latencies.length} GET / while reading`).toBeLessThan(RESPONSIVE_MS);
    process.stderr.write(`  1 GiB read: p99 of GET / ${p99(latencies).toFixed(1)} ms over ${latencies.length} samples\n`);
    // Reading the log took no more memory than a few pages: before the fix it took 1.3 GB per reader.
    expect(memory().peak - before.peak, 'kB of peak memory added by reading').toBeLessThan(450 * 1024);
  });

  it('keeps 2,000 waiting long-polls cheap and wakes them all', async () => {
    const log = (await request(server.url, 'POST', '/logs', { body: {} })).body.log_id;
    const before = memory();
    const polls = Array.from({ length: 2000 }, () =>
      rawRequest(server.url, 'GET', `/messages/${log}?poll=60000`, { timeoutMs: 90_000 }).then((res) => res.body.messages as Array<{ value: string }>),
    );
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const waiting = await probeWhile(new Promise((resolve) => setTimeout(resolve, 1000)));
    expect(p99(waiting.latencies)).toBeLessThan(RESPONSIVE_MS);
    expect(memory().rss - before.rss, 'kB for 2,000 waiting long-polls').toBeLessThan(150 * 1024);
    const published = Date.now();
    await request(server.url, 'POST', `/message/${log}`, { body: { value: 'wake' } });
    const answers = await Promise.all(polls);
    expect(answers.every((messages) => messages.length === 1 && messages[0]!.value === 'wake')).toBe(true);
    expect(Date.now() - published).toBeLessThan(20_000);
  });
});

/** Clients that ask for large pages and never read them hold no more than the response budget, and are cut off. */
describe('stalled readers', () => {
  let server: ServerProcess;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = tempDir();
    server = await spawnServer({
      HOOKLOG_DATA_DIR: dataDir,
      HOOKLOG_ADMIN_TOKEN: ADMIN,
      HOOKLOG_SQLITE_SYNC: 'normal',
      HOOKLOG_REQUEST_TIMEOUT_SECONDS: '1',
    });
  });
  afterAll(async () => {
    server.proc.kill('SIGTERM');
    await server.exited;
    removeDir(dataDir);
  });

  it('keeps to the response budget (503 beyond it) and closes connections that stopped reading', async () => {
    const log = (await request(server.url, 'POST', '/logs', { body: {} })).body.log_id;
    for (let i = 0; i < 8; i++) await request(server.url, 'POST', `/message/${log}`, { body: { value: 'v'.repeat(700_000) } });
    const before = memoryOf(server.proc.pid!);
    const script = fileURLToPath(new URL('./helpers/stalled-readers.py', import.meta.url));
    const port = new URL(server.url).port;
    const readers = spawn('python3', [script, port, ADMIN, `/messages/${log}?offset=-2&len=100`, '100', '5'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    readers.stdout.on('data', (chunk) => (out += chunk));
    expect(await new Promise((resolve) => readers.once('exit', resolve))).toBe(0);
    const { statuses, closed } = JSON.parse(out.split('\n').filter(Boolean).at(-1)!) as { statuses: Record<string, number>; closed: number };
    // Pages of 3.5 MB: 32 × 4 MiB holds about 36 of them at once; the rest are asked to try again.
    expect(statuses['HTTP/1.1 200']).toBeGreaterThan(0);
    expect(statuses['HTTP/1.1 503']).toBeGreaterThan(40);
    expect(closed, JSON.stringify(statuses)).toBe(statuses['HTTP/1.1 200']);
    // Before the budget, 100 such readers held about 700 MB.
    const held = memoryOf(server.proc.pid!).peak - before.peak;
    process.stderr.write(`  100 stalled readers: ${JSON.stringify(statuses)}, peak memory +${Math.round(held / 1024)} MB\n`);
    expect(held, 'kB of peak memory held by 100 stalled readers').toBeLessThan(450 * 1024);
    expect((await request(server.url, 'GET', `/messages/${log}`, { query: { offset: -2 } })).status).toBe(200);
  });
});

/** The same bounded reads on PostgreSQL, where a query's running total stops the page, over a smaller log. */
const postgres = await postgresAvailable();
describe.runIf(postgres)('bounded work on PostgreSQL', () => {
  let server: ServerProcess;
  let schema: TestSchema;
  const log = newId('log');

  beforeAll(async () => {
    schema = await createSchema();
    await seed(await openPostgresStore(schema.url, { poolSize: 2 }), log, 128);
    server = await spawnServer({ HOOKLOG_DATABASE_URL: schema.url, HOOKLOG_ADMIN_TOKEN: ADMIN });
  });
  afterAll(async () => {
    server.proc.kill('SIGTERM');
    await server.exited;
    await schema.drop();
  });

  it('serves 128 MiB in pages within the response cap, with memory bounded', async () => {
    const before = memoryOf(server.proc.pid!);
    const result = await Promise.all([readPages(server.url, log, 0, 128, 'string'), readPages(server.url, log, 0, 128, 'base64')]);
    for (const { keys, largest } of result) {
      expect(keys).toEqual(Array.from({ length: 128 }, (_, i) => String(i)));
      expect(largest).toBeLessThanOrEqual(4 * 1024 * 1024);
    }
    // Peak RSS counts garbage not yet collected, which depends on when the collector runs: up to 207 MB was
    // seen under load on this shared 2-core machine. Reading both whole would hold well over 500 MB.
    expect(memoryOf(server.proc.pid!).peak - before.peak, 'kB of peak memory added by reading').toBeLessThan(240 * 1024);
  });
});
