// Keyed batch publish as a log grows: TOTAL messages of 100 B in batches of
// 1,000 from 4 concurrent clients, with keys that are all unique (as delivery
// ids are), keys repeated (the same 1,000 in every batch, as a log keyed by
// customer is), or no keys, for comparison. Prints the throughput of the first
// 100,000 messages and of each later segment, the server's RSS and the size
// of the data. dedupeScale does the same for the duplicate-detection table.

import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { adminQuery, api, freshBackend, GITHUB_SECRET, ingestLoad, nodes, PG_URL, RUNS, rssMb } from './lib.js';

const value100 = 'v'.repeat(100);
const CLIENTS = 4;
const BATCH = 1000;
const FIRST = 100_000;

const keysOf = {
  unique: () => Array.from({ length: BATCH }, () => randomUUID()),
  repeated: () => Array.from({ length: BATCH }, (_, i) => `customer-${i}`),
  none: () => Array.from({ length: BATCH }, () => undefined),
};

/** Bytes the backend holds: the SQLite directory, or the PostgreSQL schema's relations. */
async function dataBytes(db) {
  if (db.env.HOOKLOG_DATA_DIR) return Number(execFileSync('du', ['-sb', db.env.HOOKLOG_DATA_DIR], { encoding: 'utf8' }).split('\t')[0]);
  const { rows } = await adminQuery(
    `SELECT sum(pg_total_relation_size(c.oid))::bigint AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '${db.schema}' AND c.relkind = 'r'`,
  );
  return Number(rows[0].bytes);
}

/**
 * Publishes `total` messages with keys of the given kind; answers segments of
 * { upTo, rate } (messages per second), the peak RSS and the data size at the end.
 */
export async function keyedScale(backend, keys, total, segment = 1_000_000) {
  const db = await freshBackend(backend);
  const [server] = await nodes(db.env, 1);
  const log = (await api(server.url, 'POST', '/logs', {})).log_id;
  const segments = [];
  let sent = 0;
  // The first 100,000, then every `segment` up to `total`.
  const bounds = [FIRST];
  for (let upTo = segment; upTo <= total; upTo += segment) if (upTo > FIRST) bounds.push(upTo);
  let mark = { at: performance.now(), sent: 0 };
  const client = async () => {
    while (sent < total) {
      sent += BATCH;
      const messages = keysOf[keys]().map((key) => ({ key, value: value100 }));
      await api(server.url, 'POST', `/messages/${log}`, { messages });
      const upTo = bounds[segments.length];
      if (sent >= upTo) {
        const now = performance.now();
        segments.push({ upTo, rate: ((sent - mark.sent) / (now - mark.at)) * 1000 });
        mark = { at: now, sent };
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  const bytes = await dataBytes(db);
  const peakRss = rssMb(server.pid).peak;
  await server.stop();
  await db.drop();
  return { segments, peakRss, bytes };
}

/** Prints one table per backend: each kind of key by segment, as msg/s and as a ratio to its first 100,000. */
export function printScale(title, runs) {
  const fmt = (n) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
  const mb = (bytes) => `${fmt(bytes / 2 ** 20)} MB`;
  const kinds = Object.keys(runs);
  console.log(`\n${title}\n`);
  const label = { unique: 'unique keys', repeated: '1,000 keys, repeated', none: 'no keys' };
  console.log(`| messages | ${kinds.map((k) => label[k]).join(' | ')} |`);
  console.log(`| --- | ${kinds.map(() => '---').join(' | ')} |`);
  const rows = runs[kinds[0]].segments.length;
  for (let i = 0; i < rows; i++) {
    const cells = kinds.map((k) => {
      const { segments } = runs[k];
      const s = segments[i];
      return i === 0 ? `${fmt(s.rate)} msg/s` : `${fmt(s.rate)} msg/s = **${(s.rate / segments[0].rate).toFixed(2)} ×**`;
    });
    const from = i === 0 ? 0 : runs[kinds[0]].segments[i - 1].upTo;
    console.log(`| ${fmt(from)}–${fmt(runs[kinds[0]].segments[i].upTo)} | ${cells.join(' | ')} |`);
  }
  console.log(`| peak RSS | ${kinds.map((k) => `${fmt(runs[k].peakRss)} MB`).join(' | ')} |`);
  console.log(`| data size | ${kinds.map((k) => mb(runs[k].bytes)).join(' | ')} |`);
}

/** Verified GitHub ingest from 50 senders, each request with a delivery id of its own (a random UUID, as GitHub's are). */
const ingest = (url, webhook) => ingestLoad(url, webhook, randomUUID);

/**
 * The duplicate-detection table as it grows: verified ingest into a fresh
 * source, then again once `keys` delivery ids of the same source are held
 * (written straight into the database, as a busy day would leave them).
 * Answers the ingest rates, before and after, per run.
 */
export async function dedupeScale(backend, keys) {
  const db = await freshBackend(backend);
  let [server] = await nodes(db.env, 1);
  const log = (await api(server.url, 'POST', '/logs', {})).log_id;
  const webhook = (await api(server.url, 'POST', '/ingress_webhooks', { log_id: log, type: 'github', secret: GITHUB_SECRET })).webhook_id;
  const empty = [];
  for (let i = 0; i < RUNS; i++) empty.push((await ingest(server.url, webhook)).rps);
  await server.stop();
  // Random keys, inserted in their sorted order so that seeding is quick; new ones then land anywhere among them.
  const now = Date.now();
  if (backend.sqliteSync) {
    const { default: Database } = await import('better-sqlite3');
    const sqlite = new Database(join(db.env.HOOKLOG_DATA_DIR, 'hooklog.db'));
    sqlite
      .prepare(
        `INSERT INTO idempotency_keys (scope, key, created_at)
         SELECT ?, key, ? FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) SELECT lower(hex(randomblob(16))) AS key FROM n) ORDER BY key`,
      )
      .run(webhook, now, keys);
    sqlite.close();
  } else {
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(
      `INSERT INTO ${db.schema}.idempotency_keys (scope, key, created_at)
       SELECT $1, key, $2 FROM (SELECT md5(random()::text || i) AS key FROM generate_series(1, $3) AS i) k ORDER BY key`,
      [webhook, now, keys],
    );
    await client.query(`ANALYZE ${db.schema}.idempotency_keys`);
    await client.end();
  }
  [server] = await nodes(db.env, 1);
  const held = [];
  for (let i = 0; i < RUNS; i++) held.push((await ingest(server.url, webhook)).rps);
  await server.stop();
  await db.drop();
  return { empty, held };
}
