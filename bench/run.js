// hooklog benchmark: starts the built server and a bare Node http baseline as
// child processes, loads them from this process with autocannon, and prints a
// Markdown table. Each figure is the median of RUNS runs. Usage:
//   npm run bench                 (builds first)
//   BENCH_RUNS=5 BENCH_SECONDS=10 node bench/run.js
//   BENCH_ONLY=delivery node bench/run.js  (only deliveries on one node, SQLite and PostgreSQL)
//   BENCH_ONLY=memory node bench/run.js    (only 1,000 destinations with a backlog of 1,000,000 messages)
//   BENCH_ONLY=history node bench/run.js   (only the attempt-history reads)
//   BENCH_ONLY=svix node bench/run.js      (only the Svix API against the klev API)
//   BENCH_ONLY=events node bench/run.js    (only the events API over 1,000,000 events)
//   BENCH_ONLY=ingest node bench/run.js    (only the baselines, single publish and verified ingest, both sync modes)
//   BENCH_ONLY=goals node bench/run.js     (only the table of the performance goals, about 8 minutes)
//   BENCH_ONLY=scale node bench/run.js     (keyed batch publish to 10,000,000 messages, and the duplicate-detection table)
//   BENCH_ONLY=transformation node bench/run.js  (deliveries through a trivial transformation, and the API's latency under hostile code)
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { delivery, HEAP_FLAG, memory, printDelivery, printMemory } from './delivery.js';
import { printGoals } from './goals.js';
import {
  api,
  auth,
  deliveredRate,
  fmt,
  freshBackend,
  GITHUB_SECRET,
  githubBody,
  githubHeaders,
  ingestLoad,
  load,
  loadAll,
  median,
  nodes,
  PG_URL,
  percentile,
  pick,
  RUNS,
  receiverStats,
  SECONDS,
  start,
} from './lib.js';
import { dedupeScale, keyedScale, printScale } from './scale.js';
import { printTransformation, transformation } from './transformation.js';

/** A Svix POST's headers: Svix's SDK sends a fresh idempotency-key with every one. */
const svixHeaders = () => ({ ...auth, 'idempotency-key': `auto_${randomUUID()}` });

const value100 = 'v'.repeat(100);
const batchBody = JSON.stringify({ messages: Array.from({ length: 1000 }, () => ({ value: value100 })) });
const singleBody = JSON.stringify({ value: value100 });
const svixMessage = { eventType: 'bench.event', payload: { value: value100 } };
const svixBody = JSON.stringify(svixMessage);

/** The bare server under the single-publish request, and under the ingest request (2 KB, signed). */
async function baseline() {
  const bare = await start(['bench/bare-server.js'], {});
  const runs = { publish: [], ingest: [] };
  for (let i = 0; i < RUNS; i++) {
    runs.publish.push(await load({ url: bare.url, method: 'POST', connections: 50, headers: auth, body: singleBody }));
    runs.ingest.push(
      await load({
        url: `${bare.url}/ingress/x`,
        method: 'POST',
        connections: 50,
        body: githubBody,
        headers: { ...githubHeaders, 'x-github-delivery': 'bench' },
      }),
    );
  }
  await bare.stop();
  return runs;
}

/** Single publish and ingest alone: BENCH_ONLY=ingest, and the goals run, which needs nothing else of hooklog(). */
const INGEST_ONLY = process.env.BENCH_ONLY === 'ingest' || process.env.BENCH_ONLY === 'goals';

/** Publish and consume figures, on `nodeCount` nodes of one backend (load spread across them); with BENCH_ONLY=ingest, single publish and ingest only. */
async function hooklog(backend, nodeCount = 1) {
  const db = await freshBackend(backend);
  const servers = await nodes(db.env, nodeCount);
  const server = servers[0];
  const results = { batch: [], consume: [], single: [], verified: [] };

  if (!INGEST_ONLY) {
    const batchLog = (await api(server.url, 'POST', '/logs', {})).log_id;
    for (let i = 0; i < RUNS; i++) {
      const r = await loadAll(servers, { path: `/messages/${batchLog}`, method: 'POST', connections: 4, headers: auth, body: batchBody });
      results.batch.push({ ...r, msgs: r.rps * 1000 });
    }

    const stored = (await api(server.url, 'GET', `/message/${batchLog}`)).offset + 1;
    const probe = await api(server.url, 'GET', `/messages/${batchLog}?offset=0&len=1000`);
    if (probe.messages.length !== 1000) throw new Error('consume returned fewer than 1000 messages');
    for (let i = 0; i < RUNS; i++) {
      const r = await loadAll(servers, {
        connections: 4,
        headers: auth,
        requests: [{ setupRequest: (req) => ({ ...req, path: `/messages/${batchLog}?len=1000&offset=${Math.floor(Math.random() * (stored - 1000))}` }) }],
      });
      results.consume.push({ ...r, msgs: r.rps * 1000 });
    }
  }

  for (let i = 0; i < RUNS; i++) {
    const log = (await api(server.url, 'POST', '/logs', {})).log_id;
    const r = await loadAll(servers, { path: `/message/${log}`, method: 'POST', connections: 50, headers: auth, body: singleBody });
    // Every acknowledged publish must be in the log. The log may hold a few more:
    // requests still in flight when the load generator stopped were committed
    // but their answers were never counted.
    const length = (await api(server.url, 'GET', `/message/${log}`)).offset + 1;
    results.verified.push({ acknowledged: r.ok, stored: length });
    results.single.push(r);
  }

  // With two nodes the consumer waits on one and the publish goes through the other.
  results.wake = INGEST_ONLY ? undefined : await wakeLatency(server.url, servers.at(-1).url);
  if (nodeCount > 1 || backend.skipIngest) {
    await Promise.all(servers.map((s) => s.stop()));
    await db.drop();
    return results;
  }

  // Verified ingest: GitHub-signed 2 KB JSON from 50 senders, each with its own delivery id.
  results.ingest = [];
  results.ingestVerified = [];
  for (let i = 0; i < RUNS; i++) {
    const log = (await api(server.url, 'POST', '/logs', {})).log_id;
    const webhook = (await api(server.url, 'POST', '/ingress_webhooks', { log_id: log, type: 'github', secret: GITHUB_SECRET })).webhook_id;
    let sent = 0;
    const r = await ingestLoad(server.url, webhook, () => `bench-${i}-${sent++}`);
    const length = (await api(server.url, 'GET', `/message/${log}`)).offset + 1;
    results.ingestVerified.push({ acknowledged: r.ok, stored: length });
    results.ingest.push(r);
  }
  await server.stop();
  await db.drop();
  return results;
}

