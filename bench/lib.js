// What every bench scenario shares: starting the built server and helper
// processes, loading them with autocannon, fresh databases, and medians.
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';

export const RUNS = Number(process.env.BENCH_RUNS ?? 3);
export const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
export const TOKEN = 'bench-admin-token-0123456789abcdef';
export const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
export const root = fileURLToPath(new URL('..', import.meta.url));

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
export const percentile = (values, p) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))];

export async function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts a Node process running `args` (with `nodeFlags` for Node itself) and waits until it listens. */
export async function start(args, env, nodeFlags = []) {
  const port = await freePort();
  const spawnedAt = performance.now();
  const proc = spawn(process.execPath, [...nodeFlags, ...args], {
    cwd: root,
    env: { ...process.env, ...env, PORT: String(port), HOOKLOG_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  proc.stdout.on('data', (chunk) => (out += chunk));
  while (!out.includes('listening on') && !out.includes('worker running')) {
    if (proc.exitCode !== null) throw new Error(`${args.join(' ')} exited: ${out}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    pid: proc.pid,
    /** When the process was started, by this process's performance.now(). */
    spawnedAt,
    stop: () =>
      new Promise((resolve) => {
        proc.once('exit', resolve);
        proc.kill('SIGTERM');
      }),
  };
}

export async function load(options) {
  const result = await autocannon({ duration: SECONDS, ...options });
  if (result.errors > 0 || result.non2xx > 0) throw new Error(`${options.url}: ${result.errors} errors, ${result.non2xx} non-2xx`);
  return { rps: result['2xx'] / result.duration, p50: result.latency.p50, p99: result.latency.p99, ok: result['2xx'] };
}

export async function api(base, method, path, body, headers = auth) {
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.status === 204 ? undefined : res.json();
}

/**
 * A fresh database for one configuration: a SQLite directory, or a PostgreSQL
 * schema in BENCH_DATABASE_URL (default: the local server's `test` database).
 */
export async function freshBackend(backend) {
  if (backend.sqliteSync) {
    const dataDir = mkdtempSync(join(tmpdir(), 'hooklog-bench-'));
    return { env: { HOOKLOG_DATA_DIR: dataDir, HOOKLOG_SQLITE_SYNC: backend.sqliteSync }, drop: async () => rmSync(dataDir, { recursive: true, force: true }) };
  }
  const schema = `hooklog_bench_${Date.now()}`;
  await adminQuery(`CREATE SCHEMA ${schema}`);
  const url = new URL(PG_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return { env: { HOOKLOG_DATABASE_URL: url.toString(), HOOKLOG_LEASE_SECONDS: '3' }, schema, drop: () => adminQuery(`DROP SCHEMA ${schema} CASCADE`) };
}

export async function adminQuery(text) {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

/** Starts `count` hooklog nodes on one backend. */
export async function nodes(backendEnv, count, extra = {}, nodeFlags = []) {
  const env = { ...backendEnv, HOOKLOG_ADMIN_TOKEN: TOKEN, HOOKLOG_HOST: '127.0.0.1', HOOKLOG_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn', ...extra };
  const started = [];
  for (let i = 0; i < count; i++) started.push(await start(['dist/main.js', 'serve'], env, nodeFlags));
  return started;
}

/** Runs autocannon against every node at once, splitting the connections; sums the rates. */
export async function loadAll(servers, options) {
  const results = await Promise.all(
    servers.map((server) => load({ ...options, url: server.url + (options.path ?? ''), connections: options.connections / servers.length })),
  );
  return {
    rps: results.reduce((sum, r) => sum + r.rps, 0),
    ok: results.reduce((sum, r) => sum + r.ok, 0),
    p50: Math.max(...results.map((r) => r.p50)),
    p99: Math.max(...results.map((r) => r.p99)),
  };
}

/** What the receiver has had since the last call (it resets on each). */
export const receiverStats = async (receiver) => (await fetch(`${receiver.url}/stats`)).json();

/** Waits until the receiver has had `expected` deliveries; deliveries per second since `startedAt` (a performance.now()). */
export async function deliveredRate(receiver, expected, startedAt) {
  let delivered = 0;
  while (delivered < expected) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    delivered += (await receiverStats(receiver)).count;
  }
  return delivered / ((performance.now() - startedAt) / 1000);
}

export const fmt = (n, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
export const pick = (runs, field) => median(runs.map((r) => r[field]));

/** A process's resident memory now and at its peak, in MB, from /proc (Linux). */
export function rssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field) => Number(status.match(new RegExp(`${field}:\\s+(\\d+)`))[1]);
  return { now: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** The verified-ingest request: a GitHub-signed 2 KB JSON delivery. */
export const GITHUB_SECRET = 'bench-github-secret';
export const githubBody = JSON.stringify({ action: 'opened', repository: { full_name: 'hooklog/bench' }, padding: 'x'.repeat(1950) });
export const githubHeaders = {
  'content-type': 'application/json',
  'x-github-event': 'pull_request',
  'x-hub-signature-256': `sha256=${createHmac('sha256', GITHUB_SECRET).update(githubBody).digest('hex')}`,
};

/** Verified GitHub ingest to `webhook` from 50 senders; `deliveryId()` names each request's delivery. */
export const ingestLoad = (url, webhook, deliveryId) =>
  load({
    url,
    connections: 50,
    requests: [
      {
        method: 'POST',
        path: `/ingress/${webhook}`,
        body: githubBody,
        setupRequest: (req) => ({ ...req, headers: { ...githubHeaders, 'x-github-delivery': deliveryId() } }),
      },
    ],
  });
