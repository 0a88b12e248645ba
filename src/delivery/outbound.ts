import { STATUS_CODES } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Agent, buildConnector, type Dispatcher, request } from 'undici';
import type { DeliveryRequest } from '../domain/types.js';
import { hostOf, isRefusedAddress, PrivateAddressError, publicOnlyLookup } from './address-policy.js';
import { parseRetryAfter } from './schedule.js';

/** How much of a response is kept for the attempt history and the status. */
const MAX_RESPONSE_CHARS = 4096;

export interface OutboundResponse {
  /** null when no response came: timeout, refused, reset, refused address. */
  statusCode: number | null;
  /** The response as text, as klev's deliver_resp shows it: status line, headers, then the start of the body. */
  raw: string;
  /** The start of the response body. */
  body: string;
  durationMs: number;
  /** Why no response came; empty when one did. */
  error: string;
  /** The kind of that reason, for the metrics; null when a response came. */
  failure: NoResponse | null;
  retryAfterMs: number | null;
}

/**
 * Why no response came: the time ran out, the address is refused by policy,
 * the connection failed, or the destination's transformation failed and
 * nothing was sent.
 */
export type NoResponse = 'timeout' | 'address_refused' | 'network' | 'transformation';

export interface OutboundOptions {
  timeoutMs: number;
  allowPrivate: boolean;
}

/**
 * The one HTTP client for deliveries. Every request is bounded by the timeout
 * from connect to last byte, so a hung receiver costs its own lane that long
 * and no more; connections are pooled per origin and kept alive.
 */
export class OutboundClient {
  private readonly agent: Agent;

  constructor(private readonly options: OutboundOptions) {
    const connector = buildConnector({ timeout: options.timeoutMs, ...(options.allowPrivate ? {} : { lookup: publicOnlyLookup }) });
    const connect: buildConnector.connector = options.allowPrivate
      ? connector
      : (target, callback) => {
          // A literal IP never goes through lookup, so it is checked here.
          const host = hostOf(target);
          if (isRefusedAddress(host)) return callback(new PrivateAddressError(host), null);
          return connector(target, callback);
        };
    this.agent = new Agent({ connect, headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs });
  }

  /** `signal` aborts the request early (shutdown); the timeout applies either way. */
  async send({ method, url, headers, body }: DeliveryRequest, signal?: AbortSignal): Promise<OutboundResponse> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    // One controller and one timer per request: cheaper than AbortSignal.timeout
    // combined with AbortSignal.any, which matters at thousands of requests a second.
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.options.timeoutMs);
    const stop = () => controller.abort();
    signal?.addEventListener('abort', stop, { once: true });
    try {
      const response = await request(url, { method: method as Dispatcher.HttpMethod, headers, body, dispatcher: this.agent, signal: controller.signal });
      const length = Number(response.headers['content-length']);
      // Small bodies with a known length are read whole; others up to the limit.
      // The answer is stored as text, where PostgreSQL refuses NUL: a receiver's NUL is kept as U+FFFD.
      const text = (length <= MAX_RESPONSE_CHARS ? await response.body.text() : await readStart(response.body)).replaceAll('\0', '\uFFFD');
      const retryAfter = response.headers['retry-after'];
      return {
        statusCode: response.statusCode,
        raw: `${statusLine(response.statusCode)}${headerLines(response.headers)}\r\n${text}`.slice(0, MAX_RESPONSE_CHARS),
        body: text,
        durationMs: elapsed(),
        error: '',
        failure: null,
        retryAfterMs: parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, Date.now()),
      };
    } catch (err) {
      const failure = timedOut ? 'timeout' : failureOf(err);
      const error = failure === 'timeout' ? `timeout: no complete response within ${this.options.timeoutMs / 1000} s` : describe(err);
      return { statusCode: null, raw: '', body: '', durationMs: elapsed(), error, failure, retryAfterMs: null };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', stop);
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/** Reads at most MAX_RESPONSE_CHARS bytes of the body; leaving the loop early discards the rest. */
async function readStart(body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= MAX_RESPONSE_CHARS) break;
  }
  return Buffer.concat(chunks).subarray(0, MAX_RESPONSE_CHARS).toString('utf8');
}

function statusLine(status: number): string {
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`;
}

/**
 * Header names as written (Content-Length), by the lower case undici gives:
 * receivers send the same few names each time, and a lookup costs less than
 * the regular expression. Bounded, since a receiver may send any names.
 */
const canonicalNames = new Map<string, string>();
const MAX_CANONICAL_NAMES = 1_000;

function canonicalName(name: string): string {
  let canonical = canonicalNames.get(name);
  if (canonical === undefined) {
    canonical = name.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());
    if (canonicalNames.size < MAX_CANONICAL_NAMES) canonicalNames.set(name, canonical);
  }
  return canonical;
}

function headerLines(headers: Record<string, string | string[] | undefined>): string {
  let lines = '';
  for (const [name, value] of Object.entries(headers)) {
    const canonical = canonicalName(name);
    for (const item of Array.isArray(value) ? value : [value ?? '']) lines += `${canonical}: ${item}\r\n`;
  }
  return lines;
}

const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

function failureOf(err: unknown): NoResponse {
  const error = err as { code?: string; cause?: unknown };
  if (error.code !== undefined && TIMEOUTS.has(error.code)) return 'timeout';
  return error instanceof PrivateAddressError || error.cause instanceof PrivateAddressError ? 'address_refused' : 'network';
}

function describe(err: unknown): string {
  const error = err as { name?: string; code?: string; message?: string; cause?: unknown };
  if (error instanceof PrivateAddressError) return error.message;
  const cause = error.cause as { code?: string; message?: string } | undefined;
  if (cause instanceof PrivateAddressError) return cause.message;
  const code = error.code ?? cause?.code;
  const message = error.message ?? String(err);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}
