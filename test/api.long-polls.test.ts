import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseResponse, type RawResponse, rawRequest } from './helpers/raw-http.js';
import { ADMIN, eventually, longPollsWaiting, METRICS_TOKEN, startTestServer, type TestServer } from './helpers/server.js';

const PARKED = 2000;
const FLOOD = 500;
const WAVE = 200;

/** Sends a GET once its connection is open, and resolves then, with the answer to come. */
function park(base: string, path: string): Promise<{ answer: Promise<RawResponse> }> {
  const socket = connect(Number(new URL(base).port), '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const answer = new Promise<RawResponse>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('close', () => {
      try {
        resolve(parseResponse(Buffer.concat(chunks)));
      } catch (err) {
        reject(err);
      }
    });
  });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ADMIN}\r\nConnection: close\r\n\r\n`);
      resolve({ answer });
    });
  });
}

describe('the bound on waiting long-polls', () => {
  let s: TestServer;
  let log: string;
  let full: string;
  beforeAll(async () => {
    s = await startTestServer({ maxLongPolls: PARKED, maxLongPollsPerToken: PARKED, metricsToken: METRICS_TOKEN });
    log = (await s.request('POST', '/logs', { body: {} })).body.log_id;
    full = (await s.request('POST', '/logs', { body: {} })).body.log_id;
    expect((await s.request('POST', `/message/${full}`, { body: { value: 'there' } })).status).toBe(200);
  });
  afterAll(async () => {
    await s.close();
  });

  /** A consume of `logId` from `offset` over a connection of its own. */
  const consume = (logId: string, query: string) => rawRequest(s.url, 'GET', `/messages/${logId}?${query}`, { timeoutMs: 60_000 });
  const waiting = () => longPollsWaiting(s.url);

  it(`parks ${PARKED} long-polls, refuses a flood beyond them with 429 and Retry-After while other requests answer, and wakes every parked one`, async () => {
    const parked: Array<Promise<RawResponse>> = [];
    // In waves, each connected before the next: a full listen backlog drops
    // connections, which their client then retries only seconds later.
    for (let i = 0; i < PARKED; i += WAVE) {
      const wave = Array.from({ length: Math.min(WAVE, PARKED - i) }, () => park(s.url, `/messages/${log}?offset=0&poll=30000`));
      parked.push(...(await Promise.all(wave)).map((connected) => connected.answer));
    }
    const early: string[] = [];
    for (const answer of parked) void answer.then((a) => early.push(`${a.status} ${a.text}`));
    await eventually(async () => {
      expect(early, 'parked long-polls answered before any message').toEqual([]);
      expect(await waiting()).toBe(PARKED);
    }, 20_000);

    const flood = Array.from({ length: FLOOD }, () => consume(log, 'offset=0&poll=30000'));
    // During the flood: other API calls, and consumes that would not wait.
    const others = [
      rawRequest(s.url, 'GET', '/logs'),
      rawRequest(s.url, 'GET', `/log/${log}`),
      consume(log, 'offset=0'),
      consume(log, 'offset=0&poll=0'),
      consume(full, 'offset=0&poll=30000'),
    ];
    const refused = await Promise.all(flood);
    for (const answer of refused) {
      expect(answer.status).toBe(429);
      expect(answer.headers['retry-after']).toBe('5');
      expect(answer.body).toMatchObject({ error: 'ERR_KLEV_API_0160' });
    }
    const [logs, one, plain, noPoll, found] = await Promise.all(others);
    expect([logs!.status, one!.status, plain!.status, noPoll!.status, found!.status]).toEqual([200, 200, 200, 200, 200]);
    expect(plain!.body.messages).toEqual([]);
    expect(found!.body.messages.map((m: { value: string }) => m.value)).toEqual(['there']);

    expect((await s.request('POST', `/message/${log}`, { body: { value: 'news' } })).status).toBe(200);
    const woken = await Promise.all(parked);
    expect(woken.filter((answer) => answer.status === 200 && answer.body.messages[0]?.value === 'news')).toHaveLength(PARKED);

    // Their places are free again: a long-poll waits, and times out with an empty page.
    expect(await waiting()).toBe(0);
    const again = await consume(log, 'offset=1&poll=100');
    expect(again.status).toBe(200);
    expect(again.body.messages).toEqual([]);
  }, 120_000);
});
