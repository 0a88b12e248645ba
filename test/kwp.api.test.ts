import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/load.js';
import type { ChannelConfig } from '../src/config/schema.js';
import { useCliServer } from './helpers/cli.js';
import { createSchema } from './helpers/postgres.js';
import { ADMIN, type ApiResponse, removeDir, startTestServer, type TestServer, tempDir } from './helpers/server.js';

/** A KWP answer: its status and parsed JSON body. */
type Answer = Pick<ApiResponse, 'status' | 'body'>;

/** A POST as a provider sends it, answered with its status and parsed body. */
async function send(s: TestServer, channel: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${s.url}/api/webhook/${channel}`, {
    method: 'POST',
    body: typeof body === 'string' ? body : new Blob([new Uint8Array(body)]),
    headers: { 'content-type': 'application/json', ...headers },
  });
  return { status: res.status, body: await res.json() };
}

/** A GET as a KWP client sends it; `token` null sends no Authorization header. */
async function take(s: TestServer, channel: string, token: string | null): Promise<Answer> {
  const res = await fetch(`${s.url}/api/webhook/${channel}`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() };
}

const code = (n: string) => `ERR_KLEV_API_${n}`;

describe('Kaiman Webhooks Proxy channels', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ maxResponseBytes: 256 * 1024 });
  });
  afterAll(async () => {
    await s.close();
  });
  const create = (body: Record<string, unknown>, token?: string) => s.request('POST', '/channels', { body, ...(token && { token }) });

  it('creates a channel with a log and an ingress webhook named after it, shows its token once, and deletes it with them', async () => {
    const created = await create({ name: 'github', secret_header: 'X-Hub-Signature-256', secret: 'mysecret' });
    expect(created.status).toBe(200);
    expect(created.body).toEqual({
      name: 'github',
      log_id: expect.stringMatching(/^log_/),
      ingress_webhook_id: expect.stringMatching(/^iwh_/),
      cursor: 0,
      from_config: false,
      created_at: expect.any(Number),
      token: expect.stringMatching(/^[0-9A-Za-z]{32}$/),
    });
    const { token, ...shown } = created.body;
    expect((await s.request('GET', '/channel/github')).body).toEqual(shown);
    expect((await s.request('GET', '/channels')).body.items).toContainEqual(shown);
    for (const res of [await s.request('GET', '/channel/github'), await s.request('GET', '/channels')]) {
      expect(JSON.stringify(res.body)).not.toContain(token);
      expect(JSON.stringify(res.body)).not.toContain('mysecret');
    }
    expect((await s.request('GET', `/log/${shown.log_id}`)).body.metadata).toBe('github');
    expect((await s.request('GET', `/ingress_webhook/${shown.ingress_webhook_id}`)).body).toMatchObject({
      metadata: 'github',
      type: 'secret-header',
      header: 'X-Hub-Signature-256',
    });

    expect((await s.request('DELETE', '/channel/github')).body).toEqual(shown);
    expect((await s.request('GET', '/channel/github')).body.error).toBe(code('0150'));
    expect((await s.request('GET', `/log/${shown.log_id}`)).status).toBe(404);
    expect((await s.request('GET', `/ingress_webhook/${shown.ingress_webhook_id}`)).status).toBe(404);
    expect((await send(s, 'github', '{}', { 'x-hub-signature-256': 'mysecret' })).status).toBe(404);
    expect((await take(s, 'github', token)).status).toBe(401);
  });

  it('refuses bad channels with a coded error, creating nothing', async () => {
    await create({ name: 'taken', token: 'taken-token' });
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ name: 'has/slash' }, 400, '0102'],
      [{ name: '' }, 400, '0102'],
      [{ name: 'x'.repeat(65) }, 400, '0102'],
      [{ name: '..' }, 400, '0102'],
      [{}, 400, '0102'],
      [{ name: 'a', secret_header: 'X-Token' }, 400, '0102'],
      [{ name: 'a', secret: 's' }, 400, '0102'],
      [{ name: 'a', secret_header: 'bad header', secret: 's' }, 400, '0102'],
      [{ name: 'a', token: '' }, 400, '0102'],
      [{ name: 'a', extra: 1 }, 400, '0102'],
      [{ name: 'taken' }, 409, '0151'],
      [{ name: 'other', token: 'taken-token' }, 409, '0151'],
    ];
    for (const [body, status, n] of cases) {
      const res = await create(body);
      expect([res.status, res.body.error], JSON.stringify(body)).toEqual([status, code(n)]);
    }
    const names = (await s.request('GET', '/channels')).body.items.map((c: { name: string }) => c.name);
    expect(names).not.toContain('a');
    expect(names).not.toContain('other');
    const logs = (await s.request('GET', '/logs')).body.logs.map((l: { metadata: string }) => l.metadata);
    expect(logs.filter((m: string) => m === 'a' || m === 'other')).toEqual([]);
    expect((await s.request('DELETE', '/channel/nope')).body.error).toBe(code('0150'));
  });

  it('demands the rights of a log and an ingress webhook', async () => {
    const tokenWith = async (acl: string[]) => (await s.request('POST', '/tokens', { body: { acl } })).body.bearer as string;
    const lister = await tokenWith(['logs:list']);
    expect((await s.request('GET', '/channels', { token: lister })).status).toBe(200);
    expect((await create({ name: 'rights' }, lister)).body.error).toBe(code('0014'));
    const maker = await tokenWith(['logs:create', 'ingress_webhooks:create']);
    expect((await s.request('GET', '/channels', { token: maker })).body.error).toBe(code('0014'));
    const made = await create({ name: 'rights' }, maker);
    expect(made.status).toBe(200);
    expect((await s.request('GET', '/channel/rights', { token: maker })).body.error).toBe(code('0014'));
    const reader = await tokenWith([`logs:get:${made.body.log_id}`]);
    expect((await s.request('GET', '/channel/rights', { token: reader })).body.name).toBe('rights');
    expect((await s.request('DELETE', '/channel/rights', { token: maker })).body.error).toBe(code('0014'));
    const deleter = await tokenWith([`logs:delete:${made.body.log_id}`, `ingress_webhooks:delete:${made.body.ingress_webhook_id}`]);
    expect((await s.request('DELETE', '/channel/rights', { token: deleter })).status).toBe(200);
  });

  it('receives webhooks and hands them to the channel’s token once, oldest first, as KWP does', async () => {
    const { body: a } = await create({ name: 'kwp-a', secret_header: 'X-Secret', secret: 'shh' });
    const { body: b } = await create({ name: 'kwp-b', token: 'token-of-b' });
    const json = '{"action":"opened","n":12345678901234567890}';
    expect(await send(s, 'kwp-a', json, { 'x-secret': 'shh', 'x-github-event': 'push' })).toEqual({ status: 200, body: { status: 'ok' } });
    expect((await send(s, 'kwp-a', 'plain text', { 'x-secret': 'shh', 'content-type': 'text/plain' })).status).toBe(200);
    // Refused: a wrong or missing secret, an unknown channel; in KWP's body, with a stable code.
    expect(await send(s, 'kwp-a', json, { 'x-secret': 'wrong' })).toEqual({
      status: 401,
      body: { error: expect.stringContaining('X-Secret'), code: code('0119') },
    });
    expect((await send(s, 'kwp-a', json)).body.code).toBe(code('0119'));
    expect(await send(s, 'nope', json)).toEqual({ status: 404, body: { error: expect.any(String), code: code('0150') } });
    expect((await send(s, `${'x'.repeat(100)}`, json)).status).toBe(404);
    // A channel without a secret header takes any POST.
    expect((await send(s, 'kwp-b', '[1,2]')).status).toBe(200);

    expect((await take(s, 'kwp-a', null)).body.code).toBe(code('0152'));
    expect((await take(s, 'kwp-a', 'no-such-token')).body.code).toBe(code('0152'));
    expect(await take(s, 'kwp-a', 'token-of-b')).toEqual({ status: 403, body: { error: expect.any(String), code: code('0153') } });
    expect((await take(s, 'nope', 'token-of-b')).body.code).toBe(code('0150'));
    const basic = await fetch(`${s.url}/api/webhook/kwp-a`, { headers: { authorization: `Basic ${a.token}` } });
    expect(basic.status).toBe(401);

    // A HEAD takes nothing: its answer has no body to carry them.
    const head = await fetch(`${s.url}/api/webhook/kwp-a`, { method: 'HEAD', headers: { authorization: `Bearer ${a.token}` } });
    expect(head.status).toBe(200);
    // Too large a body: refused before it is read, in KWP's body.
    expect(await send(s, 'kwp-a', 'x'.repeat(2 * 1024 * 1024), { 'x-secret': 'shh' })).toEqual({
      status: 413,
      body: { error: expect.any(String), code: code('0101') },
    });

    const now = Math.floor(Date.now() / 1000);
    const taken = await take(s, 'kwp-a', a.token);
    expect(taken.status).toBe(200);
    expect(taken.body).toEqual([
      {
        headers: expect.objectContaining({ 'content-type': 'application/json', 'x-github-event': 'push' }),
        payload: expect.any(Object),
        received_at: expect.any(Number),
      },
      { headers: expect.objectContaining({ 'content-type': 'text/plain' }), payload: 'plain text', received_at: expect.any(Number) },
    ]);
    expect(Math.abs(taken.body[0].received_at - now)).toBeLessThan(5);
    // The secret header is never stored, nor handed out.
    expect(taken.body[0].headers['x-secret']).toBeUndefined();
    // A JSON payload is the body as it came: its numbers keep their digits.
    const raw = await fetch(`${s.url}/api/webhook/kwp-b`, { headers: { authorization: 'Bearer token-of-b' } });
    expect(await raw.text()).toMatch(/^\[\{"headers":\{.*\},"payload":\[1,2\],"received_at":\d+\}\]$/);
    expect((await take(s, 'kwp-a', a.token)).body).toEqual([]);
    expect((await s.request('GET', '/channel/kwp-a')).body.cursor).toBe(2);

    // The channel's log stays an ordinary log, read by offset through the native API, the exact bytes kept.
    const page = await s.request('GET', `/messages/${a.log_id}`, { query: { offset: -2, len: 10 } });
    expect(page.body.messages.map((m: { offset: number; value: string }) => [m.offset, m.value])).toEqual([
      [0, json],
      [1, 'plain text'],
    ]);
    expect(b.log_id).not.toBe(a.log_id);

    // Its webhooks are events of the events API too, its source named after it; the refused POSTs are in its quarantine, with the reason.
    const events = (await s.request('GET', '/api/events', { query: { sourceId: a.ingress_webhook_id } })).body;
    expect(events.data.map((e: { offset: number | null; status: string }) => [e.offset, e.status])).toEqual([
      [null, 'rejected'],
      [null, 'rejected'],
      [1, 'pending'],
      [0, 'pending'],
    ]);
    expect(events.data[0]).toMatchObject({ source: { id: a.ingress_webhook_id, name: 'kwp-a' }, signatureValid: false, rejectionReason: 'missing_signature' });
    expect(events.data[1].rejectionReason).toBe('bad_signature');
    expect(JSON.stringify(events)).not.toContain('shh');
  });

  it('answers at most 1000 webhooks per GET, and no more bytes than max_response_bytes', async () => {
    const { body: c } = await create({ name: 'many' });
    const batch = (n: number, value: string) => ({ messages: Array.from({ length: n }, (_, i) => ({ value: `${value}${i}"` })) });
    expect((await s.request('POST', `/messages/${c.log_id}`, { body: batch(1001, '"m') })).status).toBe(200);
    const first = await take(s, 'many', c.token);
    expect(first.body).toHaveLength(1000);
    expect(first.body[999].payload).toBe('m999');
    expect((await take(s, 'many', c.token)).body.map((w: { payload: string }) => w.payload)).toEqual(['m1000']);

    // 40 webhooks of 20 KiB: 800 KiB in answers of at most 256 KiB.
    const big = 'x'.repeat(20 * 1024);
    expect((await s.request('POST', `/messages/${c.log_id}`, { body: batch(40, `"${big}`) })).status).toBe(200);
    const sizes: number[] = [];
    let seen = 0;
    for (let i = 0; i < 10 && seen < 40; i++) {
      const res = await fetch(`${s.url}/api/webhook/many`, { headers: { authorization: `Bearer ${c.token}` } });
      const text = await res.text();
      sizes.push(Buffer.byteLength(text));
      seen += JSON.parse(text).length;
    }
    expect(seen).toBe(40);
    expect(sizes.length).toBeGreaterThan(3);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(256 * 1024);
  });

  it('hands every webhook to exactly one of 5 clients draining while 20 senders post for 5 s', async () => {
    const { body: c } = await create({ name: 'busy', secret_header: 'X-Token', secret: 'busy-secret' });
    const sent: string[] = [];
    const received: string[] = [];
    const until = Date.now() + 5000;
    let sending = true;
    const sender = async (i: number) => {
      for (let n = 0; Date.now() < until; n++) {
        const id = `${i}-${n}`;
        const res = await send(s, 'busy', JSON.stringify({ id }), { 'x-token': 'busy-secret' });
        expect(res.status).toBe(200);
        sent.push(id);
      }
    };
    const drainer = async () => {
      for (;;) {
        const wasSending = sending;
        const res = await take(s, 'busy', c.token);
        expect(res.status).toBe(200);
        received.push(...res.body.map((w: { payload: { id: string } }) => w.payload.id));
        if (!wasSending && res.body.length === 0) return;
      }
    };
    const drainers = Array.from({ length: 5 }, drainer);
    await Promise.all(Array.from({ length: 20 }, (_, i) => sender(i)));
    sending = false;
    await Promise.all(drainers);
    expect(sent.length).toBeGreaterThan(100);
    expect(received.length).toBe(sent.length);
    expect(new Set(received).size).toBe(received.length);
    expect([...received].sort()).toEqual([...sent].sort());
  }, 60_000);
});

