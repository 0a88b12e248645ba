import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { egressSetUp, egressTearDown, FAST_RETRIES } from './helpers/egress.js';
import type { Receiver } from './helpers/receiver.js';
import { eventually, startTestServer, type TestServer } from './helpers/server.js';
import { snapshotStore } from './helpers/snapshot.js';
import { execSql } from './helpers/sql.js';

/** The delivery operations through the klev dialect: delivery states, filters, rate limits, attempts, resend, replay and recover. */
describe('egress delivery operations', () => {
  let s: TestServer;
  let receiver: Receiver;
  let log: string;
  const publish = (...messages: Array<string | Record<string, unknown>>) =>
    s.request('POST', `/messages/${log}`, { body: { messages: messages.map((m) => (typeof m === 'string' ? { value: m } : m)) } });
  const create = async (body: Record<string, unknown> = {}) => {
    const res = await s.request('POST', '/egress_webhooks', { body: { log_id: log, destination: receiver.url, ...body } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.webhook_id as string;
  };
  const offsetsReceived = () => receiver.received.map((r) => JSON.parse(r.body.toString()).offset as number);
  const valuesReceived = () => receiver.received.map((r) => JSON.parse(r.body.toString()).value as string);
  const summary = async (id: string) => (await s.request('GET', `/egress_webhook/${id}/summary`)).body;
  const attempts = async (id: string, query: Record<string, string | number> = {}) => {
    const res = await s.request('GET', `/egress_webhook/${id}/attempts`, { query });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.attempts as Array<Record<string, any>>;
  };
  /** Waits until the task ends, and returns it. */
  const finished = (taskId: string) =>
    eventually(async () => {
      const task = (await s.request('GET', `/tasks/${taskId}`)).body;
      expect(task.status).toBe('finished');
      return task;
    });

  beforeEach(async () => {
    ({ s, receiver, log } = await egressSetUp(FAST_RETRIES));
  });
  afterEach(() => egressTearDown({ s, receiver }));

  it('parallel mode: a destination failing message 3 delivers 4, 5 and 6; 3 is retried on the schedule, then marked failed, and the destination stays active', async () => {
    const id = await create({ mode: 'parallel' });
    receiver.respond = (request) => (JSON.parse(request.body.toString()).value === '3' ? { status: 500, body: 'no' } : undefined);
    await publish('1', '2', '3', '4', '5', '6');
    await eventually(async () => expect((await summary(id)).counts).toEqual({ pending: 0, sending: 0, success: 5, failed: 1, skipped: 0 }));
    const values = valuesReceived();
    // 4, 5 and 6 went out before message 3's last try.
    expect(values.lastIndexOf('3')).toBeGreaterThan(values.indexOf('6'));
    expect(values.filter((v) => v === '3')).toHaveLength(4);
    const tries = await attempts(id, { offset: 2 });
    expect(tries.map((a) => [a.attempt, a.status_code, a.trigger])).toEqual([
      [4, 500, 'scheduled'],
      [3, 500, 'scheduled'],
      [2, 500, 'scheduled'],
      [1, 500, 'scheduled'],
    ]);
    expect(tries[0]).toMatchObject({ response: 'no', error: 'HTTP 500', offset: 2 });
    expect((await s.request('GET', `/egress_webhook/${id}/status`)).body).toMatchObject({ active: true, next_offset: 6 });
  });

  it('skips what the filter turns away, recorded as skipped; a changed filter applies to what follows', async () => {
    const id = await create({ filter_event_types: ['user.created', 'user.updated'], filter_channels: ['eu'] });
    await publish(
      { value: 'wanted', event_type: 'user.created', channels: ['us', 'eu'] },
      { value: 'other type', event_type: 'user.deleted', channels: ['eu'] },
      { value: 'other channel', event_type: 'user.created', channels: ['us'] },
      { value: 'no attributes' },
      { value: 'also wanted', event_type: 'user.updated', channels: ['eu'] },
    );
    await eventually(async () => expect((await summary(id)).counts).toMatchObject({ success: 2, skipped: 3, pending: 0 }));
    expect(valuesReceived()).toEqual(['wanted', 'also wanted']);
    expect(JSON.parse(receiver.received[0]!.body.toString())).toMatchObject({ event_type: 'user.created', channels: ['us', 'eu'] });
    // Skipped is not failed: nothing was tried.
    expect(await attempts(id)).toHaveLength(2);

    const patched = await s.request('PATCH', `/egress_webhook/${id}`, { body: { filter_event_types: null } });
    expect(patched.body).toMatchObject({ filter_event_types: [], filter_channels: ['eu'] });
    await publish({ value: 'any type', event_type: 'order.paid', channels: ['eu'] });
    await receiver.waitFor(3);
    expect(valuesReceived()[2]).toBe('any type');
    // A skip right after an attempt moves the cursor on: the lane once went back to it, again and again, and
    // the next publish waited behind its writes for seconds.
    await publish({ value: 'skipped last', channels: ['us'] });
    await eventually(async () => expect((await summary(id)).counts.skipped).toBe(4));
    const published = Date.now();
    await publish({ value: 'next', channels: ['eu'] });
    expect(Date.now() - published).toBeLessThan(2_000);
    await receiver.waitFor(4, 2_000);
  });

  it('refuses a bad filter or rate limit, changing nothing', async () => {
    const id = await create();
    const before = await snapshotStore(s);
    for (const body of [
      { filter_event_types: ['has space'] },
      { filter_event_types: ['x'.repeat(257)] },
      { filter_channels: Array.from({ length: 11 }, (_, i) => `c${i}`) },
      { filter_channels: ['ok', 'b/ad'] },
      { filter_channels: 'eu' },
      { rate_limit: 70_000 },
      { rate_limit: -1 },
      { rate_limit: 1.5 },
    ]) {
      const res = await s.request('PATCH', `/egress_webhook/${id}`, { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error, JSON.stringify(body)).toBe('ERR_KLEV_API_0102');
      expect((await s.request('POST', '/egress_webhooks', { body: { log_id: log, destination: receiver.url, ...body } })).status).toBe(400);
    }
    expect(await snapshotStore(s)).toEqual(before);
  });

  it('holds a rate limit of 10 per second within 20 % over 5 s', async () => {
    const id = await create({ rate_limit: 10 });
    expect((await s.request('GET', `/egress_webhook/${id}`)).body.rate_limit).toBe(10);
    await publish(...Array.from({ length: 80 }, (_, i) => `${i}`));
    await receiver.waitFor(1);
    const start = receiver.received[0]!.at;
    await new Promise((resolve) => setTimeout(resolve, 5_300));
    const inFive = receiver.received.filter((r) => r.at < start + 5_000).length;
    expect(inFive).toBeGreaterThanOrEqual(40);
    expect(inFive).toBeLessThanOrEqual(60);
    // Lifted: the rest arrive at once.
    await s.request('PATCH', `/egress_webhook/${id}`, { body: { rate_limit: 0 } });
    await receiver.waitFor(80, 5_000);
  }, 20_000);

  it('resends one message as a manual attempt, and replays a range without moving the cursor', async () => {
    const id = await create();
    await publish('a', 'b');
    // A time of its own, for the replay by time below.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await publish('c');
    await receiver.waitFor(3);

    const resend = await s.request('POST', `/egress_webhook/${id}/resend`, { body: { offset: 1 } });
    expect(resend.status).toBe(202);
    expect(resend.body).toMatchObject({ kind: 'resend', status: expect.stringMatching(/^(running|finished)$/), webhook_id: id });
    expect(await finished(resend.body.task_id)).toMatchObject({ sent: 1, succeeded: 1, failed: 0, progress: 1 });
    expect(offsetsReceived()).toEqual([0, 1, 2, 1]);
    const [manual, scheduled] = await attempts(id, { offset: 1 });
    expect(manual).toMatchObject({ trigger: 'manual', status_code: 200, offset: 1 });
    expect(scheduled).toMatchObject({ trigger: 'scheduled', offset: 1 });

    const replay = await s.request('POST', `/egress_webhook/${id}/replay`, { body: { since: 0, until: 2 } });
    expect(replay.status).toBe(202);
    expect(await finished(replay.body.task_id)).toMatchObject({ kind: 'replay', since: 0, until: 2, total: 2, sent: 2, succeeded: 2 });
    // A replay's attempts run side by side, in any order.
    expect(offsetsReceived().slice(0, 4)).toEqual([0, 1, 2, 1]);
    expect(offsetsReceived().slice(4).sort()).toEqual([0, 1]);
    expect((await s.request('GET', `/egress_webhook/${id}/status`)).body.next_offset).toBe(3);

    // By time: only message 2's time is in [its time, its time + 1).
    const time = (await s.request('GET', `/message/${log}`, { query: { offset: 2 } })).body.time as number;
    const byTime = await s.request('POST', `/egress_webhook/${id}/replay`, { body: { since_time: time, until_time: time + 1 } });
    expect(await finished(byTime.body.task_id)).toMatchObject({ since_time: time, until_time: time + 1, sent: 1 });
    expect(offsetsReceived().at(-1)).toBe(2);
    expect((await attempts(id)).filter((a) => a.trigger === 'manual')).toHaveLength(4);
  });

  it('recovers every message whose delivery failed since a time', async () => {
    const id = await create({ mode: 'parallel' });
    receiver.fallback = { status: 503 };
    const since = Date.now() * 1000;
    await publish('x', 'y', 'z');
    await eventually(async () => expect((await summary(id)).counts).toMatchObject({ failed: 3, pending: 0 }));
    receiver.fallback = { status: 200 };
    const arrived = receiver.received.length;

    const recover = await s.request('POST', `/egress_webhook/${id}/recover`, { body: { since } });
    expect(recover.status).toBe(202);
    expect(recover.body).toMatchObject({ kind: 'recover', total: 3 });
    expect(await finished(recover.body.task_id)).toMatchObject({ sent: 3, succeeded: 3 });
    expect(valuesReceived().slice(arrived).sort()).toEqual(['x', 'y', 'z']);
    expect((await summary(id)).counts).toMatchObject({ failed: 0, success: 3 });
    expect((await attempts(id, { status: 'success' })).every((a) => a.trigger === 'manual')).toBe(true);
    // Nothing failed since then: a second recover has nothing to do.
    expect((await s.request('POST', `/egress_webhook/${id}/recover`, { body: { since } })).body).toMatchObject({ status: 'finished', total: 0 });
  });

  it('stops a running task when its webhook is deleted: nothing more goes out after the answer', async () => {
    const id = await create({ rate_limit: 20 });
    await publish(...Array.from({ length: 60 }, (_, i) => `${i}`));
    const replay = (await s.request('POST', `/egress_webhook/${id}/replay`, { body: { since: 0 } })).body;
    await receiver.waitFor(5);
    expect((await s.request('DELETE', `/egress_webhook/${id}`)).status).toBe(200);
    const atDelete = receiver.received.length;
    await new Promise((resolve) => setTimeout(resolve, 500));
    // At most the requests already on the wire when the answer went out.
    expect(receiver.received.length).toBeLessThanOrEqual(atDelete + 1);
    expect((await s.request('GET', `/tasks/${replay.task_id}`)).body).toMatchObject({ status: 'failed', error: 'the egress webhook was deleted' });
  });

  it('refuses a resend the filter turns away or of a message the log no longer holds, and tasks on an inactive webhook', async () => {
    const id = await create({ filter_channels: ['eu'] });
    await publish({ value: 'theirs', channels: ['us'] }, { value: 'ours', channels: ['eu'] });
    await receiver.waitFor(1);
    const refused = await s.request('POST', `/egress_webhook/${id}/resend`, { body: { offset: 0 } });
    expect(refused.status).toBe(400);
    expect(refused.body.details).toContain("does not pass the destination's filter");
    // Compaction keeps only the newest message per key: offset 0 goes.
    const compacted = (await s.request('POST', '/logs', { body: { compacting: true } })).body.log_id;
    const other = (await s.request('POST', '/egress_webhooks', { body: { log_id: compacted, destination: receiver.url } })).body.webhook_id;
    await s.request('POST', `/messages/${compacted}`, {
      body: {
        messages: [
          { key: 'k', value: '1' },
          { key: 'k', value: '2' },
        ],
      },
    });
    await s.server.store.retention.compact(compacted, (Date.now() + 1_000) * 1000, 100);
    const gone = await s.request('POST', `/egress_webhook/${other}/resend`, { body: { offset: 0 } });
    expect(gone.status).toBe(404);
    expect(gone.body.error).toBe('ERR_KLEV_API_0110');

    // An ordered webhook that gave up: its failed message shows in the summary, and tasks wait for re-activation.
    receiver.fallback = { status: 500 };
    const failing = await create();
    await publish('x');
    await eventually(async () => expect((await summary(failing)).active).toBe(false));
    expect((await summary(failing)).counts).toMatchObject({ failed: 1, pending: 0 });
    const inactive = await s.request('POST', `/egress_webhook/${failing}/resend`, { body: { offset: 2 } });
    expect(inactive.status).toBe(409);
    expect(inactive.body.error).toBe('ERR_KLEV_API_0132');
  });

  it('runs at most 10 tasks of a webhook at once', async () => {
    const id = await create({ rate_limit: 1 });
    await publish('a', 'b');
    for (let i = 0; i < 10; i++) expect((await s.request('POST', `/egress_webhook/${id}/replay`, { body: { since: 0 } })).status).toBe(202);
    const eleventh = await s.request('POST', `/egress_webhook/${id}/replay`, { body: { since: 0 } });
    expect(eleventh.status).toBe(409);
    expect(eleventh.body.error).toBe('ERR_KLEV_API_0133');
  });

  it('pages through attempts newest first with no duplicate and no gap while new attempts arrive', async () => {
    const id = await create();
    await publish(...Array.from({ length: 30 }, (_, i) => `${i}`));
    await receiver.waitFor(30);
    await eventually(async () => expect(await attempts(id, { limit: 250 })).toHaveLength(30));
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      // New attempts arrive between pages.
      await publish('more');
      const page: { body: { attempts: Array<{ attempt_id: string }>; next_cursor: string | null } } = await s.request('GET', `/egress_webhook/${id}/attempts`, {
        query: { limit: 7, ...(cursor && { cursor }) },
      });
      seen.push(...page.body.attempts.map((a) => a.attempt_id));
      cursor = page.body.next_cursor;
      pages++;
    } while (cursor && pages < 20);
    expect(new Set(seen).size).toBe(seen.length);
    const numbers = seen.map((a) => Number(a.slice(4)));
    expect(numbers).toEqual([...numbers].sort((a, b) => b - a));
    // Every attempt at or below the first page's newest, none skipped.
    const all = (await attempts(id, { limit: 250 })).map((a) => a.attempt_id).filter((a) => Number(a.slice(4)) <= numbers[0]!);
    expect(seen).toEqual(all);
    expect(seen.length).toBeGreaterThanOrEqual(30);
  });

  it('filters attempts, gets one, and answers unknown or malformed ids and parameters with 4xx', async () => {
    const id = await create();
    receiver.script({ status: 500, body: 'broken' }, { reset: true });
    const before = Date.now() * 1000;
    await publish('a');
    await eventually(async () => expect(await attempts(id)).toHaveLength(3));
    expect((await attempts(id, { status: 'failed' })).map((a) => a.status_code ?? null)).toEqual([null, 500]);
    expect((await attempts(id, { code: '5xx' })).map((a) => a.response)).toEqual(['broken']);
    expect((await attempts(id, { code: 'none' }))[0]).toMatchObject({ error: expect.any(String) });
    expect(await attempts(id, { code: '2xx' })).toHaveLength(1);
    expect(await attempts(id, { before })).toHaveLength(0);
    expect(await attempts(id, { after: before })).toHaveLength(3);
    const [newest] = await attempts(id);
    const one = await s.request('GET', `/egress_webhook/${id}/attempts/${newest!.attempt_id}`);
    expect(one.body).toEqual(newest);

    const other = await create();
    const expectError = async (method: string, path: string, status: number, error: string, options: object = {}) => {
      const res = await s.request(method, path, options);
      expect(res.status, `${path} ${JSON.stringify(res.body)}`).toBe(status);
      expect(res.body.error).toBe(error);
    };
    const snapshot = await snapshotStore(s);
    await expectError('GET', `/egress_webhook/${other}/attempts/${newest!.attempt_id}`, 404, 'ERR_KLEV_API_0130');
    await expectError('GET', `/egress_webhook/${id}/attempts/atm_999999999`, 404, 'ERR_KLEV_API_0130');
    await expectError('GET', `/egress_webhook/${id}/attempts/atm_01`, 400, 'ERR_KLEV_API_0106');
    await expectError('GET', `/egress_webhook/${id}/attempts/x`, 400, 'ERR_KLEV_API_0106');
    await expectError('GET', `/egress_webhook/${id}/attempts`, 400, 'ERR_KLEV_API_0106', { query: { cursor: 'atm_x' } });
    await expectError('GET', `/egress_webhook/${id}/attempts`, 400, 'ERR_KLEV_API_0114', { query: { status: 'ok' } });
    await expectError('GET', `/egress_webhook/${id}/attempts`, 400, 'ERR_KLEV_API_0114', { query: { code: 'toString' } });
    await expectError('GET', `/egress_webhook/${id}/attempts`, 400, 'ERR_KLEV_API_0114', { query: { limit: 251 } });
    await expectError('GET', `/egress_webhook/${id}/attempts`, 400, 'ERR_KLEV_API_0010', { query: { offset: -1 } });
    await expectError('GET', '/egress_webhook/ewh_000000000000000000000000000/attempts', 404, 'ERR_KLEV_API_0116');
    await expectError('POST', `/egress_webhook/${id}/resend`, 404, 'ERR_KLEV_API_0110', { body: { offset: 1 } });
    await expectError('POST', `/egress_webhook/${id}/resend`, 400, 'ERR_KLEV_API_0102', { body: { offset: '0' } });
    await expectError('POST', `/egress_webhook/${id}/replay`, 400, 'ERR_KLEV_API_0102', { body: { since: 0, since_time: 1 } });
    await expectError('POST', `/egress_webhook/${id}/replay`, 400, 'ERR_KLEV_API_0102', { body: {} });
    await expectError('POST', `/egress_webhook/${id}/replay`, 400, 'ERR_KLEV_API_0102', { body: { since: 2, until: 1 } });
    await expectError('POST', `/egress_webhook/${id}/recover`, 400, 'ERR_KLEV_API_0102', { body: { since: 1, extra: 1 } });
    await expectError('GET', '/tasks/tsk_000000000000000000000000000', 404, 'ERR_KLEV_API_0131');
    await expectError('GET', '/tasks/tsk_1', 400, 'ERR_KLEV_API_0106');
    expect(await snapshotStore(s)).toEqual(snapshot);
  });

  it("lets a token see a task only with the attempts right on the task's webhook", async () => {
    const mine = await create();
    const theirs = await create();
    await publish('a');
    const task = (await s.request('POST', `/egress_webhook/${theirs}/resend`, { body: { offset: 0 } })).body.task_id;
    const token = (await s.request('POST', '/tokens', { body: { acl: [`egress_webhooks:attempts:${mine}`] } })).body.bearer;
    expect((await s.request('GET', `/egress_webhook/${mine}/attempts`, { token })).status).toBe(200);
    expect((await s.request('GET', `/tasks/${task}`, { token })).status).toBe(403);
    expect((await s.request('POST', `/egress_webhook/${mine}/resend`, { token, body: { offset: 0 } })).status).toBe(403);
    expect((await s.request('GET', `/tasks/${task}`)).status).toBe(200);
  });

  it('the retention job removes attempts older than HOOKLOG_ATTEMPT_RETENTION_DAYS', async () => {
    await s.close();
    s = await startTestServer({ allowPrivateDestinations: true, attemptRetentionDays: 2, retentionIntervalSeconds: 0.1 });
    log = (await s.request('POST', '/logs', { body: {} })).body.log_id;
    const id = await create();
    await publish('old', 'new');
    await eventually(async () => expect(await attempts(id)).toHaveLength(2));
    const [, old] = await attempts(id);
    const threeDaysAgo = Date.now() - 3 * 24 * 3600 * 1000;
    await execSql(s, 'UPDATE delivery_attempts SET time = ? WHERE id = ?', [threeDaysAgo, Number(old!.attempt_id.slice(4))]);
    await execSql(s, 'UPDATE deliveries SET updated_at = ? WHERE msg_offset = 0', [threeDaysAgo]);
    await eventually(async () => expect((await attempts(id)).map((a) => a.offset)).toEqual([1]));
    // Attempts and delivery states go in separate statements: the state may follow a moment later.
    await eventually(async () => expect((await summary(id)).counts).toMatchObject({ success: 1 }));
  });
});
