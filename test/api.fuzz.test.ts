import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RawResponse, rawRequest } from './helpers/raw-http.js';
import { MATRIX, makeFixture, routesOf } from './helpers/routes.js';
import { ADMIN, startTestServer, type TestServer } from './helpers/server.js';
import { type Snapshot, snapshotStore } from './helpers/snapshot.js';

/**
 * A fuzzer over every route: malformed JSON, wrong types, NUL, invalid
 * UTF-8, huge numbers, long ids, prototype names and odd headers, sent byte
 * for byte. Whatever arrives, the server answers below 500, every 4xx has
 * the API's error body, and a 4xx changes nothing stored. The seed is fixed
 * and the runs bounded, so a failure reproduces.
 */
const SEED = 20261123;
/** A snapshot of the database per request makes a run over PostgreSQL take most of a minute. */
const FUZZ_TIMEOUT_MS = 180_000;
const RUNS_PER_ROUTE = 14;

/** Every body field of every route, so that generated bodies hit real fields with wrong values. */
const FIELDS = [
  'log_id',
  'destination',
  'metadata',
  'payload',
  'active',
  'expire_seconds',
  'type',
  'secret',
  'header',
  'algorithm',
  'encoding',
  'prefix',
  'deduplicate',
  'acl',
  'compacting',
  'trim_bytes',
  'trim_seconds',
  'compact_seconds',
  'messages',
  'key',
  'value',
  'time',
  'value_metadata',
];
const QUERY_NAMES = ['offset', 'offset_id', 'len', 'poll', 'encoding', 'headers', 'metadata', 'log_id', 'key'];
const PROTOTYPE_NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty'];
const ODD_TEXT = ['', '\u0000', 'a\u0000b', '\ud800', '\udfff', '\ufffd', '%FF', '%00', '\u202e', 'x'.repeat(3000), ...PROTOTYPE_NAMES];
const HUGE_NUMBERS = ['1e400', '-1e400', '123456789012345678901234567890', '9007199254740993', '-0', '0.5', '1e-400', 'NaN', 'Infinity'];

interface Ids {
  log: string;
  offset: string;
  egress: string;
  ingress: string[];
  token: string;
}

/** Text, odd text, and the ids that exist, so that some requests get past the id checks. */
const text = (ids: () => Ids) =>
  fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.string({ unit: 'binary', maxLength: 30 }),
    fc.constantFrom(...ODD_TEXT),
    fc.constant(null).map(() => ids().log),
    fc.constant(null).map(() => ids().offset),
  );

/** A JSON value with wrong types, huge numbers and odd text mixed in. */
const jsonValue = (ids: () => Ids): fc.Arbitrary<unknown> =>
  fc.oneof(
    { depthSize: 'small' },
    text(ids),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(text(ids), { maxLength: 4 }),
    fc.jsonValue({ maxDepth: 2 }),
  );

/** A body: JSON objects over the real field names, arbitrary JSON, broken JSON, bytes that are not UTF-8, deep nesting. */
const body = (ids: () => Ids): fc.Arbitrary<Buffer> =>
  fc.oneof(
    fc
      .dictionary(fc.oneof(fc.constantFrom(...FIELDS), fc.constantFrom(...PROTOTYPE_NAMES), fc.string({ maxLength: 10 })), jsonValue(ids), { maxKeys: 5 })
      .map((object) => Buffer.from(JSON.stringify(object))),
    fc
      .array(fc.dictionary(fc.constantFrom('key', 'value', 'time', ...PROTOTYPE_NAMES), jsonValue(ids), { maxKeys: 3 }), { maxLength: 4 })
      .map((messages) => Buffer.from(JSON.stringify({ messages }))),
    fc.json({ maxDepth: 3 }).map((json) => Buffer.from(json)),
    fc.constantFrom(...HUGE_NUMBERS).map((n) => Buffer.from(`{"value":${n},"time":${n},"trim_bytes":${n},"expire_seconds":${n}}`)),
    fc
      .constantFrom('{"__proto__":{"compacting":true}}', '{"constructor":{"prototype":{}}}', '{"key":"\\ud800"}', '{"metadata":"\\u0000"}')
      .map((json) => Buffer.from(json)),
    fc.string({ maxLength: 40 }).map((json) => Buffer.from(json)),
    fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)),
    fc.integer({ min: 1, max: 100_000 }).map((depth) => Buffer.from('['.repeat(depth) + ']'.repeat(depth))),
  );

