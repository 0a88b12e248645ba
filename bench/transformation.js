// Transformations (issue 16), on one node:
// - deliveries per second with and without a trivial transformation, in the
//   same run: to one ordered webhook, and across 100;
// - the API's latency (GET /logs, one request every 10 ms from this process)
//   with no transformation running, and while 20 webhooks run an infinite
//   loop on every attempt (retried every 100 ms).
import { api, deliveredRate, fmt, freshBackend, median, nodes, percentile, RUNS, receiverStats, start } from './lib.js';

const TRIVIAL = "export function handler(webhook) { webhook.headers['x-transformed'] = '1'; return webhook; }";
const HOSTILE = 'export function handler(webhook) { for (;;) {} }';
const message = { value: 'v'.repeat(100) };

/** Publishes `count` messages to a fresh log with `webhooks` webhooks, with `code` as their transformation or none; deliveries per second. */
async function throughput(server, receiver, webhooks, count, code) {
  const log = (await api(server.url, 'POST', '/logs', {})).log_id;
  for (let i = 0; i < webhooks; i++) {
    const { webhook_id: id } = await api(server.url, 'POST', '/egress_webhooks', { log_id: log, destination: receiver.url });
    if (code) await api(server.url, 'PUT', `/egress_webhook/${id}/transformation`, { code });
  }
  await receiverStats(receiver);
  const started = performance.now();
  for (let sent = 0; sent < count; sent += 1000) {
    await api(server.url, 'POST', `/messages/${log}`, { messages: Array.from({ length: Math.min(1000, count - sent) }, () => message) });
  }
  const rate = await deliveredRate(receiver, count * webhooks, started);
  await api(server.url, 'DELETE', `/log/${log}`);
  return rate;
}

/** GET /logs one at a time, 10 ms apart, for `seconds`: the latencies in ms. */
async function probe(server, seconds) {
  const latencies = [];
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    const started = performance.now();
    await api(server.url, 'GET', '/logs');
    latencies.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return latencies;
}

/** The API's latency without transformations, then while `count` webhooks loop forever on each attempt. */
async function underAttack(server, count) {
  const quiet = await probe(server, 5);
  const log = (await api(server.url, 'POST', '/logs', {})).log_id;
  for (let i = 0; i < count; i++) {
    const { webhook_id: id } = await api(server.url, 'POST', '/egress_webhooks', { log_id: log, destination: 'http://127.0.0.1:9/never' });
    await api(server.url, 'PUT', `/egress_webhook/${id}/transformation`, { code: HOSTILE });
  }
  await api(server.url, 'POST', `/message/${log}`, message);
  const attacked = await probe(server, 5);
  await api(server.url, 'DELETE', `/log/${log}`);
  return { quiet, attacked };
}

export async function transformation(backend) {
  const db = await freshBackend(backend);
  const receiver = await start(['bench/receiver.js'], {});
  // Retries every 100 ms: the hostile webhooks run their loop about ten times a second each.
  const [server] = await nodes(db.env, 1, { HOOKLOG_ALLOW_PRIVATE_DESTINATIONS: 'true', HOOKLOG_RETRY_SCHEDULE: ['0', ...Array(200).fill('0.1')].join(',') });
  const results = { one: [], oneTransformed: [], hundred: [], hundredTransformed: [], quietP99: [], attackedP99: [], attackedP50: [] };
  for (let i = 0; i < RUNS; i++) {
    // Alternating which goes first, so that neither always runs on a warmer server.
    const pair = async (webhooks, count, plain, transformed) => {
      if (i % 2 === 0) {
        results[plain].push(await throughput(server, receiver, webhooks, count));
        results[transformed].push(await throughput(server, receiver, webhooks, count, TRIVIAL));
      } else {
        results[transformed].push(await throughput(server, receiver, webhooks, count, TRIVIAL));
        results[plain].push(await throughput(server, receiver, webhooks, count));
      }
    };
    await pair(1, 10_000, 'one', 'oneTransformed');
    await pair(100, 200, 'hundred', 'hundredTransformed');
    const { quiet, attacked } = await underAttack(server, 20);
    results.quietP99.push(percentile(quiet, 99));
    results.attackedP99.push(percentile(attacked, 99));
    results.attackedP50.push(percentile(attacked, 50));
  }
  await server.stop();
  await receiver.stop();
  await db.drop();
  return results;
}

export function printTransformation(sqlite, postgres) {
  console.log('\nTransformations (one node, ordered webhooks, 100-byte values; a trivial transformation sets one header), medians of the runs:\n');
  console.log('| measure | target | SQLite | PostgreSQL |');
  console.log('| --- | --- | --- | --- |');
  const row = (name, target, cell) => console.log(`| ${name} | ${target} | ${cell(sqlite)} | ${cell(postgres)} |`);
  const ratio = (runs, over) => median(runs.map((r, i) => r / over[i]));
  row('deliveries to one webhook, no transformation (10,000 messages)', '', (r) => `${fmt(median(r.one))}/s`);
  row('the same through a trivial transformation', '≥ 0.70 ×', (r) => `${fmt(median(r.oneTransformed))}/s = **${fmt(ratio(r.oneTransformed, r.one), 2)} ×**`);
  row('deliveries across 100 webhooks, no transformation (200 messages each)', '', (r) => `${fmt(median(r.hundred))}/s`);
  row(
    'the same through a trivial transformation',
    '≥ 0.70 ×',
    (r) => `${fmt(median(r.hundredTransformed))}/s = **${fmt(ratio(r.hundredTransformed, r.hundred), 2)} ×**`,
  );
  row('API p99 (GET /logs every 10 ms), no transformation running', '', (r) => `${fmt(median(r.quietP99), 1)} ms`);
  row(
    'API p50 / p99 while 20 webhooks run an infinite loop ~10 times a second each',
    'p99 < 50 ms',
    (r) => `${fmt(median(r.attackedP50), 1)} / **${fmt(median(r.attackedP99), 1)} ms**`,
  );
}