/** Publish-to-receive latency: a consumer long-polls at the end of the log, then one message is published. */
async function wakeLatency(base, publishBase = base) {
  const log = (await api(base, 'POST', '/logs', {})).log_id;
  const samples = [];
  for (let i = 0; i < 200; i++) {
    const { next_offset } = await api(base, 'GET', `/messages/${log}?offset=-1`);
    const waiting = api(base, 'GET', `/messages/${log}?offset=${next_offset}&poll=10000`).then(() => performance.now());
    await new Promise((resolve) => setTimeout(resolve, 5));
    const sent = performance.now();
    await api(publishBase, 'POST', `/message/${log}`, { value: 'wake' });
    samples.push((await waiting) - sent);
  }
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

const FAN_OUT = { endpoints: 100, messages: 200 };

/**
 * The Svix API against the klev API on one server, their runs interleaved so
 * that both meet the same machine: single publish with 50 connections
 * (`POST /api/v1/app/{app}/msg` with a fresh idempotency-key each, as the SDK
 * sends it, against `POST /message/{log}`), and fan-out to FAN_OUT.endpoints
 * endpoints against as many parallel-mode webhooks (an endpoint delivers in
 * parallel), FAN_OUT.messages messages each. Svix has no batch publish, so its
 * messages go one per request, 10 requests at a time.
 */
async function svix(backend) {
  const db = await freshBackend(backend);
  const receiver = await start(['bench/receiver.js'], {});
  const [server] = await nodes(db.env, 1, { HOOKLOG_ALLOW_PRIVATE_DESTINATIONS: 'true' });
  const logOf = (appId) => `log_${appId.slice('app_'.length)}`;
  const stored = async (log) => (await api(server.url, 'GET', `/message/${log}`)).offset + 1;
  const results = { klevSingle: [], svixSingle: [], svixUnkeyed: [], verified: [], klevFanOut: [], svixFanOut: [] };

  const klevSingle = async () => {
    const log = (await api(server.url, 'POST', '/logs', {})).log_id;
    results.klevSingle.push(await load({ url: `${server.url}/message/${log}`, method: 'POST', connections: 50, headers: auth, body: singleBody }));
  };
  const svixSingle = async () => {
    const app = (await api(server.url, 'POST', '/api/v1/app', { name: 'bench' })).id;
    const r = await load({
      url: server.url,
      connections: 50,
      requests: [{ method: 'POST', path: `/api/v1/app/${app}/msg`, body: svixBody, setupRequest: (req) => ({ ...req, headers: svixHeaders() }) }],
    });
    // As for klev's single publish: every acknowledged message must be in the log, which may hold up to 50 more.
    results.verified.push({ acknowledged: r.ok, stored: await stored(logOf(app)) });
    results.svixSingle.push(r);
  };
  // The same without idempotency keys, to tell what keeping them costs.
  const svixUnkeyed = async () => {
    const app = (await api(server.url, 'POST', '/api/v1/app', { name: 'bench' })).id;
    results.svixUnkeyed.push(await load({ url: `${server.url}/api/v1/app/${app}/msg`, method: 'POST', connections: 50, headers: auth, body: svixBody }));
  };

  const { endpoints, messages } = FAN_OUT;
  const klevFanOut = async () => {
    const log = (await api(server.url, 'POST', '/logs', {})).log_id;
    for (let i = 0; i < endpoints; i++) await api(server.url, 'POST', '/egress_webhooks', { log_id: log, destination: receiver.url, mode: 'parallel' });
    await receiverStats(receiver);
    const started = performance.now();
    await api(server.url, 'POST', `/messages/${log}`, { messages: Array.from({ length: messages }, () => ({ value: value100 })) });
    results.klevFanOut.push(await deliveredRate(receiver, messages * endpoints, started));
    await api(server.url, 'DELETE', `/log/${log}`);
  };
  const svixFanOut = async () => {
    const app = (await api(server.url, 'POST', '/api/v1/app', { name: 'bench' })).id;
    for (let i = 0; i < endpoints; i++) await api(server.url, 'POST', `/api/v1/app/${app}/endpoint`, { url: receiver.url });
    await receiverStats(receiver);
    const started = performance.now();
    let sent = 0;
    const sender = async () => {
      while (sent < messages) {
        sent++;
        await api(server.url, 'POST', `/api/v1/app/${app}/msg`, svixMessage, svixHeaders());
      }
    };
    await Promise.all(Array.from({ length: 10 }, sender));
    results.svixFanOut.push(await deliveredRate(receiver, messages * endpoints, started));
    await api(server.url, 'DELETE', `/api/v1/app/${app}`);
  };

  for (let i = 0; i < RUNS; i++) {
    // Alternate which API goes first, so that neither always meets the server warmer.
    for (const group of [
      [klevSingle, svixSingle, svixUnkeyed],
      [klevFanOut, svixFanOut],
    ]) {
      for (const measure of i % 2 ? [...group].reverse() : group) await measure();
    }
  }
  await server.stop();
  await receiver.stop();
  await db.drop();
  return results;
}

const HISTORY = Number(process.env.BENCH_ATTEMPTS ?? 1_000_000);

/**
 * Reading back a long attempt history: one destination with HISTORY attempts
 * (written straight into the database, as a year of deliveries would leave
 * them), then pages of 100 read through the API: the newest, one message's,
 * the failed ones, and a page deep in the history by cursor.
 */
async function attemptHistory(backend) {
  const db = await freshBackend(backend);
  const env = { ...db.env, HOOKLOG_ALLOW_PRIVATE_DESTINATIONS: 'true' };
  let [server] = await nodes(env, 1);
  const log = (await api(server.url, 'POST', '/logs', {})).log_id;
  // How long a replay of 100,000 messages takes to answer: it only stores a task (the target is < 100 ms).
  // In batches that stay under the default 1 MiB request body.
  for (let i = 0; i < 20; i++) {
    await api(server.url, 'POST', `/messages/${log}`, { messages: Array.from({ length: 5_000 }, () => ({ value: value100 })) });
  }
  const replayed = (await api(server.url, 'POST', '/egress_webhooks', { log_id: log, destination: 'http://127.0.0.1:9/' })).webhook_id;
  const replayMs = [];
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    await api(server.url, 'POST', `/egress_webhook/${replayed}/replay`, { since: 0 });
    replayMs.push(performance.now() - started);
  }
  await api(server.url, 'DELETE', `/egress_webhook/${replayed}`);
  // Made at the end of the log, it sends nothing: its history is only what is written below.
  const webhook = (await api(server.url, 'POST', '/egress_webhooks', { log_id: log, destination: 'http://127.0.0.1:9/' })).webhook_id;
  const seed = `SELECT ?, i / 2, 1 + i % 2, CAST(? AS BIGINT) + i, CASE WHEN i % 10 = 0 THEN 500 ELSE 200 END, 3, 'ok', CASE WHEN i % 10 = 0 THEN 'HTTP 500' ELSE '' END, 'scheduled'`;
  const columns = 'delivery_attempts (webhook_id, msg_offset, attempt, time, status_code, duration_ms, response, error, trigger)';
  const since = Date.now() - HISTORY;
  if (backend.sqliteSync) {
    await server.stop();
    const { default: Database } = await import('better-sqlite3');
    const sqlite = new Database(join(db.env.HOOKLOG_DATA_DIR, 'hooklog.db'));
    sqlite
      .prepare(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?) INSERT INTO ${columns} ${seed} FROM n`)
      .run(HISTORY - 1, webhook, since);
    sqlite.close();
    [server] = await nodes(env, 1);
  } else {
    let n = 0;
    const text = `INSERT INTO ${db.schema}.${columns} ${seed.replace(/\?/g, () => `$${++n}`)} FROM generate_series(0, ${HISTORY - 1}) AS i`;
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(text, [webhook, since]);
    await client.query(`ANALYZE ${db.schema}.delivery_attempts`);
    await client.end();
  }
  const newest = (await api(server.url, 'GET', `/egress_webhook/${webhook}/attempts?limit=1`)).attempts[0].attempt_id;
  const deep = `atm_${Number(newest.slice(4)) - Math.floor(HISTORY / 2)}`;
  const pages = {
    newest: 'limit=100',
    byMessage: `offset=${Math.floor(HISTORY / 4)}`,
    failed: 'limit=100&status=failed',
    deep: `limit=100&cursor=${deep}`,
  };
  const results = { replayMs: median(replayMs) };
  for (const [name, query] of Object.entries(pages)) {
    // One client alone, then ten at once.
    for (const connections of [1, 10]) {
      const runs = (results[`${name}${connections}`] = []);
      for (let i = 0; i < RUNS; i++) {
        runs.push(await load({ url: `${server.url}/egress_webhook/${webhook}/attempts?${query}`, connections, headers: auth }));
      }
    }
  }
  await server.stop();
  await db.drop();
  return results;
}

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);

/**
 * The events API over a long history: EVENTS events of one GitHub source
 * (written straight into the database, messages and event records alike,
 * as months of deliveries would leave them; a tenth of them also delivered
 * to one destination), then pages of 20 read through the API: the newest
 * with its total, a time window, a search for text in the payload, and a
 * status worked out from the deliveries.
 */
async function eventHistory(backend) {
  const { newOrderedId } = await import('../dist/domain/ids.js');
  const db = await freshBackend(backend);
  db.env.HOOKLOG_ALLOW_PRIVATE_DESTINATIONS = 'true';
  let [server] = await nodes(db.env, 1);
  const log = (await api(server.url, 'POST', '/logs', {})).log_id;
  const source = (await api(server.url, 'POST', '/ingress_webhooks', { log_id: log, type: 'github', secret: GITHUB_SECRET, metadata: 'github' })).webhook_id;
  const webhook = (await api(server.url, 'POST', '/egress_webhooks', { log_id: log, destination: 'http://127.0.0.1:9/', mode: 'parallel' })).webhook_id;
  await server.stop();
  const start = Date.now() - EVENTS * 10;
  // One event every 10 ms of the past; one in 1,000 payloads holds the text searched for.
  const row = (i) => {
    const at = start + i * 10;
    const value = Buffer.from(JSON.stringify({ ref: 'refs/heads/main', n: i, marker: i % 1000 === 7 ? 'needle-7' : 'hay', padding: 'p'.repeat(150) }));
    return { i, at, value, id: newOrderedId('evt', at) };
  };
  const BATCH = 10_000;
  if (backend.sqliteSync) {
    const { default: Database } = await import('better-sqlite3');
    const sqlite = new Database(join(db.env.HOOKLOG_DATA_DIR, 'hooklog.db'));
    const seq = sqlite.prepare('SELECT seq FROM logs WHERE id = ?').get(log).seq;
    const message = sqlite.prepare('INSERT INTO messages (log_seq, msg_offset, time, key, value, headers) VALUES (?, ?, ?, NULL, ?, ?)');
    const event = sqlite.prepare(
      'INSERT INTO events (id, source_id, log_id, msg_offset, received_at, validated_at, queued_at, size, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const delivery = sqlite.prepare(
      "INSERT INTO deliveries (webhook_id, msg_offset, status, attempts, status_code, updated_at) VALUES (?, ?, 'success', 1, 200, ?)",
    );
    const headers = JSON.stringify({ 'content-type': 'application/json', 'x-github-event': 'push' });
    const insert = sqlite.transaction((from) => {
      for (let i = from; i < Math.min(EVENTS, from + BATCH); i++) {
        const r = row(i);
        message.run(seq, i, r.at * 1000, r.value, headers);
        event.run(r.id, source, log, i, r.at, r.at, r.at, r.value.length, 'ab');
        if (i % 10 === 0) delivery.run(webhook, i, r.at);
      }
    });
    for (let from = 0; from < EVENTS; from += BATCH) insert(from);
    sqlite.prepare('UPDATE logs SET next_offset = ? WHERE seq = ?').run(EVENTS, seq);
    sqlite.prepare('UPDATE egress_webhooks SET next_offset = ? WHERE id = ?').run(EVENTS, webhook);
    sqlite.close();
  } else {
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`SET search_path = ${db.schema}`);
    const seq = (await client.query('SELECT seq FROM logs WHERE id = $1', [log])).rows[0].seq;
    for (let from = 0; from < EVENTS; from += BATCH) {
      const rows = Array.from({ length: Math.min(BATCH, EVENTS - from) }, (_, k) => row(from + k));
      await client.query(
        `INSERT INTO messages (log_seq, msg_offset, time, value, headers)
         SELECT $1, o, t, v, '{"content-type":"application/json","x-github-event":"push"}' FROM unnest($2::bigint[], $3::bigint[], $4::bytea[]) AS m(o, t, v)`,
        [seq, rows.map((r) => r.i), rows.map((r) => r.at * 1000), rows.map((r) => r.value)],
      );
      await client.query(
        `INSERT INTO events (id, source_id, log_id, msg_offset, received_at, validated_at, queued_at, size, hash)
         SELECT id, $1, $2, o, t, t, t, s, 'ab' FROM unnest($3::text[], $4::bigint[], $5::bigint[], $6::bigint[]) AS e(id, o, t, s)`,
        [source, log, rows.map((r) => r.id), rows.map((r) => r.i), rows.map((r) => r.at), rows.map((r) => r.value.length)],
      );
      const delivered = rows.filter((r) => r.i % 10 === 0);
      await client.query(
        `INSERT INTO deliveries (webhook_id, msg_offset, status, attempts, status_code, updated_at)
         SELECT $1, o, 'success', 1, 200, t FROM unnest($2::bigint[], $3::bigint[]) AS d(o, t)`,
        [webhook, delivered.map((r) => r.i), delivered.map((r) => r.at)],
      );
    }
    await client.query('UPDATE logs SET next_offset = $1 WHERE seq = $2', [EVENTS, seq]);
    await client.query('UPDATE egress_webhooks SET next_offset = $1 WHERE id = $2', [EVENTS, webhook]);
    await client.query('ANALYZE');
    await client.end();
  }
  [server] = await nodes(db.env, 1);
  const hour = new Date(start + EVENTS * 5).toISOString();
  const hourLater = new Date(start + EVENTS * 5 + 3_600_000).toISOString();
  const pages = {
    newest: '',
    window: `from=${hour}&to=${hourLater}`,
    search: 'search=needle-7',
    status: 'status=delivered',
    deep: `page=${EVENTS / 40}`,
  };
  const results = {};
  for (const [name, query] of Object.entries(pages)) {
    const runs = (results[name] = []);
    for (let i = 0; i < RUNS; i++) runs.push(await load({ url: `${server.url}/api/events?${query}`, connections: 1, headers: auth }));
    results[`${name}Total`] = (await api(server.url, 'GET', `/api/events?${query}`)).pagination.total;
  }
  await server.stop();
  await db.drop();
  return results;
}

/** The events API tables, from eventHistory on both backends. */
function printEvents(runs) {
  console.log(`\nThe events API over ${fmt(EVENTS)} events of one source: pages of 20, one client (req/s, p50 / p99).\n`);
  console.log('| page | total it reports | SQLite | PostgreSQL |');
  console.log('| --- | --- | --- | --- |');
  for (const [name, what] of [
    ['newest', 'the newest, with the total of all'],
    ['window', 'an hour of events (`from`, `to`)'],
    ['search', 'a payload substring (`search`, newest 10,000 scanned)'],
    ['status', '`status=delivered` (newest 10,000 looked at)'],
    ['deep', 'a page half way back (`page=`)'],
  ]) {
    const cell = (r) => `${fmt(pick(r[name], 'rps'))}, ${pick(r[name], 'p50')} / **${pick(r[name], 'p99')} ms**`;
    console.log(`| ${what} | ${fmt(runs.sqlite[`${name}Total`])} | ${cell(runs.sqlite)} | ${cell(runs.postgres)} |`);
  }
}

/** The attempt-history tables, from attemptHistory on both backends. */
function printHistory(history) {
  console.log(`\nReading the attempt history of one destination with ${fmt(HISTORY)} attempts: pages of 100 (target: p99 < 20 ms).\n`);
  console.log('| page | SQLite, 1 client: p50 / p99 | SQLite, 10 clients: req/s, p50 / p99 | PostgreSQL, 1 client | PostgreSQL, 10 clients |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const [name, what] of [
    ['newest', 'the newest 100'],
    ['byMessage', "one message's attempts (`offset=`)"],
    ['failed', 'the newest 100 failed (`status=failed`)'],
    ['deep', 'half way back, by `cursor`'],
  ]) {
    const one = (runs) => `${pick(runs, 'p50')} / **${pick(runs, 'p99')} ms**`;
    const ten = (runs) => `${fmt(pick(runs, 'rps'))}, ${pick(runs, 'p50')} / ${pick(runs, 'p99')} ms`;
    const { sqlite, postgres } = history;
    console.log(`| ${what} | ${one(sqlite[`${name}1`])} | ${ten(sqlite[`${name}10`])} | ${one(postgres[`${name}1`])} | ${ten(postgres[`${name}10`])} |`);
  }
  console.log(
    `\nAnswer to a replay of 100,000 messages (it stores a task; target < 100 ms), median of 5: SQLite ${fmt(history.sqlite.replayMs, 1)} ms, PostgreSQL ${fmt(history.postgres.replayMs, 1)} ms.`,
  );
}

/** The Svix API against the klev API, from svix on both backends; prints the stored-message checks and answers whether all passed. */
function printSvix(runs) {
  console.log(
    `\nThe Svix API v1 against the klev API, on the same server (one node, SQLite in sqlite_sync=full, or PostgreSQL), their runs interleaved; median of ${RUNS} runs.\n`,
  );
  console.log('| measure | backend | target | klev | Svix | Svix / klev |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  const publish = (r) => `${fmt(pick(r, 'rps'))} req/s, p50 ${pick(r, 'p50')} ms, p99 ${pick(r, 'p99')} ms`;
  for (const [name, s] of [
    ['SQLite', runs.sqlite],
    ['PostgreSQL', runs.postgres],
  ]) {
    console.log(
      `| single publish, 50 connections (Svix: a fresh idempotency-key each) | ${name} | ≥ 0.80 × klev | ${publish(s.klevSingle)} | ${publish(s.svixSingle)} | **${fmt(pick(s.svixSingle, 'rps') / pick(s.klevSingle, 'rps'), 2)} ×** |`,
    );
  }
  for (const [name, s] of [
    ['SQLite', runs.sqlite],
    ['PostgreSQL', runs.postgres],
  ]) {
    console.log(
      `| single publish, 50 connections, no idempotency-key (what keeping keys costs) | ${name} | | ${publish(s.klevSingle)} | ${publish(s.svixUnkeyed)} | ${fmt(pick(s.svixUnkeyed, 'rps') / pick(s.klevSingle, 'rps'), 2)} × |`,
    );
  }
  for (const [name, s] of [
    ['SQLite', runs.sqlite],
    ['PostgreSQL', runs.postgres],
  ]) {
    console.log(
      `| deliveries across ${FAN_OUT.endpoints} parallel-mode webhooks / endpoints (${FAN_OUT.messages} messages each) | ${name} | ≥ 0.80 × klev | ${fmt(median(s.klevFanOut))}/s | ${fmt(median(s.svixFanOut))}/s | **${fmt(median(s.svixFanOut) / median(s.klevFanOut), 2)} ×** |`,
    );
  }
  let allStored = true;
  for (const [name, s] of [
    ['SQLite', runs.sqlite],
    ['PostgreSQL', runs.postgres],
  ]) {
    const ok = s.verified.every((v) => v.stored >= v.acknowledged);
    allStored &&= ok;
    const checks = s.verified.map((v) => `${v.acknowledged} acknowledged / ${v.stored} stored`).join('; ');
    console.log(`\n${name}: every acknowledged Svix message was stored: ${ok ? 'yes' : 'NO'} (${checks})`);
  }
  return allStored;
}

// BENCH_ONLY=transformation measures transformations alone, SQLite and PostgreSQL (about 5 minutes).
if (process.env.BENCH_ONLY === 'transformation') {
  printTransformation(await transformation({ sqliteSync: 'full' }), await transformation({}));
  process.exit(0);
}

// BENCH_ONLY=delivery measures deliveries on one node alone, SQLite and PostgreSQL; BENCH_ONLY=memory the backlog of 1,000 destinations.
if (process.env.BENCH_ONLY === 'delivery') {
  printDelivery(await delivery({ sqliteSync: 'full' }), await delivery({}));
  process.exit(0);
}
if (process.env.BENCH_ONLY === 'memory') {
  printMemory({
    'SQLite, Node defaults': await memory({ sqliteSync: 'full' }),
    [`SQLite, ${HEAP_FLAG}`]: await memory({ sqliteSync: 'full' }, [HEAP_FLAG]),
    'PostgreSQL, Node defaults': await memory({}),
    [`PostgreSQL, ${HEAP_FLAG}`]: await memory({}, [HEAP_FLAG]),
  });
  process.exit(0);
}

/** Keyed batch publish to SCALE_MESSAGES (3 M by default): every kind of key on SQLite, unique keys on PostgreSQL. */
const SCALE_MESSAGES = Number(process.env.BENCH_SCALE_MESSAGES ?? 3_000_000);
async function scaleGoals() {
  const sqlite = {};
  for (const keys of ['unique', 'repeated', 'none']) sqlite[keys] = await keyedScale({ sqliteSync: 'full' }, keys, SCALE_MESSAGES);
  return { sqlite, postgres: { unique: await keyedScale({}, 'unique', SCALE_MESSAGES) } };
}

// BENCH_ONLY=goals measures only what the performance goals' table needs (about 8 minutes).
if (process.env.BENCH_ONLY === 'goals') {
  const base = await baseline();
  const full = await hooklog({ sqliteSync: 'full' });
  const normal = await hooklog({ sqliteSync: 'normal' });
  const scale = await scaleGoals();
  const push = await delivery({ sqliteSync: 'full' });
  const pgPush = await delivery({});
  printGoals({ base, full, normal, scale, push, pgPush });
  printScale(`Batch publish as the log grows to ${fmt(SCALE_MESSAGES)} messages, SQLite: 1000 × 100 B per request, 4 clients`, scale.sqlite);
  printScale(`The same, PostgreSQL`, scale.postgres);
  const stored = [...full.verified, ...full.ingestVerified, ...normal.verified, ...normal.ingestVerified].every((v) => v.stored >= v.acknowledged);
  console.log(`\nEvery acknowledged publish and ingested webhook was stored: ${stored ? 'yes' : 'NO'}`);
  process.exit(stored ? 0 : 1);
}

// BENCH_ONLY=scale publishes BENCH_SCALE_MESSAGES (default 10,000,000) keyed messages per kind of key and backend.
if (process.env.BENCH_ONLY === 'scale') {
  const total = Number(process.env.BENCH_SCALE_MESSAGES ?? 10_000_000);
  const kinds = (process.env.BENCH_SCALE_KEYS ?? 'unique,repeated,none').split(',');
  for (const [name, backend] of [
    ['SQLite, sqlite_sync=full', { sqliteSync: 'full' }],
    ['PostgreSQL', {}],
  ]) {
    if (process.env.BENCH_SCALE_BACKEND && !name.startsWith(process.env.BENCH_SCALE_BACKEND)) continue;
    const runs = {};
    for (const keys of kinds) runs[keys] = await keyedScale(backend, keys, total);
    printScale(`Batch publish as the log grows to ${fmt(total)} messages, ${name}: 1000 × 100 B per request, 4 clients`, runs);
    const held = Number(process.env.BENCH_DEDUPE_KEYS ?? 10_000_000);
    const { empty, held: full } = await dedupeScale(backend, held);
    console.log(
      `\nVerified GitHub ingest, 50 senders, ${name}: ${fmt(median(empty))} webhooks/s into a fresh source; ${fmt(median(full))} webhooks/s with ${fmt(held)} delivery ids held = **${fmt(median(full) / median(empty), 2)} ×** (runs: ${empty.map((r) => fmt(r)).join(', ')} / ${full.map((r) => fmt(r)).join(', ')})`,
    );
  }
  process.exit(0);
}

// BENCH_ONLY=history measures the attempt history alone (a few minutes instead of a quarter of an hour).
if (process.env.BENCH_ONLY === 'history') {
  printHistory({ sqlite: await attemptHistory({ sqliteSync: 'full' }), postgres: await attemptHistory({}) });
  process.exit(0);
}

// BENCH_ONLY=events measures the events API over a long history alone.
if (process.env.BENCH_ONLY === 'events') {
  printEvents({ sqlite: await eventHistory({ sqliteSync: 'full' }), postgres: await eventHistory({}) });
  process.exit(0);
}

// BENCH_ONLY=svix measures the Svix API against the klev API alone (about 3 minutes).
if (process.env.BENCH_ONLY === 'svix') {
  const stored = printSvix({ sqlite: await svix({ sqliteSync: 'full' }), postgres: await svix({}) });
  process.exit(stored ? 0 : 1);
}

// BENCH_ONLY=ingest measures the baselines, single publish and verified ingest alone, in both sync modes (about 2 minutes).
if (process.env.BENCH_ONLY === 'ingest') {
  const base = await baseline();
  const modes = { full: await hooklog({ sqliteSync: 'full' }), normal: await hooklog({ sqliteSync: 'normal' }) };
  const baseRps = median(base.publish.map((r) => r.rps));
  const ingestBaseRps = median(base.ingest.map((r) => r.rps));
  console.log(
    `\nBaseline, bare Node http, 50 connections: ${fmt(baseRps)} req/s (publish request), ${fmt(ingestBaseRps)} req/s (ingest request); median of ${RUNS} runs.\n`,
  );
  console.log('| measure | sqlite_sync=full (default) | sqlite_sync=normal |');
  console.log('| --- | --- | --- |');
  for (const [name, field, unit] of [
    ['single publish, 50 connections (target ≥ 0.50 × baseline)', 'single', 'req/s'],
    ['verified ingest, GitHub-signed 2 KB JSON, 50 senders (targets ≥ 0.40 ×, ≥ 0.55 × baseline)', 'ingest', 'webhooks/s'],
  ]) {
    const cell = (h) =>
      `${fmt(pick(h[field], 'rps'))} ${unit} = **${fmt(pick(h[field], 'rps') / baseRps, 2)} ×**, p50 ${pick(h[field], 'p50')} ms, p99 ${pick(h[field], 'p99')} ms`;
    console.log(`| ${name} | ${cell(modes.full)} | ${cell(modes.normal)} |`);
  }
  let lost = false;
  for (const [mode, h] of Object.entries(modes)) {
    for (const checks of [h.verified, h.ingestVerified]) {
      const ok = checks.every((v) => v.stored >= v.acknowledged);
      lost ||= !ok;
      console.log(
        `\nsqlite_sync=${mode}: every acknowledged request was stored: ${ok ? 'yes' : 'NO'} (${checks.map((v) => `${v.acknowledged} / ${v.stored}`).join('; ')})`,
      );
    }
  }
  process.exit(lost ? 1 : 0);
}

const base = await baseline();
const modes = { full: await hooklog({ sqliteSync: 'full' }), normal: await hooklog({ sqliteSync: 'normal' }) };
const push = await delivery({ sqliteSync: 'full' });
const history = { sqlite: await attemptHistory({ sqliteSync: 'full' }), postgres: await attemptHistory({}) };
const postgres = {
  one: await hooklog({ skipIngest: true }),
  two: await hooklog({}, 2),
  pushOne: await delivery({}),
  pushTwo: await delivery({}, 2),
};
const svixRuns = { sqlite: await svix({ sqliteSync: 'full' }), postgres: await svix({}) };
const scale = await scaleGoals();
const eventRuns = { sqlite: await eventHistory({ sqliteSync: 'full' }), postgres: await eventHistory({}) };
const baseRps = median(base.publish.map((r) => r.rps));
const ingestBaseRps = median(base.ingest.map((r) => r.rps));

console.log(`\nhooklog bench: median of ${RUNS} runs of ${SECONDS} s each, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
console.log('Load comes from autocannon in the same process that runs this script, on the same machine.\n');
console.log(
  `Baseline, bare Node http answering 200 to the same POST, 50 connections: ${fmt(baseRps)} req/s, p50 ${pick(base.publish, 'p50')} ms, p99 ${pick(base.publish, 'p99')} ms`,
);
console.log(`The same bare server under the ingest request (2 KB JSON with GitHub's headers): ${fmt(ingestBaseRps)} req/s\n`);
console.log('| measure | target | sqlite_sync=full (default) | sqlite_sync=normal |');
console.log('| --- | --- | --- | --- |');
const row = (name, target, cell) => console.log(`| ${name} | ${target} | ${cell(modes.full)} | ${cell(modes.normal)} |`);
row('batch publish, 1000 × 100 B per request, 4 connections', '≥ 200,000 msg/s', (h) => `${fmt(pick(h.batch, 'msgs'))} msg/s`);
row('consume, len=1000, 4 connections', '≥ 500,000 msg/s', (h) => `${fmt(pick(h.consume, 'msgs'))} msg/s`);
row(
  'single publish, 50 connections',
  '≥ 0.50 × baseline req/s',
  (h) =>
    `${fmt(pick(h.single, 'rps'))} req/s = **${fmt(pick(h.single, 'rps') / baseRps, 2)} ×**, p50 ${pick(h.single, 'p50')} ms, p99 ${pick(h.single, 'p99')} ms`,
);
row(
  'verified ingest, GitHub-signed 2 KB JSON, 50 senders',
  '≥ 0.50 × baseline req/s',
  (h) =>
    `${fmt(pick(h.ingest, 'rps'))} webhooks/s = **${fmt(pick(h.ingest, 'rps') / baseRps, 2)} ×** (${fmt(pick(h.ingest, 'rps') / ingestBaseRps, 2)} × the same-shape baseline), p50 ${pick(h.ingest, 'p50')} ms, p99 ${pick(h.ingest, 'p99')} ms`,
);
row('long-poll wake-up, publish → consumer has it (200 samples)', 'p50 < 5 ms', (h) => `p50 ${fmt(h.wake.p50, 2)} ms, p99 ${fmt(h.wake.p99, 2)} ms`);

printDelivery(push, postgres.pushOne);

console.log('\nPostgreSQL (local server, default settings), one node and two nodes on one database, against SQLite (default mode) from this run.');
console.log('With two nodes, load is split evenly across them; the long-poll waits on one node while the publish goes through the other.\n');
console.log('| measure | SQLite | PostgreSQL, 1 node | PG 1 node / SQLite | PostgreSQL, 2 nodes | 2 nodes / 1 node |');
console.log('| --- | --- | --- | --- | --- | --- |');
const compare = (name, sqlite, one, two, unit, digits = 0) => {
  const cell = (v) => (v === undefined ? '–' : `${fmt(v, digits)}${unit}`);
  const ratio = (a, b) => (a === undefined || b === undefined ? '–' : `${fmt(a / b, 2)} ×`);
  console.log(`| ${name} | ${cell(sqlite)} | ${cell(one)} | ${ratio(one, sqlite)} | ${cell(two)} | ${ratio(two, one)} |`);
};
compare(
  'batch publish, 1000 × 100 B (target: PG ≥ 0.40 × SQLite)',
  pick(modes.full.batch, 'msgs'),
  pick(postgres.one.batch, 'msgs'),
  pick(postgres.two.batch, 'msgs'),
  ' msg/s',
);
compare('consume, len=1000', pick(modes.full.consume, 'msgs'), pick(postgres.one.consume, 'msgs'), pick(postgres.two.consume, 'msgs'), ' msg/s');
compare('single publish, 50 connections', pick(modes.full.single, 'rps'), pick(postgres.one.single, 'rps'), pick(postgres.two.single, 'rps'), ' req/s');
compare('long-poll wake-up p50', modes.full.wake.p50, postgres.one.wake.p50, postgres.two.wake.p50, ' ms', 2);
compare('deliveries to one webhook', median(push.one), median(postgres.pushOne.one), undefined, '/s');
compare(
  'deliveries across 100 webhooks (target: 2 nodes ≥ 1.6 × 1)',
  median(push.hundred),
  median(postgres.pushOne.hundred),
  median(postgres.pushTwo.hundred),
  '/s',
);
console.log(
  `| publish-to-delivered at 1,000 msg/s, p50 / p99 | ${fmt(median(push.steady.map((r) => r.p50)), 1)} / ${fmt(median(push.steady.map((r) => r.p99)), 1)} ms | ${fmt(median(postgres.pushOne.steady.map((r) => r.p50)), 1)} / ${fmt(median(postgres.pushOne.steady.map((r) => r.p99)), 1)} ms | | | |`,
);

printHistory(history);

printGoals({ base, full: modes.full, normal: modes.normal, scale, push, pgPush: postgres.pushOne });

let lost = !printSvix(svixRuns);
printEvents(eventRuns);
printTransformation(await transformation({ sqliteSync: 'full' }), await transformation({}));
for (const [sync, h] of [
  ...Object.entries(modes).map(([m, h]) => [`sqlite_sync=${m}`, h]),
  ['PostgreSQL, 1 node', postgres.one],
  ['PostgreSQL, 2 nodes', postgres.two],
]) {
  for (const [what, checks] of [
    ['single publish', h.verified],
    ['ingested webhook', h.ingestVerified ?? []],
  ]) {
    if (checks.length === 0) continue;
    const runs = checks.map((v) => `${v.acknowledged} acknowledged / ${v.stored} stored`).join('; ');
    const ok = checks.every((v) => v.stored >= v.acknowledged);
    lost ||= !ok;
    console.log(`\n${sync}: every acknowledged ${what} was stored: ${ok ? 'yes' : 'NO'} (${runs})`);
  }
}
if (lost) process.exitCode = 1;
