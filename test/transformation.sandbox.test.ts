import { afterAll, describe, expect, it } from 'vitest';
import type { DeliveryRequest } from '../src/domain/types.js';
import { Sandbox } from '../src/transformation/sandbox.js';
import { Transformer } from '../src/transformation/transformer.js';

const LIMITS = { timeoutMs: 50, memoryBytes: 16 * 1024 * 1024, maxOutputBytes: 64 * 1024 };
/** What the sandbox tells the operator, kept to be checked. */
const warnings: Array<{ obj: object; msg: string }> = [];
const logger = { warn: (obj: object, msg: string) => warnings.push({ obj, msg }) };
const sandbox = new Sandbox({ ...LIMITS, threads: 1, logger });
const transformer = new Transformer(sandbox);
afterAll(() => sandbox.close());

const request = (body: unknown = { ref: 'refs/heads/main' }): DeliveryRequest => ({
  method: 'POST',
  url: 'https://example.com/hook',
  headers: { 'content-type': 'application/json', 'x-tenant': 'a' },
  body: Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
});

async function apply(code: string, body?: unknown, eventType: string | null = 'push') {
  return transformer.apply(code, request(body), eventType);
}

async function sent(code: string, body?: unknown, eventType?: string | null) {
  const result = await apply(code, body, eventType);
  if (!('request' in result)) throw new Error(`expected a request, got ${JSON.stringify(result)}`);
  return result.request;
}

