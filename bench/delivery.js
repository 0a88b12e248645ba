// Delivery scenarios: a receiver process plays the customer's endpoints.
// - delivery(): throughput to one webhook and across 100, each against plain
//   sequential undici POSTs to the same receiver in the same run, with the
//   server's CPU time per delivery; and publish-to-delivered latency at a
//   steady 1,000 msg/s.
// - memory(): 1,000 destinations with a backlog of 1,000,000 undelivered
//   messages in total, and the server's resident memory meanwhile.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { adminQuery, api, deliveredRate, fmt, freshBackend, median, nodes, percentile, RUNS, receiverStats, rssMb, SECONDS, start } from './lib.js';

const value100 = 'v'.repeat(100);
const message = { value: value100 };

/** A process's CPU time so far (user + system), in microseconds, from /proc: clock ticks of 10 ms. */
function cpuMicros(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/**
 * The baseline for one ordered webhook: `count` POSTs to the receiver, one at
 * a time on one kept-alive connection, each with a delivery's body (klev's
 * message JSON with a 100-byte value); requests per second.
 */
async function sequentialPosts(url, count) {
  const agent = new Agent();
  const started = performance.now();
  for (let offset = 0; offset < count; offset++) {
    const body = JSON.stringify({ encoding: 'string', offset, time: Date.now() * 1000, key: null, value: value100 });
    const response = await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, dispatcher: agent });
    await response.body.dump();
  }
  const rate = count / ((performance.now() - started) / 1000);
  await agent.close();
  return rate;
}

