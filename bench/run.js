// hooklog benchmark: starts the built server and a bare Node http baseline as
// child processes, loads them from this process with autocannon, and prints a
// Markdown table. Each figure is the median of RUNS runs. Usage:
//   npm run bench                 (builds first)
//   BENCH_RUNS=5 BENCH_SECONDS=10 node bench/run.js
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const TOKEN = 'bench-admin-token';
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const root = fileURLToPath(new URL('..', import.meta.url));

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const percentile = (values, p) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))];

async function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function start(args, env) {
  const port = await freePort();
  const proc = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env, PORT: String(port), HOOKLOG_PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout.on('data', (chunk) => (out += chunk));
  while (!out.includes('listening on')) {
    if (proc.exitCode !== null) throw new Error(`${args.join(' ')} exited: ${out}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise((resolve) => (proc.once('exit', resolve), proc.kill('SIGTERM'))),
  };
}

async function load(options) {
  const result = await autocannon({ duration: SECONDS, ...options });
  if (result.errors > 0 || result.non2xx > 0) throw new Error(`${options.url}: ${result.errors} errors, ${result.non2xx} non-2xx`);
  return { rps: result['2xx'] / result.duration, p50: result.latency.p50, p99: result.latency.p99, ok: result['2xx'] };
}

async function api(base, method, path, body) {
  const res = await fetch(base + path, { method, headers: auth, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

const value100 = 'v'.repeat(100);
const GITHUB_SECRET = 'bench-github-secret';
const githubBody = JSON.stringify({ action: 'opened', repository: { full_name: 'hooklog/bench' }, padding: 'x'.repeat(1950) });
const githubHeaders = {
  'content-type': 'application/json',
  'x-github-event': 'pull_request',
  'x-hub-signature-256': `sha256=${createHmac('sha256', GITHUB_SECRET).update(githubBody).digest('hex')}`,
};
const batchBody = JSON.stringify({ messages: Array.from({ length: 1000 }, () => ({ value: value100 })) });
const singleBody = JSON.stringify({ value: value100 });

/** The bare server under the single-publish request, and under the ingest request (2 KB, signed). */
async function baseline() {
  const bare = await start(['bench/bare-server.js'], {});
  const runs = { publish: [], ingest: [] };
  for (let i = 0; i < RUNS; i++) {
    runs.publish.push(await load({ url: bare.url, method: 'POST', connections: 50, headers: auth, body: singleBody }));
    runs.ingest.push(
      await load({ url: `${bare.url}/ingress/x`, method: 'POST', connections: 50, body: githubBody, headers: { ...githubHeaders, 'x-github-delivery': 'bench' } }),
    );
  }
  await bare.stop();
  return runs;
}

async function hooklog(sync) {
  const dataDir = mkdtempSync(join(tmpdir(), 'hooklog-bench-'));
  const server = await start(['dist/main.js', 'serve'], {
    HOOKLOG_DATA_DIR: dataDir,
    HOOKLOG_ADMIN_TOKEN: TOKEN,
    HOOKLOG_HOST: '127.0.0.1',
    HOOKLOG_LOG_LEVEL: 'warn',
    HOOKLOG_SQLITE_SYNC: sync,
  });
  const results = { batch: [], consume: [], single: [], verified: [] };

  const batchLog = (await api(server.url, 'POST', '/logs', {})).log_id;
  for (let i = 0; i < RUNS; i++) {
    const r = await load({ url: `${server.url}/messages/${batchLog}`, method: 'POST', connections: 4, headers: auth, body: batchBody });
    results.batch.push({ ...r, msgs: r.rps * 1000 });
  }

  const stored = (await api(server.url, 'GET', `/message/${batchLog}`)).offset + 1;
  const probe = await api(server.url, 'GET', `/messages/${batchLog}?offset=0&len=1000`);
  if (probe.messages.length !== 1000) throw new Error('consume returned fewer than 1000 messages');
  for (let i = 0; i < RUNS; i++) {
    const r = await load({
      url: server.url,
      connections: 4,
      headers: auth,
      requests: [{ setupRequest: (req) => ({ ...req, path: `/messages/${batchLog}?len=1000&offset=${Math.floor(Math.random() * (stored - 1000))}` }) }],
    });
    results.consume.push({ ...r, msgs: r.rps * 1000 });
  }

  for (let i = 0; i < RUNS; i++) {
    const log = (await api(server.url, 'POST', '/logs', {})).log_id;
    const r = await load({ url: `${server.url}/message/${log}`, method: 'POST', connections: 50, headers: auth, body: singleBody });
    // Every acknowledged publish must be in the log. The log may hold a few more:
    // requests still in flight when the load generator stopped were committed
    // but their answers were never counted.
    const length = (await api(server.url, 'GET', `/message/${log}`)).offset + 1;
    results.verified.push({ acknowledged: r.ok, stored: length });
    results.single.push(r);
  }

  results.wake = await wakeLatency(server.url);

  // Verified ingest: GitHub-signed 2 KB JSON from 50 senders, each with its own delivery id.
  results.ingest = [];
  results.ingestVerified = [];
  for (let i = 0; i < RUNS; i++) {
    const log = (await api(server.url, 'POST', '/logs', {})).log_id;
    const webhook = (await api(server.url, 'POST', '/ingress_webhooks', { log_id: log, type: 'github', secret: GITHUB_SECRET })).webhook_id;
    let delivery = 0;
    const r = await load({
      url: server.url,
      connections: 50,
      requests: [
        {
          method: 'POST',
          path: `/ingress/${webhook}`,
          body: githubBody,
          setupRequest: (req) => ({ ...req, headers: { ...githubHeaders, 'x-github-delivery': `bench-${i}-${delivery++}` } }),
        },
      ],
    });
    const length = (await api(server.url, 'GET', `/message/${log}`)).offset + 1;
    results.ingestVerified.push({ acknowledged: r.ok, stored: length });
    results.ingest.push(r);
  }
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
  return results;
}

/** Publish-to-receive latency: a consumer long-polls at the end of the log, then one message is published. */
async function wakeLatency(base) {
  const log = (await api(base, 'POST', '/logs', {})).log_id;
  const samples = [];
  for (let i = 0; i < 200; i++) {
    const { next_offset } = await api(base, 'GET', `/messages/${log}?offset=-1`);
    const waiting = api(base, 'GET', `/messages/${log}?offset=${next_offset}&poll=10000`).then(() => performance.now());
    await new Promise((resolve) => setTimeout(resolve, 5));
    const sent = performance.now();
    await api(base, 'POST', `/message/${log}`, { value: 'wake' });
    samples.push((await waiting) - sent);
  }
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

/** Deliveries: a receiver process, webhooks on one log, and the time until every delivery arrived. */
async function delivery() {
  const dataDir = mkdtempSync(join(tmpdir(), 'hooklog-bench-'));
  const receiver = await start(['bench/receiver.js'], {});
  const server = await start(['dist/main.js', 'serve'], {
    HOOKLOG_DATA_DIR: dataDir,
    HOOKLOG_ADMIN_TOKEN: TOKEN,
    HOOKLOG_HOST: '127.0.0.1',
    HOOKLOG_LOG_LEVEL: 'warn',
    HOOKLOG_ALLOW_PRIVATE_DESTINATIONS: 'true',
  });
  const stats = async () => (await fetch(`${receiver.url}/stats`)).json();
  const message = { value: value100 };

  /** Publishes `count` messages to a fresh log with `webhooks` webhooks, returns deliveries per second. */
  const throughput = async (webhooks, count) => {
    const log = (await api(server.url, 'POST', '/logs', {})).log_id;
    for (let i = 0; i < webhooks; i++) await api(server.url, 'POST', '/egress_webhooks', { log_id: log, destination: receiver.url });
    await stats();
    const started = performance.now();
    for (let sent = 0; sent < count; sent += 1000) {
      await api(server.url, 'POST', `/messages/${log}`, { messages: Array.from({ length: Math.min(1000, count - sent) }, () => message) });
    }
    let delivered = 0;
    while (delivered < count * webhooks) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      delivered += (await stats()).count;
    }
    const rate = delivered / ((performance.now() - started) / 1000);
    await api(server.url, 'DELETE', `/log/${log}`);
    return rate;
  };

  /** Publishes one message per millisecond for SECONDS and reports publish-to-delivered latency. */
  const steady = async () => {
    const log = (await api(server.url, 'POST', '/logs', {})).log_id;
    await api(server.url, 'POST', '/egress_webhooks', { log_id: log, destination: receiver.url });
    await stats();
    const total = SECONDS * 1000;
    const started = performance.now();
    const inFlight = [];
    for (let i = 0; i < total; i++) {
      const due = started + i;
      if (due > performance.now()) await new Promise((resolve) => setTimeout(resolve, due - performance.now()));
      inFlight.push(api(server.url, 'POST', `/message/${log}`, message));
    }
    await Promise.all(inFlight);
    const latencies = [];
    while (latencies.length < total) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      latencies.push(...(await stats()).latenciesMs);
    }
    await api(server.url, 'DELETE', `/log/${log}`);
    return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), rate: total / ((performance.now() - started) / 1000) };
  };

  const results = { one: [], hundred: [], steady: [] };
  for (let i = 0; i < RUNS; i++) {
    results.one.push(await throughput(1, 10_000));
    results.hundred.push(await throughput(100, 200));
    results.steady.push(await steady());
  }
  await server.stop();
  await receiver.stop();
  rmSync(dataDir, { recursive: true, force: true });
  return results;
}

const fmt = (n, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const pick = (runs, field) => median(runs.map((r) => r[field]));

const base = await baseline();
const modes = { full: await hooklog('full'), normal: await hooklog('normal') };
const push = await delivery();
const baseRps = median(base.publish.map((r) => r.rps));
const ingestBaseRps = median(base.ingest.map((r) => r.rps));

console.log(`\nhooklog bench: median of ${RUNS} runs of ${SECONDS} s each, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
console.log('Load comes from autocannon in the same process that runs this script, on the same machine.\n');
console.log(`Baseline, bare Node http answering 200 to the same POST, 50 connections: ${fmt(baseRps)} req/s, p50 ${pick(base.publish, 'p50')} ms, p99 ${pick(base.publish, 'p99')} ms`);
console.log(`The same bare server under the ingest request (2 KB JSON with GitHub's headers): ${fmt(ingestBaseRps)} req/s\n`);
console.log('| measure | target | sqlite_sync=full (default) | sqlite_sync=normal |');
console.log('| --- | --- | --- | --- |');
const row = (name, target, cell) => console.log(`| ${name} | ${target} | ${cell(modes.full)} | ${cell(modes.normal)} |`);
row('batch publish, 1000 × 100 B per request, 4 connections', '≥ 200,000 msg/s', (h) => `${fmt(pick(h.batch, 'msgs'))} msg/s`);
row('consume, len=1000, 4 connections', '≥ 500,000 msg/s', (h) => `${fmt(pick(h.consume, 'msgs'))} msg/s`);
row(
  'single publish, 50 connections',
  '≥ 0.50 × baseline req/s',
  (h) => `${fmt(pick(h.single, 'rps'))} req/s = **${fmt(pick(h.single, 'rps') / baseRps, 2)} ×**, p50 ${pick(h.single, 'p50')} ms, p99 ${pick(h.single, 'p99')} ms`,
);
row(
  'verified ingest, GitHub-signed 2 KB JSON, 50 senders',
  '≥ 0.50 × baseline req/s',
  (h) =>
    `${fmt(pick(h.ingest, 'rps'))} webhooks/s = **${fmt(pick(h.ingest, 'rps') / baseRps, 2)} ×** (${fmt(pick(h.ingest, 'rps') / ingestBaseRps, 2)} × the same-shape baseline), p50 ${pick(h.ingest, 'p50')} ms, p99 ${pick(h.ingest, 'p99')} ms`,
);
row('long-poll wake-up, publish → consumer has it (200 samples)', 'p50 < 5 ms', (h) => `p50 ${fmt(h.wake.p50, 2)} ms, p99 ${fmt(h.wake.p99, 2)} ms`);

console.log('\nDelivery to a local receiver process (default settings, ordered webhooks, 100-byte values):\n');
console.log('| measure | target | result |');
console.log('| --- | --- | --- |');
console.log(`| deliveries to one webhook (10,000 messages) | ≥ 3,000/s | ${fmt(median(push.one))}/s |`);
console.log(`| deliveries across 100 webhooks (200 messages each) | ≥ 8,000/s | ${fmt(median(push.hundred))}/s |`);
console.log(
  `| publish-to-delivered latency at a steady 1,000 msg/s (${fmt(median(push.steady.map((r) => r.rate)))} msg/s reached) | p99 < 50 ms | p50 ${fmt(median(push.steady.map((r) => r.p50)), 1)} ms, p99 ${fmt(median(push.steady.map((r) => r.p99)), 1)} ms |`,
);

let lost = false;
for (const [sync, h] of Object.entries(modes)) {
  for (const [what, checks] of [['single publish', h.verified], ['ingested webhook', h.ingestVerified]]) {
    const runs = checks.map((v) => `${v.acknowledged} acknowledged / ${v.stored} stored`).join('; ');
    const ok = checks.every((v) => v.stored >= v.acknowledged);
    lost ||= !ok;
    console.log(`\nsqlite_sync=${sync}: every acknowledged ${what} was stored: ${ok ? 'yes' : 'NO'} (${runs})`);
  }
}
if (lost) process.exitCode = 1;