/** A path segment: an existing id, a garbage one, or bytes percent-encoded wrongly. */
const segment = (ids: () => Ids) =>
  fc.oneof(
    text(ids).map((value) => encodeURIComponent(value.replace(/[\ud800-\udfff]/g, 'x'))),
    fc.constantFrom('%', '%zz', '%FF', '%00', '%C0%80', '%ED%A0%80', `log_${'A'.repeat(200)}`),
    fc.constant(null).map(() => ids().egress),
    fc.constant(null).map(() => ids().ingress[0]!),
    fc.constant(null).map(() => ids().token),
  );

/** A query string: known and unknown names, values good, wrong, huge or undecodable. Long-polls never wait more than 50 ms. */
const query = (ids: () => Ids) =>
  fc
    .array(
      fc.tuple(
        fc.oneof(fc.constantFrom(...QUERY_NAMES), fc.constantFrom(...PROTOTYPE_NAMES), fc.string({ maxLength: 8 })),
        fc.oneof(
          text(ids).map((value) => encodeURIComponent(value.replace(/[\ud800-\udfff]/g, 'x'))),
          fc.integer({ min: -3, max: 50 }).map(String),
          fc.constantFrom(...HUGE_NUMBERS, '%FF', '%00', '%ED%A0%80', '300001', 'true', 'base64'),
        ),
      ),
      { maxLength: 4 },
    )
    .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([name, value]) => `${encodeURIComponent(name)}=${value}`).join('&')}`));

/** Headers: content types right and wrong, odd extra headers, and sometimes a bad or missing bearer. */
const headers = fc.record({
  contentType: fc.oneof(
    { weight: 8, arbitrary: fc.constant('application/json') },
    fc.constantFrom('application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream', '', 'Application/JSON'),
  ),
  token: fc.oneof({ weight: 12, arbitrary: fc.constant(ADMIN) }, fc.constantFrom(null, '', 'x', `${ADMIN}x`, 'tok_abc_def', '\u00ff')),
  extra: fc.array(
    fc.tuple(
      fc.constantFrom(
        'x-hub-signature-256',
        'stripe-signature',
        'webhook-id',
        'webhook-timestamp',
        'webhook-signature',
        'x-slack-signature',
        'x-slack-request-timestamp',
        'x-sig',
        'x-custom',
        'constructor',
        '__proto__',
      ),
      fc.string({ maxLength: 60 }).map((value) => value.replace(/[^\x20-\x7e]/g, '')),
    ),
    { maxLength: 3 },
  ),
});

describe('fuzzing every route', () => {
  let s: TestServer;
  let ids: Ids;
  beforeAll(async () => {
    s = await startTestServer({ allowPrivateDestinations: true, maxBodyBytes: 256 * 1024 });
    const admin = async (path: string, payload: unknown) => (await s.request('POST', path, { body: payload })).body;
    const log = (await admin('/logs', { metadata: 'fuzz' })).log_id;
    await admin(`/messages/${log}`, { messages: [{ key: 'k', value: 'v' }, { value: 'w' }] });
    const ingress = [];
    for (const settings of [
      { type: 'github', secret: 's' },
      { type: 'none' },
      { type: 'hmac', secret: 's', header: 'x-sig' },
      { type: 'secret-header', secret: 's', header: 'x-sig' },
      { type: 'slack', secret: 's' },
      { type: 'stripe', secret: 's' },
      { type: 'standard-webhooks', secret: 'whsec_c2VjcmV0' },
    ]) {
      ingress.push((await admin('/ingress_webhooks', { log_id: log, ...settings })).webhook_id);
    }
    ids = {
      log,
      offset: (await admin('/offsets', { log_id: log })).offset_id,
      egress: (await admin('/egress_webhooks', { log_id: log, destination: 'http://127.0.0.1:9/fuzz' })).webhook_id,
      ingress,
      token: (await admin('/tokens', { acl: ['logs:get'] })).token_id,
    };
  });
  afterAll(async () => {
    await s.close();
  });

  /** Sends one request and checks the answer; a 4xx must leave `before` as it was. */
  const check = async (method: string, path: string, request: { body: Buffer; contentType: string; token: string | null; extra: Array<[string, string]> }) => {
    const before: Snapshot = await snapshotStore(s);
    const sent = {
      token: request.token,
      headers: Object.fromEntries([...request.extra, ...(request.contentType ? [['content-type', request.contentType]] : [])]),
      body: request.body,
    };
    const res: RawResponse = await rawRequest(s.url, method, path, sent);
    const described = `${method} ${path} → ${res.status} ${res.text.slice(0, 300)}`;
    expect(res.status, described).toBeGreaterThanOrEqual(200);
    expect(res.status, described).toBeLessThan(500);
    if (res.status >= 400) {
      expect(res.body, described).toEqual({ error: expect.stringMatching(/^ERR_KLEV_API_\d{4}$/), message: expect.any(String), details: expect.any(String) });
      expect(await snapshotStore(s), `${described}: a 4xx changed stored data`).toEqual(before);
    }
  };

  /**
   * Random inputs rarely put NUL into the one field that reaches the store, so
   * every field, query parameter and path id of every route's valid request
   * is also spoiled in turn with each odd value, the rest left valid.
   */
  it(
    'spoils every field of every valid request in turn: no 5xx, the error body, nothing changed',
    async () => {
      // JSON.stringify writes a lone surrogate as an escape; a huge number needs its own text.
      const HUGE = 'hooklog-fuzz-huge-number';
      const values: unknown[] = [
        '\u0000',
        'a\u0000b',
        '\ud800',
        'constructor',
        '__proto__',
        -1,
        2 ** 53 + 2,
        HUGE,
        'x'.repeat(5000),
        {},
        [],
        null,
        true,
        '%FF',
      ];
      const queryValues = ['%00', '%FF', '%ED%A0%80', 'constructor', '99999999999999999999', '-1', ''];
      const pathValues = ['%00', 'constructor', '%FF', 'x'.repeat(3000), ids.offset];
      const json = (object: unknown) => Buffer.from(JSON.stringify(object).replaceAll(`"${HUGE}"`, '1e400'));
      for (const [route, { request }] of Object.entries(MATRIX)) {
        const [method] = route.split(' ') as [string];
        const f = await makeFixture(s);
        const { path, body, query: params } = request(f);
        const search = (q: Record<string, string>) =>
          Object.keys(q).length === 0
            ? ''
            : `?${Object.entries(q)
                .map(([k, v]) => `${k}=${v}`)
                .join('&')}`;
        const validQuery = Object.fromEntries(Object.entries(params ?? {}).map(([k, v]) => [k, encodeURIComponent(String(v))]));
        const send = (target: string, payload: unknown) =>
          check(method, target, {
            body: payload === undefined ? Buffer.alloc(0) : json(payload),
            contentType: payload === undefined ? '' : 'application/json',
            token: ADMIN,
            extra: [],
          });
        const fields = body && typeof body === 'object' ? Object.keys(body) : [];
        for (const field of fields) {
          for (const value of values) await send(path + search(validQuery), { ...(body as object), [field]: value });
        }
        const first = (body as { messages?: Array<Record<string, unknown>> } | undefined)?.messages?.[0];
        for (const field of first ? ['key', 'value', 'time'] : []) {
          for (const value of values) await send(path + search(validQuery), { messages: [{ ...first, [field]: value }] });
        }
        for (const name of Object.keys(validQuery)) {
          for (const value of queryValues) await send(path + search({ ...validQuery, [name]: value }), body);
        }
        const [, id] = path.match(/^\/[a-z_]+\/([a-z]+_[0-9A-Za-z]{27})/) ?? [];
        for (const value of id ? pathValues : []) await send(path.replace(id!, value) + search(validQuery), body);
      }
    },
    FUZZ_TIMEOUT_MS,
  );

  it('covers every route', () => {
    expect(routesOf(s).length).toBeGreaterThan(30);
  });

  it(
    'never answers 5xx, answers every 4xx in the error body, and a 4xx changes nothing',
    async () => {
      // Deletions last: until then, requests that name an existing object reach it.
      const routes = routesOf(s).sort((a, b) => Number(a.startsWith('DELETE')) - Number(b.startsWith('DELETE')));
      for (const route of routes) {
        const [method, pattern] = route.split(' ') as [string, string];
        await fc.assert(
          fc.asyncProperty(
            segment(() => ids),
            query(() => ids),
            body(() => ids),
            headers,
            fc.boolean(),
            async (id, search, payload, head, realId) => {
              // Half the time the path names an object that exists, so that the checks behind the id check run too.
              const existing = pattern.startsWith('/ingress')
                ? ids.ingress[payload.length % ids.ingress.length]!
                : pattern.includes(':log_id')
                  ? ids.log
                  : pattern.includes(':offset_id')
                    ? ids.offset
                    : pattern.includes(':token_id')
                      ? ids.token
                      : ids.egress;
              const path = pattern.replace(/:[a-z_]+/, realId ? existing : id) + search;
              await check(method, path, {
                body: payload,
                ...head,
                token: route.startsWith('POST /ingress/') ? null : head.token,
                contentType: head.contentType,
              });
            },
          ),
          { seed: SEED, numRuns: RUNS_PER_ROUTE, endOnFailure: true },
        );
      }
      // Still serving, and still storing what is valid.
      const log = (await s.request('POST', '/logs', { body: {} })).body.log_id;
      expect((await s.request('POST', `/message/${log}`, { body: { value: 'after' } })).status).toBe(200);
      expect((await s.request('GET', `/message/${log}`)).body.value).toBe('after');
    },
    FUZZ_TIMEOUT_MS,
  );
});
