// @ts-check
// One sandbox thread. It is plain JavaScript, not TypeScript, because a
// worker thread loads its file directly: the compiled build runs it from
// dist/, and the tests, which run the TypeScript sources, run it from src/.
//
// Each run gets a QuickJS runtime and context of its own, made for it and
// disposed after it: nothing one run leaves behind (globals, prototypes it
// changed, memory) reaches the next. The code sees the JavaScript language
// and nothing else: no require or import of modules, no timers, network or
// files, no process. Its time and memory are bounded by QuickJS's interrupt
// handler and allocator limit; the pool (sandbox.ts) ends a thread that still
// does not answer in time.
import { isUtf8 } from 'node:buffer';
import { parentPort, workerData } from 'node:worker_threads';
import { DefaultIntrinsics, newQuickJSWASMModuleFromVariant } from 'quickjs-emscripten-core';

/** @type {{ timeoutMs: number, memoryBytes: number, maxOutputBytes: number }} */
const limits = workerData;
/** Native stack for the code: deep recursion ends in a RangeError, not a crash of the thread. */
const STACK_BYTES = 256 * 1024;
/** Longest error text kept for an attempt record. */
const MAX_ERROR_CHARS = 1000;
/**
 * Typed arrays are left out: transformations work on JSON and text, and the
 * typed arrays make up half the cost of a new context.
 */
const INTRINSICS = { ...DefaultIntrinsics, TypedArrays: false };

// Evaluated in each context before the tenant's code, so it holds the real
// JSON and String whatever that code does to the globals. It builds the
// webhook, and turns what the handler gives back into one JSON string: the
// only thing that leaves the sandbox.
const DRIVER = `(() => {
  'use strict';
  const { parse, stringify } = JSON;
  const toText = String;
  const isArray = Array.isArray;
  const keys = Object.keys;
  const describe = (error) => {
    try {
      if (error !== null && typeof error === 'object' && typeof error.name === 'string' && typeof error.message === 'string') return error.name + ': ' + error.message;
      return 'the handler threw ' + toText(error);
    } catch {
      return 'the handler threw a value that cannot be shown';
    }
  };
  return {
    webhook(meta, body, encoding) {
      const webhook = parse(meta);
      webhook.payload = body;
      if (encoding === 'base64') webhook.payloadEncoding = 'base64';
      else if (body.length > 0 && (body[0] === '{' || body[0] === '[' || /^\\s/.test(body))) {
        try {
          const value = parse(body);
          if (value !== null && typeof value === 'object') webhook.payload = value;
        } catch {}
      }
      webhook.cancel = false;
      return webhook;
    },
    finish(out, maxChars) {
      try {
        if (out === null || typeof out !== 'object' || isArray(out)) return stringify({ error: 'the handler must return the webhook object (or set webhook.cancel = true and return it)' });
        if (out.cancel === true) return stringify({ cancel: true });
        const headers = out.headers;
        if (headers === null || typeof headers !== 'object' || isArray(headers)) return stringify({ error: 'webhook.headers must be an object of header names to strings' });
        const list = [];
        for (const name of keys(headers)) {
          const value = headers[name];
          if (typeof value !== 'string') return stringify({ error: 'webhook.headers[' + stringify(name) + '] must be a string' });
          list.push([name, value]);
        }
        const payload = out.payload;
        let body;
        let kind;
        if (typeof payload === 'string') {
          body = payload;
          kind = out.payloadEncoding === 'base64' ? 'base64' : 'text';
        } else {
          body = stringify(payload);
          kind = 'json';
          if (body === undefined) return stringify({ error: 'webhook.payload must be JSON or a string' });
        }
        if (body.length > maxChars) return stringify({ error: 'output too large: the payload is over the limit of ' + maxChars + ' bytes' });
        const text = stringify({ method: out.method, url: out.url, headers: list, body, kind });
        // Escapes may make the text longer than the payload; past this, the headers or the URL are what is too large.
        if (text.length > maxChars * 2 + 65536) return stringify({ error: 'output too large: the headers and URL are over the limit' });
        return text;
      } catch (error) {
        return stringify({ error: describe(error) });
      }
    },
    describe,
  };
})()`;

/**
 * Code with an import or export statement is a module, whose handler is
 * exported; any other code is a script that declares a global handler, as
 * Svix's transformations do. (QuickJS's own guess looks at the first
 * statement only.)
 */
const MODULE = /^\s*(export|import)\b/m;

const quickjs = await newQuickJSWASMModuleFromVariant(import('@jitl/quickjs-wasmfile-release-sync'));

/**
 * @typedef {{ meta: string, body: Uint8Array }} Input
 * @typedef {{ method: unknown, url: unknown, headers: Array<[string, string]>, body: Uint8Array }} Output
 * @typedef {{ error: string, kind: 'timeout' | 'memory' | 'error' }} Failure
 */

/**
 * Runs `code` on one webhook, or, without one, only loads it to see that it
 * has a handler.
 * @param {string} code
 * @param {Input | undefined} input
 * @returns {Output | { cancel: true } | Failure | { loaded: true }}
 */
