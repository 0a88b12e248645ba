import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';

export interface Received {
  /** The request's path and query, which tells webhooks sharing a receiver apart. */
  path: string;
  method: string;
  body: Buffer;
  headers: IncomingHttpHeaders;
  at: number;
}

/** How the receiver answers one request. */
export type Behaviour = { status: number; headers?: Record<string, string>; body?: string; delayMs?: number } | { reset: true } | { hang: true };

export interface Receiver {
  url: string;
  received: Received[];
  /** Answers requests in turn with these behaviours, then with `fallback`. */
  script(...behaviours: Behaviour[]): void;
  fallback: Behaviour;
  /** Answers by what arrived, before the script; undefined falls through to it. */
  respond?: (request: Received) => Behaviour | undefined;
  /** Resolves once `count` requests have arrived. */
  waitFor(count: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

/** A local HTTP server that plays the customer's endpoint and records what it gets. */
export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const queue: Behaviour[] = [];
  const sockets = new Set<Socket>();
  const receiver: Receiver = {
    url: '',
    received,
    fallback: { status: 200 },
    script: (...behaviours) => queue.push(...behaviours),
    async waitFor(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`receiver got ${received.length} of ${count} requests`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return received;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const arrived = { path: request.url ?? '', method: request.method ?? '', body: Buffer.concat(chunks), headers: request.headers, at: Date.now() };
      received.push(arrived);
      const behaviour = receiver.respond?.(arrived) ?? queue.shift() ?? receiver.fallback;
      if ('reset' in behaviour) return request.socket.destroy();
      if ('hang' in behaviour) return;
      setTimeout(() => response.writeHead(behaviour.status, behaviour.headers).end(behaviour.body ?? ''), behaviour.delayMs ?? 0);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  return receiver;
}