/** Deliveries: a receiver process, webhooks on one log, and the time until every delivery arrived. */
export async function delivery(backend, nodeCount = 1) {
  const db = await freshBackend(backend);
  const receiver = await start(['bench/receiver.js'], {});
  const servers = await nodes(db.env, nodeCount, { HOOKLOG_ALLOW_PRIVATE_DESTINATIONS: 'true' });
  const server = servers[0];
  /** With several nodes, waits until the webhooks are shared out evenly, so the timing measures all of them. */
  const balanced = async (webhooks) => {
    if (nodeCount === 1) return;
    const fair = Math.ceil(webhooks / nodeCount);
    for (;;) {
      const { rows } = await adminQuery(`SELECT lease_owner, count(*)::int AS n FROM ${db.schema}.egress_webhooks WHERE active GROUP BY 1`);
      if (rows.length === nodeCount && rows.every((row) => row.lease_owner && row.n <= fair)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const stats = () => receiverStats(receiver);

  /**
   * Publishes `count` messages to a fresh log with `webhooks` webhooks; deliveries
   * per second, and the servers' CPU time per delivery (publishing included).
   */
  const throughput = async (webhooks, count, mode = 'ordered') => {
    const log = (await api(server.url, 'POST', '/logs', {})).log_id;
    for (let i = 0; i < webhooks; i++) await api(server.url, 'POST', '/egress_webhooks', { log_id: log, destination: receiver.url, mode });
    await balanced(webhooks);
    await stats();
    const cpuBefore = servers.map((s) => cpuMicros(s.pid));
    const started = performance.now();
    for (let sent = 0; sent < count; sent += 1000) {
      await api(server.url, 'POST', `/messages/${log}`, { messages: Array.from({ length: Math.min(1000, count - sent) }, () => message) });
    }
    const rate = await deliveredRate(receiver, count * webhooks, started);
    const cpu = servers.reduce((sum, s, i) => sum + cpuMicros(s.pid) - cpuBefore[i], 0);
    await api(server.url, 'DELETE', `/log/${log}`);
    return { rate, cpuMicros: cpu / (count * webhooks) };
  };

  /**
   * Publishes one message per millisecond for SECONDS and reports publish-to-delivered
   * latency, and how long the publishes took to be answered: a message's time is set
   * as its append begins, so the commit's own latency is part of both.
   */
  const steady = async () => {
    const log = (await api(server.url, 'POST', '/logs', {})).log_id;
    await api(server.url, 'POST', '/egress_webhooks', { log_id: log, destination: receiver.url });
    await stats();
    const total = SECONDS * 1000;
    const started = performance.now();
    const inFlight = [];
    const answeredMs = [];
    for (let i = 0; i < total; i++) {
      const due = started + i;
      if (due > performance.now()) await new Promise((resolve) => setTimeout(resolve, due - performance.now()));
      const sent = performance.now();
      inFlight.push(api(server.url, 'POST', `/message/${log}`, message).then(() => answeredMs.push(performance.now() - sent)));
    }
    await Promise.all(inFlight);
    const latencies = [];
    while (latencies.length < total) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      latencies.push(...(await stats()).latenciesMs);
    }
    await api(server.url, 'DELETE', `/log/${log}`);
    return {
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      answeredP50: percentile(answeredMs, 50),
      answeredP99: percentile(answeredMs, 99),
      rate: total / ((performance.now() - started) / 1000),
    };
  };

  const results = { one: [], oneCpu: [], undici: [], hundred: [], hundredCpu: [], hundredParallel: [], steady: [] };
  for (let i = 0; i < RUNS; i++) {
    if (nodeCount === 1) {
      results.undici.push(await sequentialPosts(receiver.url, 10_000));
      await stats();
      const one = await throughput(1, 10_000);
      results.one.push(one.rate);
      results.oneCpu.push(one.cpuMicros);
    }
    const hundred = await throughput(100, 200);
    results.hundred.push(hundred.rate);
    results.hundredCpu.push(hundred.cpuMicros);
    if (nodeCount === 1) results.hundredParallel.push((await throughput(100, 200, 'parallel')).rate);
    if (nodeCount === 1) results.steady.push(await steady());
  }
  await Promise.all(servers.map((s) => s.stop()));
  await receiver.stop();
  await db.drop();
  return results;
}

/** The delivery table of one node, from delivery() on SQLite and on PostgreSQL. */
export function printDelivery(sqlite, postgres) {
  console.log('\nDelivery to a local receiver process (one node, default settings, ordered webhooks, 100-byte values), medians of the runs:\n');
  console.log('| measure | target | SQLite | PostgreSQL |');
  console.log('| --- | --- | --- | --- |');
  const row = (name, target, cell) => console.log(`| ${name} | ${target} | ${cell(sqlite)} | ${cell(postgres)} |`);
  const ratio = (runs, over) => median(runs.map((r, i) => r / over[i]));
  row('plain sequential undici POSTs to the same receiver (the baseline)', '', (r) => `${fmt(median(r.undici))}/s`);
  row('deliveries to one webhook (10,000 messages)', '≥ 0.70 × the baseline', (r) => `${fmt(median(r.one))}/s = **${fmt(ratio(r.one, r.undici), 2)} ×**`);
  row(
    'deliveries across 100 webhooks (200 messages each)',
    '≥ 2 × one webhook',
    (r) => `${fmt(median(r.hundred))}/s = **${fmt(ratio(r.hundred, r.one), 2)} ×**`,
  );
  row('server CPU per delivery, one webhook / 100 webhooks', '≤ 100 µs', (r) => `**${fmt(median(r.oneCpu))} / ${fmt(median(r.hundredCpu))} µs**`);
  row(
    'deliveries across 100 **parallel-mode** webhooks (200 messages each)',
    '≥ the ordered figure',
    (r) => `${fmt(median(r.hundredParallel))}/s = ${fmt(ratio(r.hundredParallel, r.hundred), 2)} ×`,
  );
  const steady = (r, field) => fmt(median(r.steady.map((s) => s[field])), 1);
  row(
    'publish-to-delivered latency at a steady 1,000 msg/s: p50 / p99',
    'p99 < 50 ms',
    (r) => `${steady(r, 'p50')} / **${steady(r, 'p99')} ms** (${fmt(median(r.steady.map((s) => s.rate)))} msg/s reached)`,
  );
  row(
    'the same publishes answered (the commit, which the latency above includes): p50 / p99',
    '',
    (r) => `${steady(r, 'answeredP50')} / ${steady(r, 'answeredP99')} ms`,
  );
}

const DESTINATIONS = 1_000;
const BACKLOG = 1_000_000;
/** How long the receiver takes to answer in the memory scenario: slow enough that the backlog stays. */
const SLOW_MS = 200;

/**
 * The heap ceiling the README recommends for many destinations. Below 2 GiB
 * V8 lets the heap grow to about twice its live size between full
 * collections, instead of four times.
 */
export const HEAP_FLAG = '--max-old-space-size=1024';

/**
 * 1,000 destinations, each an ordered webhook on a log of its own, with
 * 1,000 messages each waiting (BACKLOG in all), sent to a receiver that takes
 * SLOW_MS to answer. The server's resident memory is sampled while it works
 * through the backlog for 4 × SECONDS; the peak is what counts. `nodeFlags`
 * start the server's Node with HEAP_FLAG, say.
 */
export async function memory(backend, nodeFlags = []) {
  const db = await freshBackend(backend);
  const receiver = await start(['bench/receiver.js'], { RECEIVER_DELAY_MS: String(SLOW_MS) });
  const [server] = await nodes(db.env, 1, { HOOKLOG_ALLOW_PRIVATE_DESTINATIONS: 'true' }, nodeFlags);
  const perLog = BACKLOG / DESTINATIONS;
  const logs = [];
  for (let i = 0; i < DESTINATIONS; i++) {
    const log = (await api(server.url, 'POST', '/logs', {})).log_id;
    await api(server.url, 'POST', '/egress_webhooks', { log_id: log, destination: receiver.url });
    logs.push(log);
  }
  const published = performance.now();
  const body = { messages: Array.from({ length: perLog }, () => message) };
  for (const log of logs) await api(server.url, 'POST', `/messages/${log}`, body);
  const publishSeconds = (performance.now() - published) / 1000;
  await receiverStats(receiver);
  const samples = [];
  let delivered = 0;
  const until = performance.now() + 4 * SECONDS * 1000;
  while (performance.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    samples.push(rssMb(server.pid).now);
    delivered += (await receiverStats(receiver)).count;
  }
  const peak = rssMb(server.pid).peak;
  await server.stop();
  await receiver.stop();
  await db.drop();
  return { peak, median: median(samples), delivered, seconds: 4 * SECONDS, publishSeconds };
}

/** The memory table: `runs` maps a label (backend, Node flags) to memory()'s result. */
export function printMemory(runs) {
  console.log(
    `\nMemory: ${fmt(DESTINATIONS)} ordered webhooks, each on its own log, ${fmt(BACKLOG)} undelivered messages in all, a receiver that answers in ${SLOW_MS} ms (target: RSS < 300 MB).\n`,
  );
  console.log('| server | peak RSS | median RSS | delivered meanwhile | publishing the backlog took |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const [name, r] of Object.entries(runs)) {
    console.log(`| ${name} | **${fmt(r.peak)} MB** | ${fmt(r.median)} MB | ${fmt(r.delivered)} in ${r.seconds} s | ${fmt(r.publishSeconds, 1)} s |`);
  }
}
