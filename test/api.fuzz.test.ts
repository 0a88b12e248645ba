import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { errorCatalog } from '../src/domain/errors.js';
import { EVENTS, EVENTS_PREFIX } from '../src/http/dialects/events/index.js';
import { KLEV } from '../src/http/dialects/klev/index.js';
import { KWP_PREFIX } from '../src/http/dialects/kwp/index.js';
import { SVIX } from '../src/http/dialects/svix/index.js';
import { type RawResponse, rawRequest } from './helpers/raw-http.js';
import { type Fixture, MATRIX, makeFixture, routesOf } from './helpers/routes.js';
import { ADMIN, type RequestOptions, startTestServer, type TestServer } from './helpers/server.js';
import { type Snapshot, snapshotStore } from './helpers/snapshot.js';
import { makeSvixFixture, SVIX_MATRIX, SVIX_PREFIX, type SvixFixture } from './helpers/svix-routes.js';

/**
 * A fuzzer over every route: malformed JSON, wrong types, NUL, invalid
 * UTF-8, huge numbers, long ids, prototype names and odd headers, sent byte
 * for byte. Whatever arrives, the server answers below 500, every 4xx has
 * the error body of the API the path belongs to (klev's at /, Svix's at
 * /api/v1), and a 4xx changes nothing stored. The seed is fixed and the runs
 * bounded, so a failure reproduces.
 */
const SEED = 20261123;
/** Each test takes about 10 s over SQLite and half as long again over PostgreSQL (a snapshot of the database per request); this leaves room for a slow machine. */
const FUZZ_TIMEOUT_MS = 120_000;
const RUNS_PER_ROUTE = 14;

/** Every body field of every route of both dialects, so that generated bodies hit real fields with wrong values. */
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
  // Svix's
  'name',
  'uid',
  'rateLimit',
  'url',
  'description',
  'version',
  'filterTypes',
  'channels',
  'disabled',
  'eventType',
  'eventId',
  'tags',
  'application',
  'headers',
  'deleteHeaders',
  'since',
  'until',
  'exampleIndex',
  'expiry',
  'readOnly',
  'schemas',
  'archived',
  'deprecated',
  'featureFlag',
  'featureFlags',
  'groupName',
  'payloadRetentionPeriod',
  'sessionIds',
];
const QUERY_NAMES = [
  'offset',
  'offset_id',
  'len',
  'poll',
  'encoding',
  'headers',
  'metadata',
  'log_id',
  'key',
  // Svix's
  'limit',
  'iterator',
  'order',
  'get_if_exists',
  'with_content',
  'with_msg',
  'include_archived',
  'expunge',
  'status',
  'status_code_class',
  'before',
  'after',
  'event_types',
  'endpoint_id',
];
const PROTOTYPE_NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty'];
const ODD_TEXT = ['', '\u0000', 'a\u0000b', '\ud800', '\udfff', '\ufffd', '%FF', '%00', '\u202e', 'x'.repeat(3000), ...PROTOTYPE_NAMES];
const HUGE_NUMBERS = ['1e400', '-1e400', '123456789012345678901234567890', '9007199254740993', '-0', '0.5', '1e-400', 'NaN', 'Infinity'];

interface Ids {
  log: string;
  offset: string;
  egress: string;
  ingress: string[];
  token: string;
  /** An application with an endpoint, a message, an attempt, a task, an integration, and an event type. */
  svix: SvixFixture;
  /** An event of the events API, received by the GitHub ingress webhook. */
  event: string;
}

/** Text, odd text, and the ids that exist, so that some requests get past the id checks. */
const text = (ids: () => Ids) =>
  fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.string({ unit: 'binary', maxLength: 30 }),
    fc.constantFrom(...ODD_TEXT),
    fc.constant(null).map(() => ids().log),
    fc.constant(null).map(() => ids().offset),
    fc.constant(null).map(() => ids().svix.app),
    fc.constant(null).map(() => ids().svix.msg),
    fc.constant(null).map(() => ids().svix.eventType),
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
    fc.constant(null).map(() => ids().svix.endpoint),
    fc.constant(null).map(() => ids().svix.attempt),
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

