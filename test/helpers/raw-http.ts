import { connect } from 'node:net';
import { ADMIN } from './server.js';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  /** The body as text. */
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  body: any;
}

export interface RawOptions {
  /** Bearer to send; null sends none. Default: the test admin token. */
  token?: string | null;
  headers?: Record<string, string>;
  /** Header lines sent exactly as given (each ending in CRLF): what an HTTP client library would refuse to send. */
  rawHeaders?: string;
  body?: string | Buffer;
  timeoutMs?: number;
}

/**
 * One HTTP/1.1 request over a plain socket, byte for byte as given, so that
 * tests can send what fetch refuses to: NUL in headers, invalid UTF-8,
 * malformed paths. The connection is closed after the answer.
 */
export function rawRequest(base: string, method: string, path: string, options: RawOptions = {}): Promise<RawResponse> {
  const { hostname, port } = new URL(base);
  const token = options.token === undefined ? ADMIN : options.token;
  const body = options.body === undefined ? Buffer.alloc(0) : Buffer.from(options.body);
  const headers = { host: hostname, connection: 'close', ...(token !== null && { authorization: `Bearer ${token}` }), ...options.headers };
  const head =
    `${method} ${path} HTTP/1.1\r\n` +
    Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('') +
    (options.rawHeaders ?? '') +
    (body.length > 0 || method !== 'GET' ? `content-length: ${body.length}\r\n` : '') +
    '\r\n';
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.setTimeout(options.timeoutMs ?? 10_000, () => socket.destroy(new Error('raw request timed out')));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      try {
        resolve(parseResponse(Buffer.concat(chunks)));
      } catch (err) {
        reject(err);
      }
    });
    socket.write(Buffer.concat([Buffer.from(head, 'latin1'), body]));
  });
}

export function parseResponse(raw: Buffer): RawResponse {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no complete HTTP response: ${JSON.stringify(raw.toString('latin1').slice(0, 200))}`);
  const [statusLine, ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const at = line.indexOf(':');
    headers[line.slice(0, at).toLowerCase()] = line.slice(at + 1).trim();
  }
  let payload = raw.subarray(end + 4);
  if (headers['transfer-encoding'] === 'chunked') payload = unchunk(payload);
  const text = payload.toString('utf8');
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: Number(statusLine!.split(' ')[1]), headers, text, body };
}

function unchunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < data.length; ) {
    const lineEnd = data.indexOf('\r\n', at);
    const size = Number.parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (!size) break;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