describe('the sandbox', () => {
  it('gives the handler the method, URL, headers, parsed payload and event type, and sends what it returns', async () => {
    const out = await sent(
      `export function handler(webhook) {
         webhook.payload = { seen: [webhook.method, webhook.url, webhook.headers['x-tenant'], webhook.payload.ref, webhook.eventType, webhook.cancel] };
         return webhook;
       }`,
    );
    expect(JSON.parse(out.body.toString())).toEqual({ seen: ['POST', 'https://example.com/hook', 'a', 'refs/heads/main', 'push', false] });
    expect(out.headers).toEqual({ 'content-type': 'application/json', 'x-tenant': 'a' });
  });

  it('takes Svix-style code that declares handler without exporting it, and a default export', async () => {
    for (const code of ['function handler(webhook) { webhook.payload = 1; return webhook }', 'export default (webhook) => ({ ...webhook, payload: 1 })']) {
      expect((await sent(code)).body.toString()).toBe('1');
    }
  });

  it('changes the URL, method and headers', async () => {
    const out = await sent(
      `export function handler(webhook) {
         webhook.url = 'https://other.example/' + webhook.payload.ref.split('/').pop();
         webhook.method = 'put';
         webhook.headers = { 'content-type': 'text/plain', 'x-branch': 'main' };
         webhook.payload = 'plain text';
         return webhook;
       }`,
    );
    expect(out).toEqual({
      method: 'PUT',
      url: 'https://other.example/main',
      headers: { 'content-type': 'text/plain', 'x-branch': 'main' },
      body: Buffer.from('plain text'),
    });
  });

  it('gives a body that is not JSON as text, and one that is not UTF-8 as base64 that round-trips', async () => {
    expect((await sent('export const handler = (w) => { w.payload = typeof w.payload + ":" + w.payload; return w }', 'a=b')).body.toString()).toBe(
      'string:a=b',
    );
    const bytes = Buffer.from([0xff, 0x00, 0x80, 0x41]);
    const out = await sent('export const handler = (w) => { if (w.payloadEncoding !== "base64") throw new Error("not base64"); return w }', bytes);
    expect(out.body.equals(bytes)).toBe(true);
  });

  it('runs async handlers', async () => {
    const out = await sent('export async function handler(w) { await null; w.payload = { later: true }; return w }');
    expect(JSON.parse(out.body.toString())).toEqual({ later: true });
  });

  it('cancels', async () => {
    expect(await apply('export function handler(w) { w.cancel = true; return w }')).toEqual({ cancelled: true });
  });

  it('keeps runs apart, also runs of one destination that share a realm: no state survives a run', async () => {
    const module = `let runs = 0;
      export function handler(w) {
        runs++;
        const tried = [];
        for (const attempt of [() => { globalThis.leak = runs }, () => { Object.prototype.leaked = runs }, () => { JSON.parse = null }, () => { Array.prototype.push = null }]) {
          try { attempt(); tried.push('changed') } catch { tried.push('refused') }
        }
        w.payload = { runs, leak: typeof leak, leaked: ({}).leaked ?? null, tried };
        return w;
      }`;
    const script = `counter = typeof counter === 'number' ? counter + 1 : 1;
      var declared = (typeof declared === 'number' ? declared : 0) + 1;
      function handler(w) { w.payload = { counter: typeof counter === 'number' ? counter : 'none', declared }; return w }`;
    for (const key of ['ewh_a', 'ewh_a', 'ewh_a', undefined]) {
      const out = await transformer.apply(module, request(), null, key);
      expect(out).toMatchObject({ request: expect.anything() });
      if ('request' in out)
        expect(JSON.parse(out.request.body.toString())).toEqual({
          runs: 1,
          leak: 'undefined',
          leaked: null,
          tried: ['refused', 'refused', 'refused', 'refused'],
        });
      const scripted = await transformer.apply(script, request(), null, key);
      if (!('request' in scripted)) throw new Error(JSON.stringify(scripted));
      expect(JSON.parse(scripted.request.body.toString())).toEqual({ counter: 'none', declared: 1 });
    }
  });

  it('lets code assign the properties it commonly gives its own objects, though the built-ins are frozen', async () => {
    const out = await sent(
      `class Refused extends Error { constructor(message) { super(message); this.name = 'Refused' } }
       export function handler(w) {
         const thing = {};
         thing.toString = () => 'custom';
         const error = new Refused('no');
         w.payload = { thing: String(thing), error: error.name + ': ' + error.message, frozen: Object.isFrozen(Object.prototype) };
         return w;
       }`,
    );
    expect(JSON.parse(out.body.toString())).toEqual({ thing: 'custom', error: 'Refused: no', frozen: true });
  });

  it('offers no way out: no process, require, fetch, timers, imports or eval of host code', async () => {
    const out = await sent(
      `export function handler(w) {
         const names = ['process', 'require', 'fetch', 'setTimeout', 'setInterval', 'XMLHttpRequest', 'WebSocket', 'Deno', 'Bun', 'std', 'os', 'module', 'global', 'console', 'WebAssembly', 'SharedArrayBuffer', 'Atomics'];
         w.payload = Object.fromEntries(names.map((name) => [name, typeof globalThis[name]]));
         return w;
       }`,
    );
    const seen = JSON.parse(out.body.toString());
    for (const [name, type] of Object.entries(seen)) expect([name, type]).toEqual([name, 'undefined']);
    const imported = await apply('import fs from "fs"; export function handler(w) { return w }');
    expect(imported).toMatchObject({ kind: 'error' });
  });

  it('ends an infinite loop at the time limit, and the next run works', async () => {
    const started = performance.now();
    const result = await apply('export function handler(w) { for (;;) {} }');
    expect(result).toMatchObject({ kind: 'timeout', error: expect.stringContaining('50 ms') });
    expect(performance.now() - started).toBeLessThan(1000 + LIMITS.timeoutMs);
    const caught = await apply('export function handler(w) { try { for (;;) {} } catch { w.payload = "escaped"; return w } }');
    expect(caught).toMatchObject({ kind: 'timeout' });
    expect(await sent('export const handler = (w) => w')).toMatchObject({ method: 'POST' });
  });

  it('ends a 1 GiB allocation at the memory limit', async () => {
    for (const code of [
      'export function handler(w) { w.payload = "x".repeat(2 ** 30 - 1); return w }',
      'export function handler(w) { w.payload = new Array(2 ** 27).fill(0); return w }',
      'export function handler(w) { const a = []; for (;;) a.push({ big: "y".repeat(1024) + a.length }); }',
      'export function handler(w) { return handler(w) }',
    ]) {
      const result = await apply(code);
      expect(result).toMatchObject({ error: expect.stringMatching(/out of memory|stack overflow|timed out|RangeError|InternalError/) });
      expect('request' in result).toBe(false);
    }
    expect(await apply('export function handler(w) { w.payload = new Array(2 ** 27).fill(0); return w }')).toMatchObject({ kind: 'memory' });
  });

  it('refuses a huge output', async () => {
    const result = await apply('export function handler(w) { w.payload = "z".repeat(1024 * 1024); return w }');
    expect(result).toMatchObject({ kind: 'error', error: expect.stringContaining('output too large') });
    const headers = await apply('export function handler(w) { for (let i = 0; i < 10000; i++) w.headers["x-" + i] = "v".repeat(100); return w }');
    expect(headers).toMatchObject({ error: expect.stringMatching(/output too large|at most 20 headers/) });
  });

  it('cannot pollute the host: names like __proto__ stay data', async () => {
    const out = await apply(
      `export function handler(w) {
         w.headers = JSON.parse('{"__proto__": "x", "constructor": "y"}');
         w.payload = JSON.parse('{"__proto__": {"polluted": true}}');
         return w;
       }`,
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(out).toMatchObject({ request: { headers: { __proto__: 'x', constructor: 'y' } } });
    if ('request' in out) expect(Object.getPrototypeOf(out.request.headers)).toBeNull();
    const getters = await apply(
      `export function handler(w) {
         w.payload = { get toJSON() { for (;;) {} } };
         return w;
       }`,
    );
    expect(getters).toMatchObject({ kind: 'timeout' });
    const frozen = await apply('export function handler(w) { Object.defineProperty(Object.prototype, "polluted", { value: 1 }); return w }');
    expect(frozen).toMatchObject({ kind: 'error', error: expect.stringContaining('TypeError') });
    expect(({} as Record<string, unknown>).toJSON).toBeUndefined();
  });

  it('checks what the handler gives back', async () => {
    expect(await apply('export function handler(w) { w.method = "GET"; return w }')).toMatchObject({
      kind: 'invalid',
      error: expect.stringContaining('POST, PUT or PATCH'),
    });
    expect(await apply('export function handler(w) { w.url = "file:///etc/passwd"; return w }')).toMatchObject({ kind: 'invalid' });
    expect(await apply('export function handler(w) { w.headers["webhook-signature"] = "forged"; return w }')).toMatchObject({ kind: 'invalid' });
    expect(await apply('export function handler(w) { w.headers.x = 1; return w }')).toMatchObject({ error: expect.stringContaining('must be a string') });
    expect(await apply('export function handler(w) {}')).toMatchObject({ error: expect.stringContaining('must return the webhook') });
    expect(await apply('export function handler(w) { throw new TypeError("nope") }')).toMatchObject({
      kind: 'error',
      error: expect.stringMatching(/^TypeError: nope \(line 1, column \d+\)$/),
    });
  });

  it('says why code cannot load', async () => {
    expect(await transformer.check('export function handler(w) { return w }')).toBeUndefined();
    expect(await transformer.check('export function handler(w) {')).toMatch(/SyntaxError/);
    // A script's error is told as in the script, not in the function hooklog runs it in.
    const script = await transformer.check('function handler(w) { return w');
    expect(script).toMatch(/^SyntaxError: /);
    expect(script).not.toContain("')'");
    expect(await apply('export function handler(w) { Object.prototype.x = 1; return w }')).toMatchObject({ error: expect.stringContaining('frozen') });
    expect(await transformer.check('export const x = 1')).toMatch(/no handler/);
    expect(await transformer.check('for (;;) {}')).toMatch(/timed out/);
  });
});

describe('a sandbox thread stuck past every time limit', () => {
  it('is ended and replaced; the run it was stuck in times out, the others it held run on its replacement', async () => {
    // One call of a built-in, not interruptible between instructions: sorting 12 million numbers as strings, 3.7 s alone.
    const stuck = new Sandbox({ timeoutMs: 5, memoryBytes: 512 * 1024 * 1024, maxOutputBytes: 1024, threads: 1, logger });
    try {
      const hang = 'export function handler(w) { new Array(12_000_000).fill(7).sort(); return w }';
      const fine = 'export function handler(w) { w.payload = { ok: true }; return w }';
      const input = { meta: JSON.stringify({ method: 'POST', url: 'https://example.com/', headers: {}, eventType: null }), body: Buffer.from('{}') };
      const started = performance.now();
      const results = await Promise.all([stuck.run(hang, input, 'ewh_hang'), ...['ewh_b', 'ewh_c', 'ewh_d'].map((key) => stuck.run(fine, input, key))]);
      expect(results[0]).toMatchObject({ kind: 'timeout' });
      for (const result of results.slice(1)) expect('body' in result && result.body.toString()).toBe('{"ok":true}');
      // Ended by the pool (a quarter of a second after its runs' limits), not by QuickJS, which could not stop it: the sort alone takes longer than the 3 s bound.
      expect(performance.now() - started).toBeGreaterThan(250);
      expect(performance.now() - started).toBeLessThan(3_000);
      expect(warnings).toContainEqual({ obj: { webhookId: 'ewh_hang' }, msg: expect.stringContaining('thread ended') });
    } finally {
      await stuck.close();
    }
  });
});