describe.runIf(process.env.HOOKLOG_TEST_BACKEND === 'postgres')('Kaiman Webhooks Proxy channels on two nodes sharing PostgreSQL', () => {
  let one: TestServer;
  let two: TestServer;
  beforeAll(async () => {
    one = await startTestServer({ channels: [{ name: 'shared', token: 'shared-token' }] });
    two = await startTestServer({ databaseUrl: one.databaseUrl, channels: [{ name: 'shared', token: 'shared-token' }] });
  });
  afterAll(async () => {
    await two?.close();
    await one?.close();
  });

  it('hands every webhook to exactly one reader, whichever node they ask', async () => {
    const sent: number[] = [];
    const received: number[] = [];
    const until = Date.now() + 3000;
    let sending = true;
    const sender = async (i: number) => {
      for (let n = i; Date.now() < until; n += 10) {
        expect((await send(i % 2 ? one : two, 'shared', JSON.stringify({ n }))).status).toBe(200);
        sent.push(n);
      }
    };
    const drainer = async (node: TestServer) => {
      for (;;) {
        const wasSending = sending;
        const res = await take(node, 'shared', 'shared-token');
        expect(res.status).toBe(200);
        received.push(...res.body.map((w: { payload: { n: number } }) => w.payload.n));
        if (!wasSending && res.body.length === 0) return;
      }
    };
    const drainers = [one, one, one, two, two, two].map(drainer);
    await Promise.all(Array.from({ length: 10 }, (_, i) => sender(i)));
    sending = false;
    await Promise.all(drainers);
    expect(sent.length).toBeGreaterThan(50);
    expect(new Set(received).size).toBe(received.length);
    expect([...received].sort((a, b) => a - b)).toEqual([...sent].sort((a, b) => a - b));
  }, 60_000);
});

