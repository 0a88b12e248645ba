import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DestinationStream, pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { type RunningServer, startServer } from '../../src/server.js';
import { createSchema } from './postgres.js';
import { logDir, recordSecret } from './secrets.js';

export const ADMIN = 'test-admin-token-0123456789abcdef';

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface RequestOptions {
  token?: string | null;
  query?: Record<string, string | number>;
  body?: unknown;
  /** Sent as is, with `contentType` (default application/json). */
  rawBody?: string | Buffer;
  contentType?: string;
  signal?: AbortSignal;
}

export interface TestServer {
  url: string;
  dataDir: string;
  /** The PostgreSQL URL (with its schema) the server uses; empty over SQLite. */
  databaseUrl: string;
  server: RunningServer;
  request<T = any>(method: string, path: string, options?: RequestOptions): Promise<ApiResponse<T>>;
  close(): Promise<void>;
}

const open = new Set<TestServer>();

/** Servers still open; the shared afterEach fails a test that leaves one behind. */
export function openServers(): number {
  return open.size;
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'hooklog-test-'));
}

/**
 * The backend API tests run on: SQLite by default; `HOOKLOG_TEST_BACKEND=postgres`
 * runs the same tests over a fresh PostgreSQL schema per server (npm test does both).
 */
const BACKEND = process.env.HOOKLOG_TEST_BACKEND ?? 'sqlite';

let logFile: DestinationStream | undefined;

/**
 * This worker's log file in the run's directory: servers log at debug there,
 * so that the run's secret check (test/helpers/log-check.ts) reads every line
 * they would write in production. Synchronous, so nothing is lost when the
 * worker ends.
 */
function serverLog(): DestinationStream {
  logFile ??= pino.destination({ dest: join(logDir(), `server-${process.pid}.log`), sync: true, append: true });
  return logFile;
}

/** The server's log lines, parsed, for tests that check what it logs; they reach the run's log file too. */
export function capturedLog(): { lines: Array<Record<string, any>>; destination: DestinationStream } {
  const lines: Array<Record<string, any>> = [];
  return {
    lines,
    destination: {
      write(line: string) {
        lines.push(JSON.parse(line));
        serverLog().write(line);
      },
    },
  };
}

/** Starts the real server on an ephemeral port over a fresh SQLite directory or PostgreSQL schema; its log goes to the run's log file, or to `log`. */
export async function startTestServer(overrides: Partial<Config> = {}, dataDir = tempDir(), log: DestinationStream = serverLog()): Promise<TestServer> {
  const schema = BACKEND === 'postgres' && !overrides.databaseUrl ? await createSchema() : null;
  const config: Config = {
    ...loadConfig({}),
    port: 0,
    host: '127.0.0.1',
    dataDir,
    adminToken: ADMIN,
    logLevel: 'debug',
    // Tests stop their servers at once unless they test the delay.
    shutdownDelaySeconds: 0,
    ...(schema && { databaseUrl: schema.url }),
    ...overrides,
  };
  recordSecret(config.adminToken);
  for (const channel of config.channels) {
    recordSecret(channel.token);
    recordSecret(channel.secret);
  }
  const server = await startServer(config, () => {}, log);
  const url = server.url;
  if (!url) throw new Error('startTestServer needs a node that serves HTTP (role all or api)');
  const test: TestServer = {
    url,
    dataDir,
    databaseUrl: config.databaseUrl,
    server,
    request: (method, path, options = {}) => request(url, method, path, options),
    async close() {
      open.delete(test);
      await server.close();
      await schema?.drop();
    },
  };
  open.add(test);
  return test;
}

export async function request(base: string, method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
  const url = new URL(path, base);
  for (const [name, value] of Object.entries(options.query ?? {})) url.searchParams.set(name, String(value));
  const headers: Record<string, string> = {};
  const token = options.token === undefined ? ADMIN : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: string | Blob | undefined;
  if (options.rawBody !== undefined) body = typeof options.rawBody === 'string' ? options.rawBody : new Blob([new Uint8Array(options.rawBody)]);
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
  const response = await fetch(url, { method, headers, body, signal: options.signal });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Retries `check` until it passes or `timeoutMs` runs out, for effects of background work. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** The token the tests that read metrics give their server: /metrics is served on the API port only with one. */
export const METRICS_TOKEN = 'test-metrics-token-0123456789';

/** The long-polls waiting on a server started with `metricsToken: METRICS_TOKEN`, as its metrics report them. */
export async function longPollsWaiting(base: string): Promise<number> {
  const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  return Number(/^hooklog_long_poll_waiters (\d+)$/m.exec(await res.text())?.[1]);
}
