import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from './helpers/process.js';
import { startReceiver } from './helpers/receiver.js';
import { capturedLog, eventually, startTestServer, type TestServer } from './helpers/server.js';

describe('the server log', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });
  const start = async (overrides: Parameters<typeof startTestServer>[0] = {}) => {
    const log = capturedLog();
    const s: TestServer = await startTestServer(overrides, undefined, log.destination);
    cleanup.push(() => s.close());
    const lines = (msg: string) => log.lines.filter((line) => line.msg === msg);
    return { s, lines, raw: () => JSON.stringify(log.lines) };
  };

  describe('request lines', () => {
    it("one per request, with the route's pattern, status, duration, dialect and token id, and the client's request id echoed", async () => {
      const { s, lines, raw } = await start();
      const log = (await s.request('POST', '/logs', { body: {} })).body.log_id;
      const made = (await s.request('POST', '/tokens', { body: { acl: [`messages:consume:${log}`] } })).body;
      const secretQuery = 'query-secret-0123456789';
      const res = await fetch(`${s.url}/messages/${log}?offset=-2&token=${secretQuery}`, {
        headers: { authorization: `Bearer ${made.bearer}`, 'x-request-id': 'client-id-42' },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-request-id')).toBe('client-id-42');

      const line = await eventually(() => {
        const found = lines('request').find((l) => l.reqId === 'client-id-42');
        expect(found).toBeDefined();
        return found!;
      });
      expect(line).toMatchObject({ level: 30, method: 'GET', route: '/messages/:log_id', status: 200, dialect: 'klev', tokenId: made.token_id });
      expect(line.ms).toBeTypeOf('number');
      expect(Object.keys(line).sort()).toEqual(['dialect', 'hostname', 'level', 'method', 'ms', 'msg', 'pid', 'reqId', 'route', 'status', 'time', 'tokenId']);
      // The admin token has no id of its own.
      expect(lines('request').find((l) => l.route === '/logs')).toMatchObject({ method: 'POST', status: 200, tokenId: 'admin' });
      // Neither the query nor the bearer is written anywhere.
      expect(raw()).not.toContain(secretQuery);
      expect(raw()).not.toContain(made.bearer);
    });

    it('a request id that is not sane is replaced by one of ours; errors carry it too, and other dialects are named', async () => {
      const { s, lines } = await start();
      const ids: string[] = [];
      for (const given of ['has space', 'x'.repeat(129), 'quote"d']) {
        const res = await fetch(`${s.url}/api/v1/app`, { headers: { 'x-request-id': given } });
        expect(res.status).toBe(401);
        const id = res.headers.get('x-request-id');
        expect(id).toMatch(/^[0-9A-Za-z]{10}-[0-9a-z]+$/);
        ids.push(id!);
      }
      expect(new Set(ids).size).toBe(3);
      // Unauthenticated: no token id; a path no route matches has no route.
      await eventually(() => expect(lines('request').filter((l) => ids.includes(l.reqId))).toHaveLength(3));
      expect(lines('request').find((l) => l.reqId === ids[0])).toMatchObject({ route: '/api/v1/app', dialect: 'svix', status: 401, tokenId: null });
      const missing = await fetch(`${s.url}/no/such/path?secret=1`);
      expect(missing.status).toBe(404);
      const id = missing.headers.get('x-request-id');
      // Unmatched: named by its prefix, klev's (the root) otherwise.
      await eventually(() => expect(lines('request').find((l) => l.reqId === id)).toMatchObject({ route: null, dialect: 'klev', status: 404 }));
    });

    it('name the dialect and route as the HTTP histogram does; health checks and scrapes are debug lines, labelled apart', async () => {
      const metricsToken = 'request-log-metrics-token-0123';
      const { s, lines } = await start({ metricsToken });
      const log = (await s.request('POST', '/logs', { body: {} })).body.log_id;
      const source = (await s.request('POST', '/ingress_webhooks', { body: { log_id: log, type: 'none' } })).body.webhook_id;
      expect((await fetch(`${s.url}/ingress/${source}`, { method: 'POST', body: 'x' })).status).toBe(200);
      expect((await fetch(`${s.url}/api/v1/no-such-thing`)).status).toBe(404);
      expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${s.url}/readyz`)).status).toBe(200);
      const scrape = async () => (await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })).text();
      await scrape();
      await eventually(() => expect(lines('request').filter((l) => l.route === '/metrics')).toHaveLength(1));

      const byLine = new Map<string, number>();
      for (const l of lines('request')) {
        const key = `${l.dialect} ${l.route ?? 'unmatched'} ${Math.floor(l.status / 100)}xx`;
        byLine.set(key, (byLine.get(key) ?? 0) + 1);
      }
      const byMetric = new Map<string, number>();
      for (const [, dialect, route, statusClass, count] of (await scrape()).matchAll(
        /^hooklog_http_request_duration_seconds_count\{dialect="([^"]*)",route="([^"]*)",status_class="([^"]*)"\} (\d+)$/gm,
      )) {
        byMetric.set(`${dialect} ${route} ${statusClass}`, Number(count));
      }
      expect(byMetric).toEqual(byLine);
      expect([...byLine.keys()]).toEqual(
        expect.arrayContaining([
          'klev /logs 2xx',
          'ingress /ingress/:webhook_id 2xx',
          'svix unmatched 4xx',
          'health /healthz 2xx',
          'health /readyz 2xx',
          'metrics /metrics 2xx',
        ]),
      );
      const levels = (route: string) => [
        ...new Set(
          lines('request')
            .filter((l) => l.route === route)
            .map((l) => l.level),
        ),
      ];
      expect([levels('/healthz'), levels('/readyz'), levels('/metrics'), levels('/logs')]).toEqual([[20], [20], [20], [30]]);
    });
  });

  describe('operational events', () => {
    it('a rejected ingress request: info, with the webhook id and the reason code, and nothing of the request', async () => {
      const { s, lines, raw } = await start();
      const log = (await s.request('POST', '/logs', { body: {} })).body.log_id;
      const secret = 'ingress-secret-0123456789';
      const webhook = (await s.request('POST', '/ingress_webhooks', { body: { log_id: log, type: 'github', secret } })).body.webhook_id;
      const body = '{"body":"private-body-text"}';
      const wrong = `sha256=${createHmac('sha256', 'not-the-secret').update(body).digest('hex')}`;
      const res = await fetch(`${s.url}/ingress/${webhook}`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': wrong },
      });
      expect(res.status).toBe(401);
      await eventually(() => expect(lines('ingress request rejected')).toHaveLength(1));
      const [line] = lines('ingress request rejected');
      expect(line).toMatchObject({ level: 30, webhookId: webhook, reason: 'bad_signature' });
      expect(raw()).not.toContain('private-body-text');
      expect(raw()).not.toContain(wrong.slice(7));
      // The request itself has its line too, as any other.
      expect(lines('request').find((l) => l.route === '/ingress/:webhook_id')).toMatchObject({ status: 401, dialect: 'ingress' });
    });

    it('failed delivery attempts: info, with ids, attempt, status or error and the next try; the deactivation that ends them: warn, with the reason', async () => {
      const { s, lines } = await start({ allowPrivateDestinations: true, retrySchedule: [0, 0.1], deliveryTimeoutSeconds: 0.5 });
      const receiver = await startReceiver();
      cleanup.push(() => receiver.close());
      receiver.fallback = { status: 500 };
      const log = (await s.request('POST', '/logs', { body: {} })).body.log_id;
      const webhook = (await s.request('POST', '/egress_webhooks', { body: { log_id: log, destination: receiver.url } })).body;
      await s.request('POST', `/message/${log}`, { body: { value: 'message-value-text' } });

      await eventually(() => expect(lines('egress webhook deactivated')).toHaveLength(1));
      const failed = lines('delivery attempt failed');
      expect(failed).toHaveLength(2);
      expect(failed[0]).toMatchObject({ level: 30, webhookId: webhook.webhook_id, logId: log, offset: 0, attempt: 1, trigger: 'scheduled', statusCode: 500 });
      expect(Date.parse(failed[0]!.nextAttemptAt)).toBeGreaterThan(failed[0]!.time);
      expect(failed[1]).toMatchObject({ attempt: 2, statusCode: 500, nextAttemptAt: null });
      expect(lines('egress webhook deactivated')[0]).toMatchObject({
        level: 40,
        webhookId: webhook.webhook_id,
        logId: log,
        reason: 'gave up on offset 0 after 2 attempts; last error: HTTP 500',
      });
    });

    it('a failed attempt that got no response logs the error instead of a status', async () => {
      const { s, lines } = await start({ allowPrivateDestinations: true, retrySchedule: [0, 60], deliveryTimeoutSeconds: 0.5 });
      const log = (await s.request('POST', '/logs', { body: {} })).body.log_id;
      // Nothing listens on a port just freed.
      await s.request('POST', '/egress_webhooks', { body: { log_id: log, destination: `http://127.0.0.1:${await freePort()}/` } });
      await s.request('POST', `/message/${log}`, { body: { value: 'x' } });
      await eventually(() => expect(lines('delivery attempt failed')).toHaveLength(1));
      const [line] = lines('delivery attempt failed');
      expect(line!.error).toMatch(/ECONNREFUSED/);
      expect(line).not.toHaveProperty('statusCode');
      expect(lines('egress webhook deactivated')).toEqual([]);
    });
  });
});