describe('Kaiman Webhooks Proxy channels: a client that goes away mid-answer', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ maxResponseBytes: 128 * 1024 * 1024, maxBodyBytes: 8 * 1024 * 1024, channels: [{ name: 'large', token: 'large-token-0123' }] });
  });
  afterAll(async () => {
    await s.close();
  });

  it('loses nothing: the next GET gets every webhook again', async () => {
    const { body: c } = await s.request('GET', '/channel/large');
    const payload = JSON.stringify({ data: 'x'.repeat(64 * 1024) });
    // 1000 of 64 KiB: a 65 MB answer, more than the kernel's socket buffers on loopback take (up to 32 MB to receive, 4 MB to send).
    const count = 1000;
    for (let i = 0; i < count; i += 50) {
      const batch = Array.from({ length: 50 }, (_, j) => ({ value: payload.replace('{', `{"i":${i + j},`) }));
      expect((await s.request('POST', `/messages/${c.log_id}`, { body: { messages: batch } })).status).toBe(200);
    }
    // Read a few bytes of the answer, then hang up.
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${s.url}/api/webhook/large`, { headers: { authorization: 'Bearer large-token-0123' } }, (res) => {
        expect(res.statusCode).toBe(200);
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.once('error', (err) => (req.destroyed ? resolve() : reject(err)));
      req.end();
    });
    // The hold is let go once the server saw the connection close.
    let all: Array<{ payload: { i: number } }> = [];
    for (let attempt = 0; attempt < 50 && all.length === 0; attempt++) {
      const res = await fetch(`${s.url}/api/webhook/large`, { headers: { authorization: 'Bearer large-token-0123' } });
      expect(res.status).toBe(200);
      all = (await res.json()) as typeof all;
      if (all.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(all.map((w) => w.payload.i)).toEqual(Array.from({ length: count }, (_, i) => i));
    expect((await take(s, 'large', 'large-token-0123')).body).toEqual([]);
  }, 60_000);

  it('makes a second GET wait while the first answer is being written, then gives it what the first client did not take', async () => {
    const { body: c } = await s.request('GET', '/channel/large');
    const payload = JSON.stringify({ data: 'y'.repeat(64 * 1024) });
    for (let i = 0; i < 1000; i += 50) {
      const batch = Array.from({ length: 50 }, (_, j) => ({ value: payload.replace('{', `{"i":${i + j},`) }));
      expect((await s.request('POST', `/messages/${c.log_id}`, { body: { messages: batch } })).status).toBe(200);
    }
    // The first client gets the answer's start, then stops reading: the rest of the answer waits in the server.
    const first = httpRequest(`${s.url}/api/webhook/large`, { headers: { authorization: 'Bearer large-token-0123' } });
    first.on('error', () => undefined);
    const started = new Promise<void>((resolve) =>
      first.once('response', (res) =>
        res.once('data', () => {
          res.pause();
          resolve();
        }),
      ),
    );
    first.end();
    await started;
    const second = take(s, 'large', 'large-token-0123');
    let answered = false;
    void second.then(() => (answered = true));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(answered).toBe(false);
    first.destroy();
    const { status, body } = await second;
    expect(status).toBe(200);
    expect(body.map((w: { payload: { i: number } }) => w.payload.i)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect((await take(s, 'large', 'large-token-0123')).body).toEqual([]);
  }, 60_000);
});

describe('Kaiman Webhooks Proxy channels: a client that stops reading', () => {
  let s: TestServer;
  beforeAll(async () => {
    // A stalled answer is cut after 1 s without progress.
    s = await startTestServer({
      maxResponseBytes: 128 * 1024 * 1024,
      maxBodyBytes: 8 * 1024 * 1024,
      requestTimeoutSeconds: 1,
      channels: [{ name: 'stalled', token: 'stalled-token-0123' }],
    });
  });
  afterAll(async () => {
    await s.close();
  });

  it('gives the webhooks of an answer cut off because its client stopped reading to the next GET', async () => {
    const { body: c } = await s.request('GET', '/channel/stalled');
    const payload = JSON.stringify({ data: 'z'.repeat(64 * 1024) });
    // 65 MB: more than loopback's socket buffers hold, so the answer stalls in the server.
    for (let i = 0; i < 1000; i += 50) {
      const batch = Array.from({ length: 50 }, (_, j) => ({ value: payload.replace('{', `{"i":${i + j},`) }));
      expect((await s.request('POST', `/messages/${c.log_id}`, { body: { messages: batch } })).status).toBe(200);
    }
    // Asks, then reads nothing until the server has cut the connection.
    const { port } = new URL(s.url);
    const client = connect(Number(port), '127.0.0.1');
    client.pause();
    client.write('GET /api/webhook/stalled HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer stalled-token-0123\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    client.destroy();
    let all: Array<{ payload: { i: number } }> = [];
    for (let attempt = 0; attempt < 50 && all.length === 0; attempt++) {
      all = (await take(s, 'stalled', 'stalled-token-0123')).body;
      if (all.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(all.map((w) => w.payload.i)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  }, 60_000);
});

describe('Kaiman Webhooks Proxy channels declared in the config', () => {
  it('reads channels from YAML with KWP’s keys, and names the bad key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hooklog-kwp-config-'));
    const file = join(dir, 'config.yml');
    const load = (yaml: string) => {
      writeFileSync(file, yaml);
      return loadConfig({ HOOKLOG_CONFIG: file });
    };
    try {
      expect(
        load(
          'channels:\n  - name: github\n    secret-header: X-Hub-Signature-256\n    webhook-secret: mysecret\n    token: ghi789\n  - name: local\n    token: abc\n',
        ).channels,
      ).toEqual([
        { name: 'github', secretHeader: 'X-Hub-Signature-256', secret: 'mysecret', token: 'ghi789' },
        { name: 'local', token: 'abc' },
      ]);
      const bad: Array<[string, RegExp]> = [
        ['channels: github', /channels: expected a list/],
        ['channels:\n  - name: a/b\n    token: t', /channels\[0\]\.name: must be/],
        ['channels:\n  - name: a\n', /channels\[0\]\.token: channel 'a' needs a non-empty token/],
        ['channels:\n  - name: a\n    token: ""', /channels\[0\]\.token/],
        ['channels:\n  - name: a\n    token: t\n  - name: b\n    token: t', /channels\[1\]\.token: channel 'b' has the token of another channel/],
        ['channels:\n  - name: a\n    token: t\n  - name: a\n    token: u', /channels\[1\]\.name: channel 'a' is declared twice/],
        ['channels:\n  - name: a\n    token: t\n    secret-header: X-S', /channels\[0\]\.webhook-secret/],
        ['channels:\n  - name: a\n    token: t\n    webhook-secret: s', /channels\[0\]\.secret-header/],
        ['channels:\n  - name: a\n    token: t\n    secret: s', /channels\[0\]: unknown key 'secret'/],
        ['channels:\n  - name: a\n    token: 5', /channels\[0\]\.token: expected a string/],
      ];
      for (const [yaml, message] of bad) {
        expect(() => load(yaml), yaml).toThrow(ConfigError);
        expect(() => load(yaml), yaml).toThrow(message);
      }
    } finally {
      removeDir(dir);
    }
  });

  it('creates declared channels at start, and on a later start sets their secret and token as declared, keeping the others', async () => {
    // Two starts over the same data: the same SQLite directory, or the same PostgreSQL schema.
    const schema = process.env.HOOKLOG_TEST_BACKEND === 'postgres' ? await createSchema() : null;
    const dataDir = tempDir();
    const start = (channels: ChannelConfig[]) => startTestServer({ channels, ...(schema && { databaseUrl: schema.url }) }, dataDir);
    try {
      let s = await start([
        { name: 'github', secretHeader: 'X-Hub-Signature-256', secret: 'one', token: 'token-1' },
        { name: 'open', token: 'open-token' },
        { name: 'gone', token: 'gone-token' },
      ]);
      let listed = (await s.request('GET', '/channels')).body.items;
      expect(listed.map((c: { name: string; from_config: boolean }) => [c.name, c.from_config])).toEqual([
        ['github', true],
        ['gone', true],
        ['open', true],
      ]);
      expect((await send(s, 'github', '{"n":1}', { 'x-hub-signature-256': 'one' })).status).toBe(200);
      expect((await send(s, 'open', '{"n":2}')).status).toBe(200);
      expect((await take(s, 'github', 'token-1')).body).toHaveLength(1);
      expect((await send(s, 'github', '{"n":3}', { 'x-hub-signature-256': 'one' })).status).toBe(200);
      await s.close();

      s = await start([
        { name: 'github', secretHeader: 'X-Other', secret: 'two', token: 'token-2' },
        { name: 'open', secretHeader: 'X-Now-Checked', secret: 'three', token: 'open-token' },
      ]);
      try {
        listed = (await s.request('GET', '/channels')).body.items;
        expect(listed.map((c: { name: string }) => c.name)).toEqual(['github', 'gone', 'open']);
        expect((await send(s, 'github', '{}', { 'x-hub-signature-256': 'one' })).status).toBe(401);
        expect((await send(s, 'github', '{"n":4}', { 'x-other': 'two' })).status).toBe(200);
        expect((await send(s, 'open', '{}')).status).toBe(401);
        expect((await send(s, 'open', '{"n":5}', { 'x-now-checked': 'three' })).status).toBe(200);
        expect((await take(s, 'github', 'token-1')).status).toBe(401);
        // The cursor and the unread webhooks survived the restart.
        expect((await take(s, 'github', 'token-2')).body.map((w: { payload: { n: number } }) => w.payload.n)).toEqual([3, 4]);
        expect((await take(s, 'open', 'open-token')).body.map((w: { payload: { n: number } }) => w.payload.n)).toEqual([2, 5]);
      } finally {
        await s.close();
      }
    } finally {
      await schema?.drop();
      removeDir(dataDir);
    }
  });
});

describe('CLI: channels', () => {
  const fixture = useCliServer();
  const { cli } = fixture;

  it('creates, lists, gets and deletes channels; the token is printed once', async () => {
    const created = await cli('channels', 'create', 'cli-one', '--secret-header', 'X-Token', '--secret', 'cli-secret');
    expect(created).toMatchObject({ name: 'cli-one', token: expect.stringMatching(/^[0-9A-Za-z]{32}$/) });
    const given = await cli('channels', 'create', 'cli-two', '--channel-token', 'my-own-token');
    expect(given.token).toBe('my-own-token');
    const { token, ...shown } = created;
    expect(await cli('channels', 'get', 'cli-one')).toEqual(shown);
    const listed = await cli('channels', 'list');
    expect(listed.items.map((c: { name: string }) => c.name)).toEqual(['cli-one', 'cli-two']);
    expect(JSON.stringify(listed)).not.toMatch(/my-own-token|cli-secret/);
    expect(JSON.stringify(listed)).not.toContain(token);

    expect((await send(fixture.server, 'cli-one', '{"hello":1}', { 'x-token': 'cli-secret' })).status).toBe(200);
    expect((await take(fixture.server, 'cli-one', token)).body).toMatchObject([{ payload: { hello: 1 } }]);

    expect(await cli('channels', 'delete', 'cli-one')).toEqual({ ...shown, cursor: 1 });
    expect((await cli('channels', 'list')).items.map((c: { name: string }) => c.name)).toEqual(['cli-two']);
    expect(fixture.env.HOOKLOG_TOKEN).toBe(ADMIN);
  });
});
