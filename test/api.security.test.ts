import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rawRequest } from './helpers/raw-http.js';
import { eventually, startTestServer, type TestServer } from './helpers/server.js';
import { snapshotStore } from './helpers/snapshot.js';

/**
 * The security defects found by probing hooklog as an attacker would, each
 * checked through the real server: what a narrow token may reach, and what
 * bad input is refused with, leaving stored data unchanged.
 */
describe('security', () => {
  let s: TestServer;
  let logA: string;
  let logB: string;
  const tokenWith = async (acl: string[]) => {
    const res = await s.request('POST', '/tokens', { body: { acl, metadata: acl.join(' ') } });
    expect(res.status).toBe(200);
    return { id: res.body.token_id as string, bearer: res.body.bearer as string };
  };
  /** Asserts that `call` is refused with `status` and `code` and changes nothing stored. */
  const refused = async (call: () => Promise<{ status: number; body: any }>, status: number, code: string) => {
    const before = await snapshotStore(s);
    const res = await call();
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.body).toEqual({ error: `ERR_KLEV_API_${code}`, message: expect.any(String), details: expect.any(String) });
    expect(await snapshotStore(s)).toEqual(before);
    return res;
  };

  beforeEach(async () => {
    s = await startTestServer({ allowPrivateDestinations: true });
    logA = (await s.request('POST', '/logs', { body: { metadata: 'a' } })).body.log_id;
    logB = (await s.request('POST', '/logs', { body: { metadata: 'b' } })).body.log_id;
  });
  afterEach(async () => {
    await s.close();
  });

  describe('tokens hand out, see and delete only rights they hold', () => {
    it('tokens:create alone cannot create a full-access token, nor one with more rights', async () => {
      const { bearer } = await tokenWith(['tokens:create']);
      const full = await refused(() => s.request('POST', '/tokens', { token: bearer, body: { acl: [] } }), 403, '0014');
      expect(full.body.details).toContain('full access');
      await refused(() => s.request('POST', '/tokens', { token: bearer, body: {} }), 403, '0014');
      await refused(() => s.request('POST', '/tokens', { token: bearer, body: { acl: [`messages:consume:${logB}`] } }), 403, '0014');
      await refused(() => s.request('POST', '/tokens', { token: bearer, body: { acl: ['tokens'] } }), 403, '0014');
    });

    it('a token creates tokens with a subset of its rights, narrower in action or object', async () => {
      const { bearer } = await tokenWith(['tokens:create', 'messages', 'logs:get']);
      for (const acl of [['tokens:create'], ['messages:consume'], [`messages:publish:${logA}`], [`logs:get:${logB}`], ['messages', 'logs:get']]) {
        expect((await s.request('POST', '/tokens', { token: bearer, body: { acl } })).status, acl.join()).toBe(200);
      }
      await refused(() => s.request('POST', '/tokens', { token: bearer, body: { acl: ['logs'] } }), 403, '0014');
      await refused(() => s.request('POST', '/tokens', { token: bearer, body: { acl: ['logs:delete'] } }), 403, '0014');
    });

    it('the admin and full-access tokens create full-access tokens', async () => {
      expect((await s.request('POST', '/tokens', { body: { acl: [] } })).status).toBe(200);
      const { bearer } = await tokenWith([]);
      expect((await s.request('POST', '/tokens', { token: bearer, body: { acl: [] } })).status).toBe(200);
    });

    it('tokens:delete, tokens:get and tokens:list reach only tokens with a subset of the rights', async () => {
      const full = await tokenWith([]);
      const wide = await tokenWith(['logs']);
      const narrow = await tokenWith(['logs:get']);
      const manager = await tokenWith(['tokens', 'logs:get']);
      await refused(() => s.request('DELETE', `/token/${full.id}`, { token: manager.bearer }), 403, '0014');
      await refused(() => s.request('DELETE', `/token/${wide.id}`, { token: manager.bearer }), 403, '0014');
      await refused(() => s.request('GET', `/token/${wide.id}`, { token: manager.bearer }), 403, '0014');
      const listed = (await s.request('GET', '/tokens', { token: manager.bearer })).body.tokens.map((t: { token_id: string }) => t.token_id);
      expect(listed.sort()).toEqual([narrow.id, manager.id].sort());
      expect((await s.request('GET', `/token/${narrow.id}`, { token: manager.bearer })).status).toBe(200);
      expect((await s.request('DELETE', `/token/${narrow.id}`, { token: manager.bearer })).status).toBe(200);
      expect((await s.request('GET', `/token/${narrow.id}`)).status).toBe(404);
    });
  });

  describe('cross-object rights', () => {
    it('creating an egress webhook on a log also needs messages:consume on that log', async () => {
      const { bearer } = await tokenWith(['egress_webhooks:create', `messages:consume:${logA}`]);
      const body = (log: string) => ({ log_id: log, destination: 'http://127.0.0.1:9/hook' });
      const res = await refused(() => s.request('POST', '/egress_webhooks', { token: bearer, body: body(logB) }), 403, '0014');
      expect(res.body.details).toContain(`messages:consume:${logB}`);
      expect((await s.request('POST', '/egress_webhooks', { token: bearer, body: body(logA) })).status).toBe(200);
    });

    it('pointing an egress webhook elsewhere also needs messages:consume on its log; other changes do not', async () => {
      const webhook = (await s.request('POST', '/egress_webhooks', { body: { log_id: logB, destination: 'http://127.0.0.1:9/hook' } })).body.webhook_id;
      const { bearer } = await tokenWith([`egress_webhooks:update:${webhook}`]);
      for (const method of ['PATCH', 'POST']) {
        await refused(() => s.request(method, `/egress_webhook/${webhook}`, { token: bearer, body: { destination: 'http://127.0.0.1:10/x' } }), 403, '0014');
      }
      expect((await s.request('PATCH', `/egress_webhook/${webhook}`, { token: bearer, body: { metadata: 'renamed' } })).status).toBe(200);
      const allowed = await tokenWith([`egress_webhooks:update:${webhook}`, `messages:consume:${logB}`]);
      expect((await s.request('PATCH', `/egress_webhook/${webhook}`, { token: allowed.bearer, body: { destination: 'http://127.0.0.1:10/x' } })).status).toBe(
        200,
      );
    });

    it('creating an ingress webhook on a log, or changing how it verifies, also needs messages:publish on that log', async () => {
      const { bearer } = await tokenWith(['ingress_webhooks', `messages:publish:${logA}`]);
      await refused(() => s.request('POST', '/ingress_webhooks', { token: bearer, body: { log_id: logB, type: 'none' } }), 403, '0014');
      expect((await s.request('POST', '/ingress_webhooks', { token: bearer, body: { log_id: logA, type: 'none' } })).status).toBe(200);
      const onB = (await s.request('POST', '/ingress_webhooks', { body: { log_id: logB, type: 'github', secret: 's3cret' } })).body.webhook_id;
      await refused(() => s.request('PATCH', `/ingress_webhook/${onB}`, { token: bearer, body: { secret: 'mine' } }), 403, '0014');
      await refused(() => s.request('POST', `/ingress_webhook/${onB}`, { token: bearer, body: { deduplicate: false } }), 403, '0014');
      expect((await s.request('PATCH', `/ingress_webhook/${onB}`, { token: bearer, body: { metadata: 'x' } })).status).toBe(200);
    });

    it('creating or setting a cursor offset on a log also needs messages:consume on that log', async () => {
      const { bearer } = await tokenWith(['offsets', `messages:consume:${logA}`]);
      await refused(() => s.request('POST', '/offsets', { token: bearer, body: { log_id: logB } }), 403, '0014');
      expect((await s.request('POST', '/offsets', { token: bearer, body: { log_id: logA } })).status).toBe(200);
      const onB = (await s.request('POST', '/offsets', { body: { log_id: logB } })).body.offset_id;
      await refused(() => s.request('POST', `/offset/${onB}`, { token: bearer, body: { value: 5 } }), 403, '0014');
    });
  });

  it('a long-poll whose token is deleted while it waits answers 401, not the message', async () => {
    const { id, bearer } = await tokenWith([`messages:consume:${logA}`]);
    const polling = s.request('GET', `/messages/${logA}`, { token: bearer, query: { poll: 10_000 } });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await s.request('DELETE', `/token/${id}`)).status).toBe(200);
    expect((await s.request('POST', `/message/${logA}`, { body: { value: 'secret' } })).status).toBe(200);
    const res = await polling;
    expect(res.status).toBe(401);
    expect(res.body.messages).toBeUndefined();
  });

  describe('bounded and checked input', () => {
    it('refuses a batch of more than 10000 messages, naming the limit', async () => {
      const messages = Array.from({ length: 10_001 }, () => ({}));
      const res = await refused(() => s.request('POST', `/messages/${logA}`, { body: { messages } }), 400, '0122');
      expect(res.body.details).toContain('10000');
      expect((await s.request('POST', `/messages/${logA}`, { body: { messages: messages.slice(1) } })).body.next_offset).toBe(10_000);
    });

    it('refuses message times more than 300 s in the future', async () => {
      const soon = Date.now() * 1000 + 60_000_000;
      const far = Date.now() * 1000 + 3600_000_000;
      await refused(() => s.request('POST', `/message/${logA}`, { body: { value: 'x', time: far } }), 400, '0102');
      await refused(() => s.request('POST', `/messages/${logA}`, { body: { messages: [{ value: 'ok' }, { value: 'x', time: far }] } }), 400, '0102');
      expect((await s.request('POST', `/message/${logA}`, { body: { value: 'x', time: soon } })).status).toBe(200);
    });

    it('refuses unknown body fields, naming them', async () => {
      const offset = (await s.request('POST', '/offsets', { body: { log_id: logA } })).body.offset_id;
      const typos: Array<[string, string, unknown, string]> = [
        ['POST', '/logs', { trim_second: 60 }, 'trim_second'],
        ['POST', `/offset/${offset}`, { value: 1, next_offset: 2 }, 'next_offset'],
        ['POST', '/ingress_webhooks', { log_id: logA, type: 'none', dedupe: false }, 'dedupe'],
        ['POST', `/messages/${logA}`, { messages: [{ value: 'v', kee: 'k' }] }, 'kee'],
        ['POST', '/tokens', { acl: [], constructor: 1 }, 'constructor'],
        ['POST', '/logs', JSON.parse('{"__proto__": {"compacting": true}}'), '__proto__'],
      ];
      for (const [method, path, body, field] of typos) {
        const res = await refused(() => s.request(method, path, { body }), 400, '0102');
        expect(res.body.details).toContain(`"${field}"`);
      }
    });

    it('refuses NUL in text fields, filters and ids on every backend', async () => {
      const offset = (await s.request('POST', '/offsets', { body: { log_id: logA } })).body.offset_id;
      await refused(() => s.request('POST', '/logs', { body: { metadata: 'a\u0000b' } }), 400, '0102');
      await refused(() => s.request('POST', '/tokens', { body: { acl: ['logs\u0000'] } }), 400, '0102');
      await refused(() => s.request('POST', `/offset/${offset}`, { body: { value: 1, value_metadata: '\u0000' } }), 400, '0102');
      await refused(
        () => s.request('POST', '/ingress_webhooks', { body: { log_id: logA, type: 'hmac', header: 'x-sig', secret: 'a\u0000', prefix: '\u0000' } }),
        400,
        '0102',
      );
      await refused(() => s.request('GET', '/logs', { query: { metadata: 'a\u0000' } }), 400, '0114');
      await refused(() => s.request('GET', '/offsets', { query: { log_id: '\u0000' } }), 400, '0114');
      await refused(() => s.request('GET', '/offsets', { query: { log_id: 'log_x' } }), 400, '0106');
      await refused(() => s.request('GET', '/log/log_%00'), 400, '0106');
      // Keys and values are bytes: NUL is data there.
      expect((await s.request('POST', `/message/${logA}`, { body: { key: 'k\u0000', value: 'v\u0000' } })).status).toBe(200);
      expect((await s.request('GET', `/message/${logA}/key`, { query: { key: 'k\u0000' } })).body.value).toBe('v\u0000');
    });

    it('refuses text that is not UTF-8 instead of storing U+FFFD', async () => {
      const raw = (body: Buffer) => rawRequest(s.url, 'POST', `/message/${logA}`, { body, headers: { 'content-type': 'application/json' } });
      await refused(() => raw(Buffer.concat([Buffer.from('{"value":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])), 400, '0123');
      // Two different lone surrogates would both be stored as EF BF BD and collide as keys.
      await refused(() => s.request('POST', `/message/${logA}`, { rawBody: '{"key":"\\ud800","value":"a"}' }), 400, '0123');
      await refused(() => s.request('POST', `/messages/${logA}`, { rawBody: '{"messages":[{"key":"\\udfff"}]}' }), 400, '0123');
      await refused(() => s.request('GET', `/message/${logA}/key?key=%FF`), 400, '0123');
      await refused(() => s.request('GET', `/message/${logA}/key?key=%ED%A0%80`), 400, '0123');
      // A well-formed pair is text.
      expect((await s.request('POST', `/message/${logA}`, { rawBody: '{"key":"\\ud83d\\ude00","value":"a"}' })).status).toBe(200);
      expect((await s.request('GET', `/message/${logA}/key`, { query: { key: '\u{1f600}' } })).body.value).toBe('a');
    });

    it('answers a page with a message that is not UTF-8 in base64, and says so', async () => {
      const bytes = Buffer.from([0x68, 0xff, 0x69]);
      await s.request('POST', `/messages/${logA}`, {
        body: { encoding: 'base64', messages: [{ value: Buffer.from('text').toString('base64') }, { value: bytes.toString('base64') }] },
      });
      const page = (await s.request('GET', `/messages/${logA}`, { query: { offset: -2 } })).body;
      expect(page.encoding).toBe('base64');
      expect(page.messages.map((m: { value: string }) => Buffer.from(m.value, 'base64'))).toEqual([Buffer.from('text'), bytes]);
      const textOnly = (await s.request('GET', `/messages/${logA}`, { query: { offset: 0, len: 1 } })).body;
      expect(textOnly).toMatchObject({ encoding: 'string', messages: [{ value: 'text' }] });
      expect((await s.request('GET', `/message/${logA}`, { query: { offset: 1 } })).body).toMatchObject({
        encoding: 'base64',
        value: bytes.toString('base64'),
      });
      // A genuine U+FFFD is text and stays a string.
      await s.request('POST', `/message/${logA}`, { body: { value: 'a\ufffdb' } });
      expect((await s.request('GET', `/messages/${logA}`, { query: { offset: 2 } })).body).toMatchObject({
        encoding: 'string',
        messages: [{ value: 'a\ufffdb' }],
      });
    });

    it("answers every refusal of the HTTP layer in klev's error body", async () => {
      const klev = (res: { status: number; body: any }, status: number, code: string) => {
        expect(res.status).toBe(status);
        expect(res.body).toEqual({ error: `ERR_KLEV_API_${code}`, message: expect.any(String), details: expect.any(String) });
      };
      klev(await rawRequest(s.url, 'GET', `/log/${'x'.repeat(150)}`), 400, '0106');
      klev(await rawRequest(s.url, 'GET', '/log/%E0%A4%A'), 400, '0115');
      klev(await rawRequest(s.url, 'GET', '/', { headers: { 'x-big': 'x'.repeat(20_000) } }), 431, '0125');
      klev(await rawRequest(s.url, 'GET', '/', { rawHeaders: 'X-Nul: a\u0000b\r\n' }), 400, '0115');
      klev(await rawRequest(s.url, 'GET', '/', { rawHeaders: 'Bad Header Name: x\r\n' }), 400, '0115');
      klev(await rawRequest(s.url, 'GET', '/logs', { headers: { expect: 'something' } }), 417, '0128');
      klev(await rawRequest(s.url, 'OPTIONS', '/logs'), 405, '0006');
      expect((await rawRequest(s.url, 'GET', '/', { headers: { host: '' } })).status).toBe(200);
      expect((await s.request('GET', '/')).status).toBe(200);
    });

    it('refuses keys over 1024 bytes, which PostgreSQL could not index, on every backend', async () => {
      const long = Buffer.alloc(1025, 7).toString('base64');
      const res = await refused(() => s.request('POST', `/message/${logA}`, { body: { encoding: 'base64', key: long } }), 400, '0102');
      expect(res.body.details).toContain('at most 1024');
      expect((await s.request('POST', `/message/${logA}`, { body: { encoding: 'base64', key: Buffer.alloc(1024, 7).toString('base64') } })).status).toBe(200);
    });

    it('a request the database refuses does not fail the others committed with it', async () => {
      // Concurrent publishes share one transaction. The store is made to refuse any group that
      // holds one poisoned message, as PostgreSQL refuses a row it cannot store.
      const { store } = s.server;
      const append = store.messages.append.bind(store.messages);
      store.messages.append = async (requests, now) => {
        if (requests.some((r) => r.messages.some((m) => m.value?.toString() === 'poison'))) throw new Error('the database refused this group');
        return append(requests, now);
      };
      try {
        const results = await Promise.all([
          s.request('POST', `/message/${logA}`, { body: { value: 'innocent-1' } }),
          s.request('POST', `/message/${logA}`, { body: { value: 'poison' } }),
          s.request('POST', `/message/${logB}`, { body: { value: 'innocent-2' } }),
        ]);
        expect(results.map((r) => r.status)).toEqual([200, 500, 200]);
      } finally {
        store.messages.append = append;
      }
      const values = async (log: string) =>
        (await s.request('GET', `/messages/${log}`, { query: { offset: -2 } })).body.messages.map((m: { value: string }) => m.value);
      expect(await values(logA)).toEqual(['innocent-1']);
      expect(await values(logB)).toEqual(['innocent-2']);
    });

    it('bounds ACLs: at most 1000 entries of at most 200 characters', async () => {
      const many = Array.from({ length: 1001 }, (_, i) => `logs:get:log_${i}`);
      expect((await refused(() => s.request('POST', '/tokens', { body: { acl: many } }), 400, '0111')).body.details).toContain('at most 1000');
      await refused(() => s.request('POST', '/tokens', { body: { acl: [`logs:get:${'x'.repeat(200)}`] } }), 400, '0111');
      expect((await s.request('POST', '/tokens', { body: { acl: many.slice(1) } })).status).toBe(200);
    });

    it('refuses retention periods over a century, which would overflow the times they make', async () => {
      for (const field of ['trim_seconds', 'expire_seconds']) {
        await refused(() => s.request('POST', '/logs', { body: { [field]: 9007199254740991 } }), 400, '0102');
      }
      await refused(() => s.request('POST', '/logs', { body: { compacting: true, compact_seconds: 3_153_600_001 } }), 400, '0102');
      expect((await s.request('POST', '/logs', { body: { trim_seconds: 3_153_600_000 } })).status).toBe(200);
    });
  });

  describe('consume answers at most max_response_bytes', () => {
    let small: TestServer;
    beforeEach(async () => {
      small = await startTestServer({ maxResponseBytes: 3000 });
    });
    afterEach(async () => {
      await small.close();
    });

    it('returns fewer messages with the right next_offset, and always at least one', async () => {
      const log = (await small.request('POST', '/logs', {})).body.log_id;
      const big = 'x'.repeat(1400);
      await small.request('POST', `/messages/${log}`, {
        body: { messages: [{ value: big }, { value: big }, { value: big }, { value: 'x'.repeat(5000) }, { value: 'y' }] },
      });
      const pages: number[][] = [];
      for (let offset = 0; offset < 5; ) {
        const res = await rawRequest(small.url, 'GET', `/messages/${log}?offset=${offset}&len=100`);
        expect(res.text.length).toBeLessThanOrEqual(offset === 3 ? 6000 : 3000);
        pages.push(res.body.messages.map((m: { offset: number }) => m.offset));
        offset = res.body.next_offset;
      }
      expect(pages).toEqual([[0, 1], [2], [3], [4]]);
      // base64 grows the page by a third: fewer messages fit.
      const encoded = (await small.request('GET', `/messages/${log}`, { query: { offset: 0, encoding: 'base64' } })).body;
      expect(encoded.messages).toHaveLength(1);
      expect(encoded.next_offset).toBe(1);
    });
  });

  it('a log the store cannot clean up does not stop retention of the others', async () => {
    const trimming = await startTestServer({ retentionIntervalSeconds: 0.1 });
    try {
      // Stored by an earlier version, which took any period: trimming it fails on PostgreSQL.
      const settings = { compacting: false, trimBytes: 0, trimSeconds: 9007199254740991, compactSeconds: 0, expireSeconds: 0 };
      await trimming.server.store.logs.create({ id: 'log_3MWaaaaaaaaaaaaaaaaaaaaaaaa', metadata: 'old', ...settings });
      const log = (await trimming.request('POST', '/logs', { body: { trim_seconds: 60 } })).body.log_id;
      await trimming.request('POST', `/messages/${log}`, { body: { messages: [{ value: 'old', time: Date.now() * 1000 - 120_000_000 }, { value: 'new' }] } });
      await eventually(async () => {
        const values = (await trimming.request('GET', `/messages/${log}`, { query: { offset: -2 } })).body.messages.map((m: { value: string }) => m.value);
        expect(values).toEqual(['new']);
      });
    } finally {
      await trimming.close();
    }
  });

  it('trims by age the old messages that were published after young ones', async () => {
    const trimming = await startTestServer({ retentionIntervalSeconds: 0.1 });
    try {
      const log = (await trimming.request('POST', '/logs', { body: { trim_seconds: 60 } })).body.log_id;
      const ago = (seconds: number) => Date.now() * 1000 - seconds * 1_000_000;
      await trimming.request('POST', `/messages/${log}`, {
        body: {
          messages: [
            { value: 'young' },
            { value: 'old-after-young', time: ago(120) },
            { value: 'young-2' },
            { value: 'future-ish', time: ago(-240) },
            { value: 'old-2', time: ago(600) },
          ],
        },
      });
      const values = async () =>
        (await trimming.request('GET', `/messages/${log}`, { query: { offset: -2 } })).body.messages.map((m: { value: string }) => m.value);
      await eventually(async () => expect(await values()).toEqual(['young', 'young-2', 'future-ish']));
    } finally {
      await trimming.close();
    }
  });
});