/** Headers: content types right and wrong, odd extra headers, and sometimes a bad or missing bearer, or one for a single Svix application. */
const headers = (ids: () => Ids) =>
  fc.record({
    contentType: fc.oneof(
      { weight: 8, arbitrary: fc.constant('application/json') },
      fc.constantFrom('application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream', '', 'Application/JSON'),
    ),
    token: fc.oneof(
      { weight: 12, arbitrary: fc.constant(ADMIN) },
      fc.constantFrom(null, '', 'x', `${ADMIN}x`, 'tok_abc_def', '\u00ff'),
      fc.constant(null).map(() => ids().svix.portalBearer),
    ),
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
          'idempotency-key',
          'constructor',
          '__proto__',
        ),
        fc.string({ maxLength: 60 }).map((value) => value.replace(/[^\x20-\x7e]/g, '')),
      ),
      { maxLength: 3 },
    ),
  });

/** A seed of each route's own, from SEED and its name: routes get different inputs, the same on every run. */
function seedOf(route: string): number {
  let hash = SEED;
  for (const char of route) hash = (Math.imul(hash, 31) + char.charCodeAt(0)) | 0;
  return hash;
}

/** Whether a path is the Svix API's, answered in its error bodies. */
const isSvix = (path: string) => path.startsWith(`${SVIX_PREFIX}/`);
/** Whether a path is the events API's, answered in Hookbase's error bodies. */
const isEvents = (path: string) => path === EVENTS_PREFIX || path.startsWith(`${EVENTS_PREFIX}/`) || path.startsWith(`${EVENTS_PREFIX}?`);
const CODES = Object.keys(errorCatalog);

/** A 4xx body as the path's API writes it: klev's code, KWP's error with klev's code, or Svix's `{code, detail}` (or for bad input, 422, the list of validation errors). */
function expectErrorBody(path: string, res: RawResponse, described: string): void {
  if (isEvents(path)) {
    expect(res.body, described).toEqual({ error: expect.any(String), message: expect.any(String), code: expect.stringMatching(/^[A-Z_0-9]+$/) });
    return;
  }
  if (path.startsWith(`${KWP_PREFIX}/`)) {
    // Kaiman Webhooks Proxy's `{"error": "..."}`, with klev's code beside it.
    expect(res.body, described).toEqual({ error: expect.any(String), code: expect.stringMatching(/^ERR_KLEV_API_\d{4}$/) });
    return;
  }
  if (!isSvix(path)) {
    expect(res.body, described).toEqual({ error: expect.stringMatching(/^ERR_KLEV_API_\d{4}$/), message: expect.any(String), details: expect.any(String) });
    return;
  }
  if (res.status !== 422) {
    expect(res.body, described).toEqual({ code: expect.any(String), detail: expect.any(String) });
    expect(CODES, described).toContain(res.body.code);
    // Bad input is always the 422 below.
    expect(errorCatalog[res.body.code as keyof typeof errorCatalog].kind, described).not.toBe('invalid_input');
    return;
  }
  expect(res.body, described).toEqual({ detail: expect.any(Array) });
  expect(res.body.detail.length, described).toBeGreaterThan(0);
  for (const one of res.body.detail) {
    expect(one, described).toEqual({ loc: expect.any(Array), msg: expect.any(String), type: expect.stringMatching(/^value_error\.[a-z_0-9]+$/) });
  }
}

/** `path` with the segment `id` replaced by `value`. */
const swap = (path: string, id: string, value: string) =>
  path
    .split('/')
    .map((segment) => (segment === id ? value : segment))
    .join('/');

/** The real ids of a Svix path's placeholders, an id or a uid by `pick`'s bits. */
function svixIdOf(placeholder: string, f: SvixFixture, pick: number): string {
  const byUid = (pick & 1) === 1;
  switch (placeholder) {
    case ':app_id':
      return byUid ? f.uid : f.app;
    case ':endpoint_id':
      return byUid ? f.endpointUid : f.endpoint;
    case ':msg_id':
      return byUid ? f.eventId : f.msg;
    case ':event_type_name':
      return f.eventType;
    case ':integ_id':
      return f.integration;
    case ':attempt_id':
      return f.attempt;
    case ':task_id':
      return f.task;
    default:
      throw new Error(`no id for ${placeholder}: add the placeholder here`);
  }
}

