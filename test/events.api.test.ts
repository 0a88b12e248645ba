import { createHash } from 'node:crypto';
import { sign as githubSign } from '@octokit/webhooks-methods';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type EgressSetUp, egressSetUp, egressTearDown, FAST_RETRIES } from './helpers/egress.js';
import { ADMIN, eventually } from './helpers/server.js';

const SECRET = 'gh-secret';

describe('events API: what arrived through the ingress webhooks', () => {
  let env: EgressSetUp;
  let source: string;
  const s = () => env.s;

  /** A GitHub delivery signed by GitHub's own library; `secret` wrong for a forged one. */
  const github = async (payload: unknown, { delivery = crypto.randomUUID() as string, secret = SECRET, to = source, event = 'push' } = {}) => {
    const body = JSON.stringify(payload);
    const res = await fetch(`${s().url}/ingress/${to}`, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'x-github-event': event,
        'x-github-delivery': delivery,
        'x-hub-signature-256': await githubSign(secret, body),
        connection: 'keep-alive',
      },
    });
    return { status: res.status, body };
  };
  const events = (query: Record<string, string | number> = {}, token?: string) => s().request('GET', '/api/events', { query, token });
  const destination = async (path: string, extra: Record<string, unknown> = {}) =>
    (
      await s().request('POST', '/egress_webhooks', {
        body: { log_id: env.log, destination: `${env.receiver.url}${path}`, metadata: `dst ${path}`, mode: 'parallel', ...extra },
      })
    ).body.webhook_id as string;
  const arrivedAt = (path: string) => env.receiver.received.filter((request) => request.path === `/hook${path}`);

  beforeEach(async () => {
    env = await egressSetUp(FAST_RETRIES);
    source = (await s().request('POST', '/ingress_webhooks', { body: { log_id: env.log, type: 'github', secret: SECRET, metadata: 'GitHub' } })).body
      .webhook_id;
  });
  afterEach(async () => {
    await egressTearDown(env);
  });

  it('lists, gets and shows the payload, deliveries and timeline of an event, its status worked out from the deliveries', async () => {
    const ok = await destination('/ok');
    const broken = await destination('/broken');
    env.receiver.respond = (request) => (request.path === '/hook/broken' ? { status: 500, body: 'down' } : undefined);
    const sent = await github({ ref: 'refs/heads/main', n: 1 }, { delivery: 'delivery-1' });
    expect(sent.status).toBe(200);

    const listed = await events();
    expect(listed.status).toBe(200);
    expect(listed.body.pagination).toEqual({ total: 1, page: 1, pageSize: 20 });
    const [summary] = listed.body.data;
    expect(summary).toMatchObject({
      id: expect.stringMatching(/^evt_[0-9A-Za-z]{27}$/),
      sourceId: source,
      source: { id: source, name: 'GitHub' },
      logId: env.log,
      offset: 0,
      payloadSize: Buffer.byteLength(sent.body),
      payloadHash: `sha256:${createHash('sha256').update(sent.body).digest('hex')}`,
      signatureValid: true,
      receivedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
    });
    expect(summary.headers).toMatchObject({ 'x-github-event': 'push', 'x-github-delivery': 'delivery-1', 'content-type': 'application/json' });
    // Hop-by-hop headers are not kept.
    expect(summary.headers.connection).toBeUndefined();
    expect(summary.payload).toBeUndefined();

    // One delivery succeeds, the other fails every try of the schedule: partial.
    const id = summary.id;
    await eventually(async () => expect((await s().request('GET', `/api/events/${id}`)).body.status).toBe('partial'), 15_000);
    const full = await s().request('GET', `/api/events/${id}`, { query: { includePayload: 'true', includeDeliveries: 'true' } });
    expect(full.body).toMatchObject({
      status: 'partial',
      deliveriesCount: 2,
      deliveriesSucceeded: 1,
      deliveriesFailed: 1,
      payload: { ref: 'refs/heads/main', n: 1 },
    });
    const byDestination = Object.fromEntries(full.body.deliveries.map((d: { destinationId: string }) => [d.destinationId, d]));
    expect(byDestination[ok]).toMatchObject({
      id: expect.stringMatching(/^dlv_/),
      destinationName: 'dst /ok',
      status: 'delivered',
      attemptCount: 1,
      statusCode: 200,
      error: null,
      latency: expect.any(Number),
      deliveredAt: expect.any(String),
    });
    expect(byDestination[broken]).toMatchObject({ status: 'failed', attemptCount: 4, statusCode: 500, latency: null, deliveredAt: null });

    const deliveries = await s().request('GET', `/api/events/${id}/deliveries`);
    expect(deliveries.body.data).toHaveLength(2);
    expect((await s().request('GET', `/api/events/${id}/deliveries`, { query: { status: 'failed' } })).body.data.map((d: any) => d.destinationId)).toEqual([
      broken,
    ]);

    const payload = await fetch(`${s().url}/api/events/${id}/payload`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(payload.headers.get('content-type')).toBe('application/json');
    expect(await payload.text()).toBe(sent.body);

    const timeline = (await s().request('GET', `/api/events/${id}/timeline`)).body;
    expect(Date.parse(timeline.validated)).toBeGreaterThanOrEqual(Date.parse(timeline.received));
    expect(Date.parse(timeline.queued)).toBeGreaterThanOrEqual(Date.parse(timeline.validated));
    const okTimeline = timeline.deliveries.find((d: { destinationId: string }) => d.destinationId === ok);
    expect(okTimeline.attempts).toEqual([
      { attemptNumber: 1, startedAt: expect.any(String), completedAt: expect.any(String), status: 'success', statusCode: 200, latency: expect.any(Number) },
    ]);
    expect(timeline.deliveries.find((d: { destinationId: string }) => d.destinationId === broken).attempts.map((a: any) => a.attemptNumber)).toEqual([
      1, 2, 3, 4,
    ]);
    expect(timeline.totalDuration).toBeGreaterThanOrEqual(0);
  });

  it('filters by source, status, time, payload text and signature, and pages', async () => {
    await destination('/ok');
    const other = (await s().request('POST', '/ingress_webhooks', { body: { log_id: env.log, type: 'github', secret: SECRET, metadata: 'other' } })).body
      .webhook_id;
    for (let i = 0; i < 5; i++) expect((await github({ i, word: i === 3 ? 'needle-in-payload' : 'hay' })).status).toBe(200);
    expect((await github({ other: true }, { to: other })).status).toBe(200);
    expect((await github({ forged: true }, { secret: 'wrong' })).status).toBe(401);
    await eventually(async () => expect((await events({ status: 'pending' })).body.pagination.total).toBe(0));

    expect((await events()).body.pagination.total).toBe(7);
    expect((await events({ sourceId: other })).body.data.map((e: any) => e.sourceId)).toEqual([other]);
    expect((await events({ status: 'delivered' })).body.pagination.total).toBe(6);
    expect((await events({ status: 'rejected' })).body.pagination.total).toBe(1);
    expect((await events({ signatureValid: 'false' })).body.data.map((e: any) => e.status)).toEqual(['rejected']);
    expect((await events({ signatureValid: 'true' })).body.pagination.total).toBe(6);
    const found = await events({ search: 'needle-in' });
    expect(found.body.pagination.total).toBe(1);
    expect(found.body.data[0].payloadSize).toBe(Buffer.byteLength(JSON.stringify({ i: 3, word: 'needle-in-payload' })));
    // Refused requests are searched in the body they came with.
    expect((await events({ search: 'forged' })).body.data.map((e: any) => e.status)).toEqual(['rejected']);

    // Pages, newest first, without gaps or repeats.
    const page1 = (await events({ pageSize: 3, page: 1 })).body;
    const page2 = (await events({ pageSize: 3, page: 2 })).body;
    const page3 = (await events({ pageSize: 3, page: 3 })).body;
    const ids = [...page1.data, ...page2.data, ...page3.data].map((e: any) => e.id);
    expect(new Set(ids).size).toBe(7);
    expect(ids).toEqual([...ids].sort().reverse());
    expect(page3.pagination).toEqual({ total: 7, page: 3, pageSize: 3 });

    const all = (await events()).body.data;
    const newest = all[0];
    expect((await events({ from: newest.receivedAt })).body.data.map((e: any) => e.id)).toContain(newest.id);
    expect((await events({ to: new Date(Date.parse(all.at(-1).receivedAt) - 1).toISOString() })).body.pagination.total).toBe(0);
    expect((await events({ from: new Date(Date.now() + 60_000).toISOString() })).body.pagination.total).toBe(0);
  });

  it('answers bad queries and unknown ids with Hookbase errors, and changes nothing', async () => {
    const bad: Array<Record<string, string | number>> = [
      { pageSize: 101 },
      { pageSize: 0 },
      { page: 'x' },
      { status: 'lost' },
      { from: 'yesterday' },
      { signatureValid: 'yes' },
      { search: '' },
      { sourceId: '' },
      { sourceId: 'log_0000000000000000000000000000' },
      { page: 10_000_001 },
    ];
    for (const query of bad) {
      const res = await events(query);
      expect(res.status, JSON.stringify(query)).toBe(400);
      expect(res.body).toEqual({ error: 'Bad Request', message: expect.any(String), code: 'QUERY_PARAM_INVALID' });
    }
    for (const path of [
      '/api/events/evt_missing',
      '/api/events/evt_missing/payload',
      '/api/events/evt_missing/timeline',
      '/api/events/evt_missing/deliveries',
    ]) {
      const res = await s().request('GET', path);
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error: 'Not Found', message: 'Event with ID evt_missing not found', code: 'RESOURCE_NOT_FOUND' });
    }
    expect((await s().request('POST', '/api/events/evt_missing/replay')).body.code).toBe('RESOURCE_NOT_FOUND');
    expect((await s().request('DELETE', '/api/events/evt_missing')).status).toBe(404);
    expect((await s().request('POST', '/api/events/bulk/replay', { body: { eventIds: [] } })).status).toBe(400);
    const tooMany = await s().request('POST', '/api/events/bulk/replay', { body: { eventIds: Array.from({ length: 101 }, (_, i) => `evt_${i}`) } });
    expect(tooMany.status).toBe(400);
    expect((await s().request('POST', '/api/events/bulk/replay', { body: { eventIds: ['x'], extra: 1 } })).status).toBe(400);
    expect((await s().request('GET', '/api/events', { token: null })).status).toBe(401);
    expect((await s().request('GET', '/api/events/nowhere/at/all')).body.code).toBe('RESOURCE_NOT_FOUND');
    expect((await events()).body.pagination.total).toBe(0);
  });

  it('keeps a request signed with the wrong secret in quarantine, and nowhere else', async () => {
    // A destination that would get the request, had it been appended.
    await destination('/ok');
    const forged = await github({ secret: 'wrong' }, { secret: 'not-the-secret', delivery: 'forged-1' });
    expect(forged.status).toBe(401);
    const [rejected] = (await events()).body.data;
    expect(rejected).toMatchObject({ status: 'rejected', signatureValid: false, rejectionReason: 'bad_signature', offset: null, deliveriesCount: 0 });
    expect(rejected.headers['x-github-delivery']).toBe('forged-1');
    const payload = await s().request('GET', `/api/events/${rejected.id}/payload`);
    expect(payload.body).toEqual({ secret: 'wrong' });
    // Never appended, so never consumed nor delivered.
    expect((await s().request('GET', `/messages/${env.log}`, { query: { offset: -2, len: 10 } })).body.messages).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(arrivedAt('/ok')).toHaveLength(0);
    expect((await s().request('POST', `/api/events/${rejected.id}/replay`)).body.code).toBe('EVENT_NOT_REPLAYABLE');
    expect((await s().request('GET', `/ingress_webhook/${source}/metrics`)).body.rejected).toEqual({ bad_signature: 1 });

    // keep_rejected off: still refused and counted, not kept.
    expect((await s().request('PATCH', `/ingress_webhook/${source}`, { body: { keep_rejected: false } })).body.keep_rejected).toBe(false);
    expect((await github({ again: true }, { secret: 'not-the-secret' })).status).toBe(401);
    expect((await events()).body.pagination.total).toBe(1);
    expect((await s().request('GET', `/ingress_webhook/${source}/metrics`)).body.rejected).toEqual({ bad_signature: 2 });
  });

  it('keeps the newest 1,000 refused requests of a source', async () => {
    // One after another: forgeries refused while the last one is still being kept are counted, not kept (a flood keeps a sample).
    for (let n = 0; n < 1005; n++) expect((await github({ n }, { secret: 'wrong' })).status).toBe(401);
    const refused = await events({ signatureValid: 'false', pageSize: 100 });
    expect(refused.body.pagination.total).toBe(1000);
    expect((await s().request('GET', `/ingress_webhook/${source}/metrics`)).body.rejected).toEqual({ bad_signature: 1005 });
  });

  it('replays one event and 100 at once, observed at the receiver as manual attempts', async () => {
    const ok = await destination('/ok');
    const other = await destination('/other');
    for (let i = 0; i < 100; i++) expect((await github({ i })).status).toBe(200);
    await env.receiver.waitFor(200, 20_000);
    const ids: string[] = [];
    for (let page = 1; page <= 5; page++) ids.push(...(await events({ page, pageSize: 20 })).body.data.map((e: any) => e.id));
    expect(new Set(ids).size).toBe(100);

    const one = await s().request('POST', `/api/events/${ids[0]}/replay`, { body: { destinationIds: [ok] } });
    expect(one.status).toBe(202);
    expect(one.body).toEqual({ message: 'Event queued for replay', deliveriesCreated: 1 });
    await env.receiver.waitFor(201);
    expect(arrivedAt('/ok')).toHaveLength(101);
    expect(arrivedAt('/other')).toHaveLength(100);

    const bulk = await s().request('POST', '/api/events/bulk/replay', { body: { eventIds: ids } });
    expect(bulk.status).toBe(202);
    expect(bulk.body).toEqual({ message: 'Events queued for replay', eventsQueued: 100, deliveriesCreated: 200 });
    await env.receiver.waitFor(401, 30_000);
    const values = (path: string) => arrivedAt(path).map((request) => JSON.parse(request.body.toString()).value);
    expect(new Set(values('/other').slice(100)).size).toBe(100);
    // Each event's delivery to each destination now counts the replayed attempt.
    const counts = (await s().request('GET', `/api/events/${ids[50]}/deliveries`)).body.data.map((d: any) => [d.destinationId, d.attemptCount]);
    expect(Object.fromEntries(counts)).toEqual({ [ok]: 2, [other]: 2 });
    // Unknown destinations are refused before anything is queued.
    expect((await s().request('POST', `/api/events/${ids[0]}/replay`, { body: { destinationIds: ['ewh_nope'] } })).body.code).toBe('RESOURCE_NOT_FOUND');
  });

  it('deletes an event with its deliveries: its offset stays taken and consumers skip it', async () => {
    const ok = await destination('/ok');
    for (let i = 0; i < 3; i++) await github({ i });
    await env.receiver.waitFor(3);
    // The attempts' records commit a moment after their answers (several share a transaction).
    const recorded = async () => (await s().request('GET', `/egress_webhook/${ok}/attempts`, { query: { len: 10 } })).body.attempts.length;
    await eventually(async () => expect(await recorded()).toBe(3));
    const [newest, middle] = (await events()).body.data;
    expect(middle.offset).toBe(1);
    expect((await s().request('DELETE', `/api/events/${middle.id}`)).status).toBe(204);
    expect((await s().request('GET', `/api/events/${middle.id}`)).status).toBe(404);
    expect((await events()).body.pagination.total).toBe(2);
    const read = await s().request('GET', `/messages/${env.log}`, { query: { offset: 0, len: 10 } });
    expect(read.body.messages.map((m: { offset: number }) => m.offset)).toEqual([0, 2]);
    const attempts = await s().request('GET', `/egress_webhook/${ok}/attempts`, { query: { len: 10 } });
    expect(attempts.body.attempts.map((a: { offset: number }) => a.offset).sort()).toEqual([0, 2]);
    await github({ after: true });
    expect((await events()).body.data[0].offset).toBe(3);
    expect(newest.offset).toBe(2);
  });

  it('answers 410 once retention removed the payload, while the event is still listed', async () => {
    await egressTearDown(env);
    env = await egressSetUp({ ...FAST_RETRIES, retentionIntervalSeconds: 0.1 });
    const log = (await s().request('POST', '/logs', { body: { trim_seconds: 1 } })).body.log_id;
    source = (await s().request('POST', '/ingress_webhooks', { body: { log_id: log, type: 'github', secret: SECRET } })).body.webhook_id;
    await github({ short: 'lived' });
    const [event] = (await events()).body.data;
    await eventually(async () => expect((await s().request('GET', `/messages/${log}`, { query: { offset: 0, len: 1 } })).body.messages).toEqual([]), 10_000);
    for (const path of [`/api/events/${event.id}/payload`, `/api/events/${event.id}?includePayload=true`]) {
      const gone = await s().request('GET', path);
      expect(gone.status).toBe(410);
      expect(gone.body).toEqual({ error: 'Gone', message: expect.stringContaining('retention'), code: 'PAYLOAD_EXPIRED' });
    }
    expect((await s().request('POST', `/api/events/${event.id}/replay`)).status).toBe(410);
    expect((await events()).body.data.map((e: any) => e.id)).toEqual([event.id]);
    expect((await s().request('GET', `/api/events/${event.id}`)).body).toMatchObject({ id: event.id, headers: {}, payloadSize: event.payloadSize });
  });

  it('shows a token the events of the logs it may consume only, and replays only where it may resend', async () => {
    const ok = await destination('/ok');
    await github({ mine: true });
    const otherLog = (await s().request('POST', '/logs', { body: {} })).body.log_id;
    const otherSource = (await s().request('POST', '/ingress_webhooks', { body: { log_id: otherLog, type: 'github', secret: SECRET } })).body.webhook_id;
    await github({ theirs: true }, { to: otherSource });
    const token = async (acl: string[]) => (await s().request('POST', '/tokens', { body: { acl } })).body.bearer as string;
    const reader = await token([`messages:consume:${env.log}`]);
    const listed = await events({}, reader);
    expect(listed.body.data.map((e: any) => e.logId)).toEqual([env.log]);
    expect(listed.body.pagination.total).toBe(1);
    const theirs = (await events({ sourceId: otherSource })).body.data[0].id;
    expect((await s().request('GET', `/api/events/${theirs}`, { token: reader })).status).toBe(404);
    expect((await s().request('GET', `/api/events/${theirs}/payload`, { token: reader })).status).toBe(404);
    const mine = listed.body.data[0].id;
    // Deliveries of destinations it may not see are left out; replay and delete need their own rights.
    expect((await s().request('GET', `/api/events/${mine}/deliveries`, { token: reader })).body.data).toEqual([]);
    expect((await s().request('POST', `/api/events/${mine}/replay`, { token: reader })).status).toBe(403);
    expect((await s().request('DELETE', `/api/events/${mine}`, { token: reader })).status).toBe(403);
    const operator = await token([`messages:consume:${env.log}`, `egress_webhooks:attempts:${ok}`, `egress_webhooks:resend:${ok}`]);
    await eventually(async () =>
      expect((await s().request('GET', `/api/events/${mine}/deliveries`, { token: operator })).body.data.map((d: any) => d.status)).toEqual(['delivered']),
    );
    expect((await s().request('POST', `/api/events/${mine}/replay`, { token: operator })).body.deliveriesCreated).toBe(1);
    expect((await s().request('GET', '/api/events', { token: await token(['logs:list']) })).body.pagination.total).toBe(0);
  });

  it('forgets the events of a deleted log at once, quarantined ones too', async () => {
    await github({ kept: false });
    await github({ forged: true }, { secret: 'wrong' });
    const ids = (await events()).body.data.map((e: { id: string }) => e.id);
    expect(ids).toHaveLength(2);
    expect((await s().request('DELETE', `/log/${env.log}`)).status).toBe(200);
    expect((await events()).body.pagination.total).toBe(0);
    for (const id of ids) expect((await s().request('GET', `/api/events/${id}/payload`)).status).toBe(404);
  });

  it('serves its OpenAPI document', async () => {
    const doc = await s().request('GET', '/api/events/openapi.json', { token: null });
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths).sort()).toEqual([
      '/api/events',
      '/api/events/bulk/replay',
      '/api/events/openapi.json',
      '/api/events/{id}',
      '/api/events/{id}/deliveries',
      '/api/events/{id}/payload',
      '/api/events/{id}/replay',
      '/api/events/{id}/timeline',
    ]);
  });
});
