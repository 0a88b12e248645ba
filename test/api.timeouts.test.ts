import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseResponse } from './helpers/raw-http.js';
import { ADMIN, startTestServer, type TestServer } from './helpers/server.js';

/** A plain connection to the server, recording what it receives and when the server closes it. */
interface Connection {
  socket: Socket;
  received(): Buffer;
  closed: Promise<void>;
}

function open(base: string): Promise<Connection> {
  const { port } = new URL(base);
  const socket = connect(Number(port), '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', () => resolve({ socket, received: () => Buffer.concat(chunks), closed }));
  });
}

const request = (path: string) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ADMIN}\r\n\r\n`;

describe('HTTP timeouts: slow and idle clients', () => {
  let s: TestServer;
  let log: string;
  beforeAll(async () => {
    s = await startTestServer({ requestTimeoutSeconds: 1, keepAliveTimeoutSeconds: 1 });
    log = (await s.request('POST', '/logs', { body: {} })).body.log_id;
    expect((await s.request('POST', `/message/${log}`, { body: { value: 'first' } })).status).toBe(200);
  });
  afterAll(async () => {
    await s.close();
  });

  it('cuts off a client that dribbles its headers, with 408 and its code, once the request timeout has passed', async () => {
    const c = await open(s.url);
    c.socket.write('GET /logs HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    let sent = 0;
    // A header line every 100 ms, for ever: every byte resets an idle timer, so only a timeout on the whole request stops it.
    const dribble = setInterval(() => {
      if (!c.socket.writable) return;
      c.socket.write(`X-Slow-${sent}: x\r\n`);
      sent++;
    }, 100);
    await c.closed;
    clearInterval(dribble);
    const answer = parseResponse(c.received());
    expect(answer.status).toBe(408);
    expect(answer.headers.connection).toBe('close');
    expect(answer.body).toMatchObject({ error: 'ERR_KLEV_API_0124' });
    // It was still sending when it was cut: the server took bytes until the timeout.
    expect(sent).toBeGreaterThan(3);
  });

  it('closes a connection that never sends a request, with 408', async () => {
    const c = await open(s.url);
    await c.closed;
    const answer = parseResponse(c.received());
    expect(answer.status).toBe(408);
    expect(answer.body).toMatchObject({ error: 'ERR_KLEV_API_0124' });
  });

  it.each([
    ['a plain request', '/logs'],
    ['a consume, whose answer held memory of the response budget', `/messages/LOG?offset=0&len=1`],
  ])('closes a keep-alive connection left idle after %s, without an error answer', async (_what, path) => {
    const c = await open(s.url);
    c.socket.write(request(path.replace('LOG', log)));
    await c.closed;
    const answer = parseResponse(c.received());
    // One answer, the request's, and no 408 after it: the idle connection was simply closed.
    expect(answer.status).toBe(200);
    expect(
      c
        .received()
        .toString('latin1')
        .match(/HTTP\/1\.1 /g),
    ).toHaveLength(1);
  });

  it('answers a long-poll that waits longer than the request and keep-alive timeouts', async () => {
    const c = await open(s.url);
    c.socket.write(request(`/messages/${log}?offset=1&poll=2500`));
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect((await s.request('POST', `/message/${log}`, { body: { value: 'late' } })).status).toBe(200);
    // The answer arrives on the connection that waited 2 s, then the idle connection is closed.
    await c.closed;
    const answer = parseResponse(c.received());
    expect(answer.status).toBe(200);
    expect(answer.body.messages.map((m: { value: string }) => m.value)).toEqual(['late']);
  });
});

describe('the bound on open connections', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ maxConnections: 5 });
  });
  afterAll(async () => {
    await s.close();
  });

  it('closes connections beyond max_connections as they connect, and serves again once one is gone', async () => {
    const held = await Promise.all(Array.from({ length: 5 }, () => open(s.url)));
    const extra = await open(s.url);
    extra.socket.write(request('/logs'));
    // Closed without an answer: the request was never read.
    await extra.closed;
    expect(extra.received()).toHaveLength(0);

    held[0]!.socket.destroy();
    await held[0]!.closed;
    const next = await open(s.url);
    next.socket.write(request('/logs'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(parseResponse(next.received()).status).toBe(200);
    for (const c of [...held, next]) c.socket.destroy();
  });
});
