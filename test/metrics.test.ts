import { createHmac } from 'node:crypto';
import pg from 'pg';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { egressSetUp, egressTearDown } from './helpers/egress.js';
import { freePort } from './helpers/process.js';
import type { Receiver } from './helpers/receiver.js';
import { eventually, startTestServer, type TestServer } from './helpers/server.js';

const METRICS_TOKEN = 'prometheus-scrape-token-0123';
const POSTGRES = process.env.HOOKLOG_TEST_BACKEND === 'postgres';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus' text format, sample lines only: `name{label="value",...} number`. */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, name, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[name!] = value!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The samples of `name` whose labels include `labels`. */
function matching(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value));
}

/** The one sample of `name` with `labels`; undefined when there is none. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = matching(samples, name, labels);
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

/** Scrapes the server's port, with the metrics bearer; or `base`, with `token` (null: none). */
async function scrape(s: TestServer, { base = s.url, token = METRICS_TOKEN }: { base?: string; token?: string | null } = {}): Promise<Sample[]> {
  const res = await fetch(`${base}/metrics`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parse(await res.text());
}

const githubSignature = (secret: string, body: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

describe('GET /metrics', () => {
  let s: TestServer;
  let receiver: Receiver | undefined;
  afterEach(async () => {
    if (receiver) await egressTearDown({ s, receiver });
    else await s.close();
    receiver = undefined;
  });

  it('counts ingress results, appends, commits, deliveries and HTTP routes exactly; reports lag; drops the series of deleted webhooks', async () => {
    // A failure waits an hour for its retry: the failing destination stays active and behind.
    const setUp = await egressSetUp({ metricsToken: METRICS_TOKEN, retrySchedule: [0, 3600] });
    ({ s, receiver } = setUp);
    const { log } = setUp;
    receiver.respond = ({ path }) => (path.endsWith('fail') ? { status: 500 } : path.endsWith('gone') ? { status: 410 } : undefined);
    const newLog = async () => (await s.request('POST', '/logs', { body: {} })).body.log_id as string;
    const [failingLog, goneLog] = [await newLog(), await newLog()];

    const egress = async (logId: string, path: string) =>
      (await s.request('POST', '/egress_webhooks', { body: { log_id: logId, destination: `${receiver!.url}/${path}` } })).body.webhook_id as string;
    const [ok, failing, gone] = [await egress(log, 'ok'), await egress(failingLog, 'fail'), await egress(goneLog, 'gone')];

    const source = (await s.request('POST', '/ingress_webhooks', { body: { log_id: log, type: 'github', secret: 'gh' } })).body.webhook_id as string;
    const github = async (body: string, delivery: string, secret = 'gh') =>
      (
        await fetch(`${s.url}/ingress/${source}`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json', 'x-github-delivery': delivery, 'x-hub-signature-256': githubSignature(secret, body) },
        })
      ).status;
    expect([await github('{"n":1}', 'd1'), await github('{"n":2}', 'd2'), await github('{"n":3}', 'd3')]).toEqual([200, 200, 200]);
    expect(await github('{"n":1}', 'd1')).toBe(200);
    expect([await github('{"n":4}', 'd4', 'wrong'), await github('{"n":5}', 'd5', 'wrong')]).toEqual([401, 401]);

    const hourAgoMicros = (Date.now() - 3600_000) * 1000;
    const publish = async (logId: string, count: number, time?: number) =>
      expect(
        (await s.request('POST', `/messages/${logId}`, { body: { messages: Array.from({ length: count }, () => ({ value: 'eA==', time })) } })).status,
      ).toBe(200);
    await publish(log, 2);
    await publish(failingLog, 3, hourAgoMicros);
    await publish(goneLog, 2, hourAgoMicros - 3600_000_000);

    expect((await s.request('GET', '/nothing-here')).status).toBe(404);

    const m = await eventually(async () => {
      const samples = await scrape(s);
      expect(value(samples, 'hooklog_delivery_attempts_total', { destination: ok, outcome: 'success' })).toBe(5);
      expect(value(samples, 'hooklog_delivery_attempts_total', { destination: failing, outcome: 'http_5xx' })).toBe(1);
      expect(value(samples, 'hooklog_delivery_attempts_total', { destination: gone, outcome: 'http_4xx' })).toBe(1);
      // The lag is read from the stored cursors, which follow the attempts once their records commit.
      expect(value(samples, 'hooklog_delivery_lag_messages', { destination: ok })).toBe(0);
      expect(value(samples, 'hooklog_delivery_lag_messages', { destination: gone })).toBe(2);
      expect(value(samples, 'hooklog_leases_held', { kind: 'webhook' })).toBe(2);
      return samples;
    });
    const scrapedAt = Date.now();

    expect(matching(m, 'hooklog_ingress_requests_total', { source }).map(({ labels, value }) => [labels.result, value])).toEqual(
      expect.arrayContaining([
        ['accepted', 3],
        ['duplicate', 1],
        ['rejected:bad_signature', 2],
      ]),
    );
    expect(matching(m, 'hooklog_ingress_requests_total', { source })).toHaveLength(3);
    expect(value(m, 'hooklog_ingest_duration_seconds_count')).toBe(4);

    expect(value(m, 'hooklog_log_messages_appended_total', { log })).toBe(5);
    expect(value(m, 'hooklog_log_messages_appended_total', { log: failingLog })).toBe(3);
    expect(value(m, 'hooklog_log_messages_appended_total', { log: goneLog })).toBe(2);
    // Seven append requests (four verified webhooks, three publishes), however they were grouped.
    expect(value(m, 'hooklog_log_commit_requests_sum')).toBe(7);
    expect(value(m, 'hooklog_log_commit_duration_seconds_count')).toBe(value(m, 'hooklog_log_commit_requests_count'));

    expect(value(m, 'hooklog_delivery_attempt_duration_seconds_count', { destination: ok })).toBe(5);
    expect(matching(m, 'hooklog_delivery_attempts_total', { destination: ok })).toHaveLength(1);

    // Delivered: no lag. Failing (held, waiting for its retry) and gone (inactive): every message, as old as the oldest.
    expect(value(m, 'hooklog_delivery_lag_seconds', { destination: ok })).toBe(0);
    expect(value(m, 'hooklog_delivery_lag_messages', { destination: failing })).toBe(3);
    const failingAge = value(m, 'hooklog_delivery_lag_seconds', { destination: failing })!;
    expect(failingAge).toBeGreaterThanOrEqual(3600);
    expect(failingAge).toBeLessThanOrEqual((scrapedAt - hourAgoMicros / 1000) / 1000);
    expect(value(m, 'hooklog_delivery_lag_seconds', { destination: gone })).toBeGreaterThanOrEqual(7200);

    // Routes by pattern, never by URL; a URL no route has is `unmatched`. Ingress URLs are apart from klev's API.
    expect(value(m, 'hooklog_http_request_duration_seconds_count', { dialect: 'ingress', route: '/ingress/:webhook_id', status_class: '2xx' })).toBe(4);
    expect(value(m, 'hooklog_http_request_duration_seconds_count', { dialect: 'ingress', route: '/ingress/:webhook_id', status_class: '4xx' })).toBe(2);
    expect(value(m, 'hooklog_http_request_duration_seconds_count', { dialect: 'klev', route: '/messages/:log_id', status_class: '2xx' })).toBe(3);
    expect(value(m, 'hooklog_http_request_duration_seconds_count', { dialect: 'klev', route: 'unmatched', status_class: '4xx' })).toBe(1);
    const routes = new Set(matching(m, 'hooklog_http_request_duration_seconds_count').map((sample) => sample.labels.route));
    for (const id of [log, source, ok]) expect([...routes].some((route) => route!.includes(id))).toBe(false);

    expect(value(m, 'hooklog_long_poll_waiters')).toBe(0);
    expect(value(m, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(value(m, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    if (POSTGRES) {
      const total = value(m, 'hooklog_database_pool_connections')!;
      expect(total).toBeGreaterThanOrEqual(1);
      expect(total).toBeLessThanOrEqual(10);
      expect(value(m, 'hooklog_database_pool_idle_connections')).toBeLessThanOrEqual(total);
      expect(value(m, 'hooklog_database_pool_waiting_queries')).toBe(0);
    } else {
      expect(matching(m, 'hooklog_database_pool_connections')).toEqual([]);
    }

    expect((await s.request('DELETE', `/ingress_webhook/${source}`)).status).toBe(200);
    expect((await s.request('DELETE', `/egress_webhook/${ok}`)).status).toBe(200);
    expect((await s.request('DELETE', `/log/${goneLog}`)).status).toBe(200);
    // At the first scrape that reads the store after the deletes: one within a second of the last read reuses it.
    const after = await eventually(async () => {
      const samples = await scrape(s);
      expect(samples.filter(({ labels }) => labels.source === source || labels.destination === ok || labels.log === goneLog)).toEqual([]);
      return samples;
    });
    expect(value(after, 'hooklog_delivery_attempts_total', { destination: failing, outcome: 'http_5xx' })).toBe(1);
    expect(value(after, 'hooklog_log_messages_appended_total', { log })).toBe(5);
  });

  it('with a metrics bearer, is served on both ports and requires it; without one, only on the health port', async () => {
    s = await startTestServer({ metricsToken: METRICS_TOKEN, healthPort: await freePort() });
    for (const base of [s.url, s.server.healthUrl!]) {
      for (const authorization of [undefined, 'Bearer wrong-token', `Bearer ${METRICS_TOKEN}x`, METRICS_TOKEN]) {
        const res = await fetch(`${base}/metrics`, { headers: authorization ? { authorization } : {} });
        expect([res.status, ((await res.json()) as { error: string }).error], `${base} ${authorization}`).toEqual([401, 'ERR_KLEV_API_0162']);
      }
      expect(matching(await scrape(s, { base }), 'process_cpu_seconds_total')).toHaveLength(1);
    }
    // The API's bearer is not the metrics bearer.
    expect((await s.request('GET', '/metrics')).status).toBe(401);
    await s.close();

    // The metrics name every ingress webhook, whose URL is the only credential of a `none` one: not on the public port.
    s = await startTestServer({ healthPort: await freePort() });
    const res = await fetch(`${s.url}/metrics`);
    expect([res.status, ((await res.json()) as { error: string }).error]).toEqual([404, 'ERR_KLEV_API_0005']);
    expect(matching(await scrape(s, { base: s.server.healthUrl!, token: null }), 'process_cpu_seconds_total')).toHaveLength(1);
  });

  it('counts long-poll waiters while they wait, and the rows retention deleted by kind', async () => {
    s = await startTestServer({ retentionIntervalSeconds: 0.2, metricsToken: METRICS_TOKEN });
    const log = (await s.request('POST', '/logs', { body: { trim_seconds: 60 } })).body.log_id;
    const twoHoursAgo = (Date.now() - 7200_000) * 1000;
    const old = Array.from({ length: 4 }, () => ({ value: 'eA==', time: twoHoursAgo }));
    expect((await s.request('POST', `/messages/${log}`, { body: { messages: old } })).status).toBe(200);
    await eventually(async () => {
      const m = await scrape(s);
      expect(value(m, 'hooklog_retention_deleted_rows_total', { kind: 'trimmed_by_age' })).toBe(4);
      expect(value(m, 'hooklog_leases_held', { kind: 'retention' })).toBe(1);
    });

    const empty = (await s.request('POST', '/logs', { body: {} })).body.log_id;
    // Polls that end on their own: each waits 3 s for a message that never comes.
    const polls = [1, 2].map(() => s.request('GET', `/messages/${empty}`, { query: { offset: 0, len: 1, poll: 3000 } }));
    await eventually(async () => expect(value(await scrape(s), 'hooklog_long_poll_waiters')).toBe(2));
    expect((await Promise.all(polls)).map((res) => res.status)).toEqual([200, 200]);
    expect(value(await scrape(s), 'hooklog_long_poll_waiters')).toBe(0);
  });
  it("counts a parallel destination's lag as the messages ahead of its cursor plus those parked, as old as the lowest parked; concurrent scrapes all see it", async () => {
    // A failure waits an hour for its retry; the attempt that hangs holds the cursor where it is.
    const setUp = await egressSetUp({ metricsToken: METRICS_TOKEN, retrySchedule: [0, 3600], deliveryTimeoutSeconds: 60 });
    ({ s, receiver } = setUp);
    const { log } = setUp;
    receiver.script({ status: 500 }, { status: 500 }, { status: 200 }, { hang: true });
    const webhook = (await s.request('POST', '/egress_webhooks', { body: { log_id: log, destination: receiver.url, mode: 'parallel' } })).body.webhook_id;
    const hoursAgo = (hours: number) => (Date.now() - hours * 3600_000) * 1000;
    // Offsets 0 and 1 fail and are parked, 2 is delivered, 3 hangs; 3, 4 and 5 are ahead of the cursor.
    const messages = [3, 2.5, 2, 1, 0.5, 0].map((hours) => ({ value: 'eA==', time: hoursAgo(hours) }));
    expect((await s.request('POST', `/messages/${log}`, { body: { messages } })).status).toBe(200);
    const oldest = messages[0]!.time;

    await receiver.waitFor(4);
    await eventually(async () => expect(value(await scrape(s), 'hooklog_delivery_lag_messages', { destination: webhook })).toBe(3 + 2));
    // Past the reuse of the last read, then one flood of scrapes: each sees the whole of the gauges.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const before = Date.now();
    const flood = await Promise.all(Array.from({ length: 8 }, () => scrape(s)));
    for (const m of flood) {
      expect(value(m, 'hooklog_delivery_lag_messages', { destination: webhook })).toBe(5);
      const age = value(m, 'hooklog_delivery_lag_seconds', { destination: webhook })!;
      // The parked offset 0 (3 h), not the cursor's offset 3 (1 h).
      expect(age).toBeGreaterThanOrEqual(3 * 3600);
      expect(age).toBeLessThanOrEqual((Date.now() - oldest / 1000) / 1000);
      expect(age).toBeGreaterThanOrEqual((before - oldest / 1000) / 1000 - 2);
    }
  });

  it.runIf(POSTGRES)('answers with the counters while the store cannot be read, and counts that error', async () => {
    s = await startTestServer({ metricsToken: METRICS_TOKEN, databaseStatementTimeoutSeconds: 600 });
    const log = (await s.request('POST', '/logs', { body: {} })).body.log_id;
    expect((await s.request('POST', `/messages/${log}`, { body: { messages: [{ value: 'eA==' }, { value: 'eA==' }] } })).status).toBe(200);
    const m = await scrape(s);
    expect(value(m, 'hooklog_metrics_store_errors_total')).toBe(0);

    // A connection of the test's own holds the egress webhooks' table: the scrape's read of it waits (here for 10 minutes).
    const schema = new URL(s.databaseUrl).searchParams.get('options')!.replace('-c search_path=', '');
    const holder = new pg.Client({ connectionString: s.databaseUrl });
    await holder.connect();
    onTestFinished(() => holder.end());
    await holder.query('BEGIN');
    await holder.query(`LOCK TABLE ${schema}.egress_webhooks IN ACCESS EXCLUSIVE MODE`);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    try {
      const during = await scrape(s);
      expect(value(during, 'hooklog_metrics_store_errors_total')).toBe(1);
      expect(value(during, 'hooklog_log_messages_appended_total', { log })).toBe(2);
      expect(value(during, 'hooklog_database_pool_connections')).toBeGreaterThanOrEqual(1);
      expect(value(during, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
      // Scrapes meanwhile share the read that waits, rather than each taking a connection of the pool.
      const again = await scrape(s);
      expect(value(again, 'hooklog_metrics_store_errors_total')).toBe(1);
    } finally {
      await holder.query('COMMIT');
    }
    await eventually(async () => {
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const after = await scrape(s);
      expect(value(after, 'hooklog_metrics_store_errors_total')).toBe(1);
    });
  });
});