/** An event the GitHub webhook `source` (secret `s`) received. */
async function receivedEvent(s: TestServer, source: string): Promise<string> {
  const body = '{"fuzz":true}';
  const signature = `sha256=${createHmac('sha256', 's').update(body).digest('hex')}`;
  const res = await rawRequest(s.url, 'POST', `/ingress/${source}`, {
    body,
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature },
  });
  expect(res.status).toBe(200);
  return (await s.request('GET', EVENTS_PREFIX, { query: { sourceId: source } })).body.data[0].id;
}

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
      svix: await makeSvixFixture(s),
      event: await receivedEvent(s, ingress[0]!),
    };
  });
  afterAll(async () => {
    await s.close();
  });

  /**
   * What the server stored after the last request `check` sent, which is what
   * the next one starts from: one snapshot per request, not two. Anything
   * else that writes (a fixture made) must forget it.
   */
  let stored: { server: TestServer; snapshot: Snapshot } | undefined;

  /** Sends one request and checks the answer; a 4xx must leave what was stored as it was. */
  const check = async (
    server: TestServer,
    method: string,
    path: string,
    request: { body: Buffer; contentType: string; token: string | null; extra: Array<[string, string]> },
  ) => {
    const before = stored?.server === server ? stored.snapshot : await snapshotStore(server);
    stored = undefined;
    const sent = {
      token: request.token,
      headers: Object.fromEntries([...request.extra, ...(request.contentType ? [['content-type', request.contentType]] : [])]),
      body: request.body,
    };
    const res: RawResponse = await rawRequest(server.url, method, path, sent);
    const described = `${method} ${path.slice(0, 300)} → ${res.status} ${res.text.slice(0, 300)}`;
    expect(res.status, described).toBeGreaterThanOrEqual(200);
    expect(res.status, described).toBeLessThan(500);
    const after = await snapshotStore(server);
    if (res.status >= 400) {
      expectErrorBody(path, res, described);
      // Comparing the text first is much faster than a deep comparison, which is kept for its diff.
      if (JSON.stringify(after) !== JSON.stringify(before)) expect(after, `${described}: a 4xx changed stored data`).toEqual(before);
    }
    stored = { server, snapshot: after };
  };

  /**
   * Random inputs rarely put NUL into the one field that reaches the store, so
   * every field, query parameter and path id of every route's valid request
   * (the ACL matrices' requests, both dialects) is also spoiled in turn with
   * each odd value, the rest left valid.
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
      // A server of its own: the fixtures made here would slow every snapshot of the random requests below.
      const t = await startTestServer({ allowPrivateDestinations: true, maxBodyBytes: 256 * 1024 });
      onTestFinished(() => t.close());
      const pathValues = ['%00', 'constructor', '%FF', 'x'.repeat(3000), (await makeFixture(t)).offset];
      const json = (object: unknown) => Buffer.from(JSON.stringify(object).replaceAll(`"${HUGE}"`, '1e400'));
      const search = (q: Record<string, string>) =>
        Object.keys(q).length === 0
          ? ''
          : `?${Object.entries(q)
              .map(([k, v]) => `${k}=${v}`)
              .join('&')}`;

      /** Spoils one valid request; `pathIds` are the ids in its path to spoil, each with the values to put there. */
      const spoil = async (method: string, request: { path: string } & RequestOptions, pathIds: Array<{ id: string; values: string[] }>) => {
        const { path, body, query: params } = request;
        const validQuery = Object.fromEntries(Object.entries(params ?? {}).map(([k, v]) => [k, encodeURIComponent(String(v))]));
        const send = (target: string, payload: unknown) =>
          check(t, method, target, {
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
        for (const { id, values: spoilt } of pathIds) {
          for (const value of spoilt) await send(swap(path, id, value) + search(validQuery), body);
        }
      };

      /**
       * A fixture for a route: a GET shares one, as it changes nothing; any
       * other route gets its own, removed after it (unless the route did), so
       * that the snapshots stay small and quick.
       */
      const fixtureFor = async <F>(route: string, make: () => Promise<F>, shared: { fixture?: F }): Promise<F> => {
        stored = undefined;
        if (!route.startsWith('GET ')) return make();
        shared.fixture ??= await make();
        return shared.fixture;
      };
      const remove = async (route: string, ...paths: string[]) => {
        if (route.startsWith('GET ')) return;
        for (const path of paths) expect((await t.request('DELETE', path)).status, path).toBeOneOf([200, 204, 404]);
        stored = undefined;
      };

      const klev: { fixture?: Fixture } = {};
      for (const [route, { request }] of Object.entries(MATRIX)) {
        const f = await fixtureFor(route, () => makeFixture(t), klev);
        const valid = request(f);
        const [, id] = valid.path.match(/^\/[a-z_]+\/([a-z]+_[0-9A-Za-z]{27})/) ?? [];
        await spoil(route.split(' ')[0]!, valid, id ? [{ id, values: pathValues }] : []);
        await remove(route, `/log/${f.log}`, `/log/${f.otherLog}`, `/token/${f.token}`);
      }

      // Ids of another application: an object of one is never found in another (checked below, by a 404).
      const foreign = await makeSvixFixture(t);
      const others = [foreign.endpoint, foreign.msg, foreign.attempt, foreign.integration];
      const svix: { fixture?: SvixFixture } = {};
      for (const [route, { request, unsupported }] of Object.entries(SVIX_MATRIX)) {
        const f = await fixtureFor(route, () => makeSvixFixture(t), svix);
        const valid = request(f);
        const own = [f.endpoint, f.endpointUid, f.msg, f.eventId, f.attempt, f.integration];
        const segments = valid.path.split('/');
        const pathIds = [f.app, f.uid, f.eventType, f.task, ...own].filter((id) => segments.includes(id)).map((id) => ({ id, values: pathValues }));
        await spoil(route.split(' ')[0]!, valid, pathIds);
        // An unsupported operation is refused before anything is looked up.
        for (const id of unsupported ? [] : own.filter((one) => segments.includes(one))) {
          for (const other of others) {
            const res = await rawRequest(t.url, route.split(' ')[0]!, swap(valid.path, id, other), {
              body: valid.body === undefined ? undefined : JSON.stringify(valid.body),
              headers: valid.body === undefined ? {} : { 'content-type': 'application/json' },
            });
            expect(res.status, `${route} with ${other} for ${id}: ${res.text.slice(0, 300)}`).toBe(404);
            stored = undefined;
          }
        }
        await remove(route, `${SVIX_PREFIX}/app/${f.app}`, `/log/${f.otherLog}`, `${SVIX_PREFIX}/event-type/${f.eventType}?expunge=true`);
      }

      // The events API: each route's valid request about one received event, the event deleted last.
      const eventLog = (await t.request('POST', '/logs', { body: {} })).body.log_id;
      const github = (await t.request('POST', '/ingress_webhooks', { body: { log_id: eventLog, type: 'github', secret: 's' } })).body.webhook_id;
      await t.request('POST', '/egress_webhooks', { body: { log_id: eventLog, destination: 'http://127.0.0.1:9/fuzz' } });
      const event = await receivedEvent(t, github);
      stored = undefined;
      const listQuery = { page: 1, pageSize: 5, sourceId: github, status: 'pending', from: '2020-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z', search: 'fuzz' };
      const eventRequests: Array<[string, { path: string } & RequestOptions]> = [
        ['GET', { path: EVENTS_PREFIX, query: { ...listQuery, signatureValid: 'true' } }],
        ['GET', { path: `${EVENTS_PREFIX}/${event}`, query: { includePayload: 'true', includeDeliveries: 'true' } }],
        ['GET', { path: `${EVENTS_PREFIX}/${event}/payload` }],
        ['GET', { path: `${EVENTS_PREFIX}/${event}/deliveries`, query: { status: 'pending' } }],
        ['GET', { path: `${EVENTS_PREFIX}/${event}/timeline` }],
        ['POST', { path: `${EVENTS_PREFIX}/${event}/replay`, body: { destinationIds: [] } }],
        ['POST', { path: `${EVENTS_PREFIX}/bulk/replay`, body: { eventIds: [event], destinationIds: [] } }],
        ['DELETE', { path: `${EVENTS_PREFIX}/${event}` }],
      ];
      for (const [method, request] of eventRequests) await spoil(method, request, request.path.includes(event) ? [{ id: event, values: pathValues }] : []);
    },
    FUZZ_TIMEOUT_MS,
  );

  it('covers every route of every dialect', () => {
    expect(routesOf(s, { dialect: KLEV }).length).toBeGreaterThan(30);
    expect(routesOf(s, { dialect: SVIX }).length).toBeGreaterThan(50);
    expect(routesOf(s, { dialect: EVENTS })).toHaveLength(9);
  });

  it(
    'never answers 5xx, answers every 4xx in the error body of its API, and a 4xx changes nothing',
    async () => {
      // Deletions last, those of an object's parts before the object: until then, requests that name an existing object reach it.
      const deletion = (route: string) => (route.startsWith('DELETE') ? 1_000 - route.length : 0);
      const routes = routesOf(s).sort((a, b) => deletion(a) - deletion(b));
      for (const route of routes) {
        const [method, pattern] = route.split(' ') as [string, string];
        await fc.assert(
          fc.asyncProperty(
            segment(() => ids),
            query(() => ids),
            body(() => ids),
            headers(() => ids),
            fc.boolean(),
            fc.nat(),
            async (id, search, payload, head, realId, pick) => {
              await check(s, method, (realId ? real : spoilt)(pattern, id, pick, payload) + search, {
                body: payload,
                ...head,
                token: route.startsWith('POST /ingress/') ? null : head.token,
                contentType: head.contentType,
              });
            },
          ),
          { seed: seedOf(route), numRuns: RUNS_PER_ROUTE, endOnFailure: true },
        );
      }
      // Still serving, and still storing what is valid.
      const log = (await s.request('POST', '/logs', { body: {} })).body.log_id;
      expect((await s.request('POST', `/message/${log}`, { body: { value: 'after' } })).status).toBe(200);
      expect((await s.request('GET', `/message/${log}`)).body.value).toBe('after');
      const app = (await s.request('POST', `${SVIX_PREFIX}/app`, { body: { name: 'after' } })).body.id;
      expect((await s.request('POST', `${SVIX_PREFIX}/app/${app}/msg`, { body: { eventType: 'after', payload: { after: true } } })).status).toBe(202);
      expect((await s.request('GET', `${SVIX_PREFIX}/app/${app}/msg`)).body.data[0].payload).toEqual({ after: true });
    },
    FUZZ_TIMEOUT_MS,
  );

  /**
   * A path that names objects that exist: klev's names one object, the
   * ingress webhook of each type in turn; Svix's name an application and its
   * parts, by id or uid.
   */
  function real(pattern: string, _id: string, pick: number, payload: Buffer): string {
    if (isEvents(pattern)) return pattern.replace(':id', ids.event);
    if (isSvix(pattern)) return pattern.replace(/:[a-z_]+/g, (placeholder) => svixIdOf(placeholder, ids.svix, pick));
    const existing = pattern.startsWith('/ingress')
      ? ids.ingress[payload.length % ids.ingress.length]!
      : pattern.includes(':log_id')
        ? ids.log
        : pattern.includes(':offset_id')
          ? ids.offset
          : pattern.includes(':token_id')
            ? ids.token
            : ids.egress;
    return pattern.replace(/:[a-z_]+/, existing);
  }

  /** A path with a generated segment: klev's in place of its first id; Svix's in place of one of its ids, the others real, so that the checks behind the other ids run too. */
  function spoilt(pattern: string, id: string, pick: number): string {
    if (!isSvix(pattern)) return pattern.replace(/:[a-z_]+/, id);
    const count = pattern.match(/:[a-z_]+/g)?.length ?? 0;
    const spoiled = Math.floor(pick / 2) % Math.max(count, 1);
    let at = 0;
    return pattern.replace(/:[a-z_]+/g, (placeholder) => (at++ === spoiled ? id : svixIdOf(placeholder, ids.svix, pick)));
  }
});
