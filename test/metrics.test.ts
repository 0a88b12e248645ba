import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { egressSetUp, egressTearDown } from './helpers/egress.js';
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

async function scrape(s: TestServer, token: string | null = METRICS_TOKEN): Promise<Sample[]> {
  const res = await fetch(`${s.url}/metrics`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
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

    // Routes by pattern, never by URL; a URL no route has is `unmatched`.
    expect(value(m, 'hooklog_http_request_duration_seconds_count', { dialect: 'ingress', route: '/ingress/:webhook_id', status_class: '2xx' })).toBe(4);
    expect(value(m, 'hooklog_http_request_duration_seconds_count', { dialect: 'ingress', route: '/ingress/:webhook_id', status_class: '4xx' })).toBe(2);
    expect(value(m, 'hooklog_http_request_duration_seconds_count', { dialect: 'klev', route: '/messages/:log_id', status_class: '2xx' })).toBe(3);
    expect(value(m, 'hooklog_http_request_duration_seconds_count', { dialect: 'klev', route: 'unmatched', status_class: '4xx' })).toBe(1);
    const routes = new Set(matching(m, 'hooklog_http_request_duration_seconds_count').map((sample) => sample.labels.route));
    for (const id of [log, source, ok]) expect([...routes].some((route) => route!.includes(id))).toBe(false);
    expect(routes.has('/metrics')).toBe(false);

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
    const after = await scrape(s);
    expect(after.filter(({ labels }) => labels.source === source || labels.destination === ok || labels.log === goneLog)).toEqual([]);
    expect(value(after, 'hooklog_delivery_attempts_total', { destination: failing, outcome: 'http_5xx' })).toBe(1);
    expect(value(after, 'hooklog_log_messages_appended_total', { log })).toBe(5);
  });

  it('requires the metrics bearer when one is set, and none otherwise', async () => {
    s = await startTestServer({ metricsToken: METRICS_TOKEN });
    for (const authorization of [undefined, 'Bearer wrong-token', `Bearer ${METRICS_TOKEN}x`, METRICS_TOKEN]) {
      const res = await fetch(`${s.url}/metrics`, { headers: authorization ? { authorization } : {} });
      expect([res.status, ((await res.json()) as { error: string }).error], String(authorization)).toEqual([401, 'ERR_KLEV_API_0162']);
    }
    expect(matching(await scrape(s), 'process_cpu_seconds_total')).toHaveLength(1);
    // The API's bearer is not the metrics bearer.
    expect((await s.request('GET', '/metrics')).status).toBe(401);
    await s.close();

    s = await startTestServer();
    expect(matching(await scrape(s, null), 'process_cpu_seconds_total')).toHaveLength(1);
  });

  it('counts long-poll waiters while they wait, and the rows retention deleted by kind', async () => {
    s = await startTestServer({ retentionIntervalSeconds: 0.2 });
    const log = (await s.request('POST', '/logs', { body: { trim_seconds: 60 } })).body.log_id;
    const twoHoursAgo = (Date.now() - 7200_000) * 1000;
    const old = Array.from({ length: 4 }, () => ({ value: 'eA==', time: twoHoursAgo }));
    expect((await s.request('POST', `/messages/${log}`, { body: { messages: old } })).status).toBe(200);
    await eventually(async () => {
      const m = await scrape(s, null);
      expect(value(m, 'hooklog_retention_deleted_rows_total', { kind: 'trimmed_by_age' })).toBe(4);
      expect(value(m, 'hooklog_leases_held', { kind: 'retention' })).toBe(1);
    });

    const empty = (await s.request('POST', '/logs', { body: {} })).body.log_id;
    // Polls that end on their own: each waits 3 s for a message that never comes.
    const polls = [1, 2].map(() => s.request('GET', `/messages/${empty}`, { query: { offset: 0, len: 1, poll: 3000 } }));
    await eventually(async () => expect(value(await scrape(s, null), 'hooklog_long_poll_waiters')).toBe(2));
    expect((await Promise.all(polls)).map((res) => res.status)).toEqual([200, 200]);
    expect(value(await scrape(s, null), 'hooklog_long_poll_waiters')).toBe(0);
  });
});