function run(code, input) {
  const runtime = quickjs.newRuntime();
  let interrupted = false;
  const deadline = performance.now() + limits.timeoutMs;
  runtime.setInterruptHandler(() => {
    interrupted = performance.now() > deadline;
    return interrupted;
  });
  runtime.setMemoryLimit(limits.memoryBytes);
  runtime.setMaxStackSize(STACK_BYTES);
  const context = runtime.newContext({ intrinsics: INTRINSICS });
  /** @type {Array<{ dispose(): void }>} */
  const handles = [];
  /** @param {import('quickjs-emscripten-core').QuickJSHandle} handle */
  const keep = (handle) => {
    handles.push(handle);
    return handle;
  };
  /**
   * What went wrong, from an error handle (or a message of ours).
   * @param {import('quickjs-emscripten-core').QuickJSHandle | string} error
   * @returns {Failure}
   */
  const failure = (error) => {
    // Every handle is disposed before the runtime, or QuickJS aborts the thread.
    if (typeof error !== 'string') keep(error);
    if (interrupted) return { error: `timed out: the transformation ran for more than ${limits.timeoutMs} ms`, kind: 'timeout' };
    let text = typeof error === 'string' ? error : describeError(error);
    if (/out of memory/i.test(text)) return { error: `out of memory: the transformation used more than ${limits.memoryBytes / 1048576} MiB`, kind: 'memory' };
    if (text.length > MAX_ERROR_CHARS) text = `${text.slice(0, MAX_ERROR_CHARS)}…`;
    return { error: text, kind: 'error' };
  };
  /** @param {import('quickjs-emscripten-core').QuickJSHandle} error */
  const describeError = (error) => {
    const text = context.callFunction(keep(context.getProp(driver, 'describe')), context.undefined, error);
    if (text.error) {
      keep(text.error);
      return 'the handler threw a value that cannot be shown';
    }
    return context.getString(keep(text.value));
  };
  /**
   * The fulfilled value of a promise (or the value itself), after the jobs it waits on.
   * @param {import('quickjs-emscripten-core').QuickJSHandle} handle
   */
  const settled = (handle) => {
    const state = context.getPromiseState(keep(handle));
    if (state.type === 'fulfilled') return state.notAPromise ? handle : keep(state.value);
    if (state.type === 'rejected') throw failure(state.error);
    const jobs = runtime.executePendingJobs();
    if (jobs.error) keep(jobs.error);
    const after = context.getPromiseState(handle);
    if (after.type === 'fulfilled') return keep(after.value);
    if (after.type === 'rejected') throw failure(after.error);
    // No timers or I/O exist, so a promise still pending now never settles.
    throw failure('the handler returned a promise that never settles');
  };

  const driver = keep(context.unwrapResult(context.evalCode(DRIVER, 'driver.js', { type: 'global', strict: true })));
  try {
    const evaluated = context.evalCode(code, 'transformation.js', { type: MODULE.test(code) ? 'module' : 'global' });
    if (evaluated.error) return failure(evaluated.error);
    const exports = settled(evaluated.value);
    let handler = context.typeof(exports) === 'object' ? keep(context.getProp(exports, 'handler')) : context.undefined;
    if (context.typeof(handler) !== 'function' && context.typeof(exports) === 'object') handler = keep(context.getProp(exports, 'default'));
    if (context.typeof(handler) !== 'function') handler = keep(context.getProp(context.global, 'handler'));
    if (context.typeof(handler) !== 'function') return failure('the code defines no handler: export function handler(webhook) { … }');
    if (!input) return { loaded: true };

    const utf8 = isUtf8(input.body);
    const body = Buffer.from(input.body.buffer, input.body.byteOffset, input.body.byteLength).toString(utf8 ? 'utf8' : 'base64');
    const made = context.callFunction(
      keep(context.getProp(driver, 'webhook')),
      context.undefined,
      keep(context.newString(input.meta)),
      keep(context.newString(body)),
      keep(context.newString(utf8 ? 'text' : 'base64')),
    );
    if (made.error) return failure(made.error);
    const called = context.callFunction(handler, context.undefined, keep(made.value));
    if (called.error) return failure(called.error);
    const out = settled(called.value);
    const finished = context.callFunction(keep(context.getProp(driver, 'finish')), context.undefined, out, keep(context.newNumber(limits.maxOutputBytes)));
    if (finished.error) return failure(finished.error);
    const text = keep(finished.value);
    // The driver returns a string unless the tenant's code replaced what it calls, which its own copies prevent.
    if (context.typeof(text) !== 'string') return failure('the transformation returned no result');
    return outputOf(JSON.parse(context.getString(text)));
  } catch (thrown) {
    if (thrown && typeof thrown === 'object' && 'kind' in thrown) return /** @type {Failure} */ (thrown);
    return failure(String(thrown));
  } finally {
    for (const handle of handles.reverse()) if ('alive' in handle ? handle.alive : true) handle.dispose();
    context.dispose();
    runtime.dispose();
  }
}

/**
 * The driver's JSON as an answer: the body encoded to bytes here, off the
 * main thread, and handed over without a copy.
 * @param {any} result
 * @returns {Output | { cancel: true } | Failure}
 */
function outputOf(result) {
  if (typeof result.error === 'string') return { error: result.error, kind: 'error' };
  if (result.cancel === true) return { cancel: true };
  const body = Buffer.from(result.body, result.kind === 'base64' ? 'base64' : 'utf8');
  if (body.length > limits.maxOutputBytes) return { error: `output too large: the payload is over the limit of ${limits.maxOutputBytes} bytes`, kind: 'error' };
  return { method: result.method, url: result.url, headers: result.headers, body: new Uint8Array(body.buffer, body.byteOffset, body.length) };
}

parentPort?.on('message', (/** @type {{ id: number, code: string, input?: Input }} */ job) => {
  const result = run(job.code, job.input);
  // A body that fills its own buffer moves to the main thread without a copy.
  const transfer = 'body' in result && result.body.byteLength === result.body.buffer.byteLength ? [/** @type {ArrayBuffer} */ (result.body.buffer)] : [];
  parentPort?.postMessage({ id: job.id, result }, transfer);
});
parentPort?.postMessage({ ready: true });
