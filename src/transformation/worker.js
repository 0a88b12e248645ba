// @ts-check
// One sandbox thread. It is plain JavaScript, not TypeScript, because a
// worker thread loads its file directly: the compiled build runs it from
// dist/, and the tests, which run the TypeScript sources, run it from src/.
//
// Each run gets a QuickJS context of its own, made for it and disposed after
// it: a realm with its own globals and built-ins, so nothing one run leaves
// behind (globals, prototypes it changed, pending jobs) reaches the next. The
// code sees the JavaScript language and nothing else: no require or import of
// modules, no timers, network or files, no process. Its time and memory are
// bounded by QuickJS's interrupt handler and allocator limit; the pool
// (sandbox.ts) ends a thread that still does not answer in time.
import { isUtf8 } from 'node:buffer';
import { parentPort, workerData } from 'node:worker_threads';
import { DefaultIntrinsics, newQuickJSWASMModuleFromVariant } from 'quickjs-emscripten-core';

/** @typedef {import('quickjs-emscripten-core').QuickJSHandle} Handle */
/** @typedef {import('quickjs-emscripten-core').QuickJSContext} Context */
/** @typedef {import('quickjs-emscripten-core').QuickJSRuntime} Runtime */
/**
 * @typedef {{ meta: string, body: Uint8Array }} Input
 * @typedef {{ method: unknown, url: unknown, headers: Array<[string, string]>, body: Uint8Array }} Output
 * @typedef {{ error: string, kind: 'timeout' | 'memory' | 'error' }} Failure
 */

/** @type {{ timeoutMs: number, memoryBytes: number, maxOutputBytes: number }} */
const limits = workerData;
/** Native stack for the code: deep recursion ends in a RangeError, not a crash of the thread. */
const STACK_BYTES = 256 * 1024;
/** Longest error text kept for an attempt record. */
const MAX_ERROR_CHARS = 1000;
/** The longest result text read out of the sandbox: a payload at the limit, escaped, with room for the rest. */
const MAX_RESULT_CHARS = limits.maxOutputBytes * 6 + 65_536;
/**
 * Typed arrays are left out: transformations work on JSON and text, and the
 * typed arrays are a third of the cost of a new context.
 */
const INTRINSICS = { ...DefaultIntrinsics, TypedArrays: false };

// Evaluated in each context before the tenant's code, so it holds the real
// JSON whatever that code does to the globals. It builds the webhook, and
// gives back what the handler returned as one JSON string, the only thing
// that leaves the sandbox; it is checked here, outside. Kept this small on
// purpose: it is compiled once per run.
const DRIVER = `(() => {
  const { parse, stringify } = JSON;
  const E = Error;
  return [
    (meta, body, text) => {
      const webhook = parse(meta);
      webhook.payload = body;
      if (!text) webhook.payloadEncoding = 'base64';
      else if (body[0] === '{' || body[0] === '[') {
        try { webhook.payload = parse(body); } catch {}
      }
      webhook.cancel = false;
      return webhook;
    },
    (out, max) => (typeof out?.payload === 'string' && out.payload.length > max ? null : stringify(out)),
    (error) => {
      try { return error instanceof E ? error.name + ': ' + error.message : 'the handler threw ' + error; } catch { return 'the handler threw a value that cannot be shown'; }
    },
  ];
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
 * The runtime runs one context at a time; it is made afresh after a run that
 * failed, in case what failed left it short of memory. The next run's context
 * is made while the thread would otherwise wait: a run then starts with it.
 */
let deadline = 0;
let interrupted = false;
/** @type {Runtime | null} */
let runtime = null;
/** @type {Context | null} */
let spare = null;

function newRuntime() {
  const made = quickjs.newRuntime();
  made.setInterruptHandler(() => {
    interrupted = performance.now() > deadline;
    return interrupted;
  });
  made.setMemoryLimit(limits.memoryBytes);
  made.setMaxStackSize(STACK_BYTES);
  return made;
}

/** A fresh context, the spare one if it is ready. */
function takeContext() {
  runtime ??= newRuntime();
  const context = spare ?? runtime.newContext({ intrinsics: INTRINSICS });
  spare = null;
  return context;
}

/**
 * Runs `code` on one webhook, or, without one, only loads it to see that it
 * has a handler.
 * @param {string} code
 * @param {Input | undefined} input
 * @returns {Output | { cancel: true } | Failure | { loaded: true }}
 */
function run(code, input) {
  interrupted = false;
  deadline = performance.now() + limits.timeoutMs;
  const context = takeContext();
  /** @type {Handle[]} */
  const handles = [];
  /** @param {Handle} handle */
  const keep = (handle) => {
    handles.push(handle);
    return handle;
  };
  const driver = keep(context.unwrapResult(context.evalCode(DRIVER, 'driver.js', { type: 'global' })));
  const makeWebhook = keep(context.getProp(driver, 0));
  const serialize = keep(context.getProp(driver, 1));
  const describe = keep(context.getProp(driver, 2));
  /**
   * What went wrong, from an error handle (or a message of ours).
   * @param {Handle | string} error
   * @returns {Failure}
   */
  const failure = (error) => {
    // Every handle is disposed before its context, or QuickJS aborts the thread.
    if (typeof error !== 'string') keep(error);
    if (interrupted) return { error: `timed out: the transformation ran for more than ${limits.timeoutMs} ms`, kind: 'timeout' };
    let text = typeof error === 'string' ? error : stringOf(context.callFunction(describe, context.undefined, error));
    if (/out of memory/i.test(text)) return { error: `out of memory: the transformation used more than ${limits.memoryBytes / 1048576} MiB`, kind: 'memory' };
    if (text.length > MAX_ERROR_CHARS) text = `${text.slice(0, MAX_ERROR_CHARS)}…`;
    return { error: text, kind: 'error' };
  };
  /**
   * A string the sandbox gave back, or a stand-in when it gave none.
   * @param {ReturnType<Context['callFunction']>} result
   */
  const stringOf = (result) => {
    if (result.error) {
      keep(result.error);
      return 'the handler threw a value that cannot be shown';
    }
    const handle = keep(result.value);
    return context.typeof(handle) === 'string' ? context.getString(handle) : 'the handler threw a value that cannot be shown';
  };
  /**
   * The fulfilled value of a promise (or the value itself), after the jobs it waits on.
   * @param {Handle} handle
   */
  const settled = (handle) => {
    const state = context.getPromiseState(keep(handle));
    if (state.type === 'fulfilled') return state.notAPromise ? handle : keep(state.value);
    if (state.type === 'rejected') throw failure(state.error);
    const jobs = runtime?.executePendingJobs();
    if (jobs?.error) keep(jobs.error);
    const after = context.getPromiseState(handle);
    if (after.type === 'fulfilled') return keep(after.value);
    if (after.type === 'rejected') throw failure(after.error);
    // No timers or I/O exist, so a promise still pending now never settles.
    throw failure('the handler returned a promise that never settles');
  };

  let failed = true;
  try {
    const evaluated = context.evalCode(code, 'transformation.js', { type: MODULE.test(code) ? 'module' : 'global' });
    if (evaluated.error) return failure(evaluated.error);
    const exports = settled(evaluated.value);
    let handler = context.typeof(exports) === 'object' ? keep(context.getProp(exports, 'handler')) : context.undefined;
    if (context.typeof(handler) !== 'function' && context.typeof(exports) === 'object') handler = keep(context.getProp(exports, 'default'));
    if (context.typeof(handler) !== 'function') handler = keep(context.getProp(context.global, 'handler'));
    if (context.typeof(handler) !== 'function') return failure('the code defines no handler: export function handler(webhook) { … }');
    if (!input) {
      failed = false;
      return { loaded: true };
    }

    const text = isUtf8(input.body);
    const body = Buffer.from(input.body.buffer, input.body.byteOffset, input.body.byteLength).toString(text ? 'utf8' : 'base64');
    const made = context.callFunction(
      makeWebhook,
      context.undefined,
      keep(context.newString(input.meta)),
      keep(context.newString(body)),
      text ? context.true : context.false,
    );
    if (made.error) return failure(made.error);
    const called = context.callFunction(handler, context.undefined, keep(made.value));
    if (called.error) return failure(called.error);
    const serialized = context.callFunction(serialize, context.undefined, settled(called.value), keep(context.newNumber(limits.maxOutputBytes)));
    if (serialized.error) return failure(serialized.error);
    const json = keep(serialized.value);
    if (context.typeof(json) === 'object') return failure(tooLarge());
    if (context.typeof(json) !== 'string') return failure('the handler must return the webhook object (or set webhook.cancel = true and return it)');
    // Measured before it is copied out: a run may build a string as large as its memory allows.
    if (context.getNumber(keep(context.getProp(json, 'length'))) > MAX_RESULT_CHARS) return failure(tooLarge());
    const result = outputOf(JSON.parse(context.getString(json)));
    failed = 'error' in result;
    return result;
  } catch (thrown) {
    if (thrown && typeof thrown === 'object' && 'kind' in thrown) return /** @type {Failure} */ (thrown);
    return failure(String(thrown));
  } finally {
    for (const handle of handles.reverse()) if (handle.alive) handle.dispose();
    context.dispose();
    if (failed) {
      runtime?.dispose();
      runtime = null;
    }
  }
}

const tooLarge = () => `output too large: the payload is over the limit of ${limits.maxOutputBytes} bytes`;

/**
 * Checks the handler's result, parsed from its JSON here (JSON.parse makes
 * plain data: a `__proto__` in it is an own property like any other), and
 * encodes the body to bytes off the main thread.
 * @param {any} out
 * @returns {Output | { cancel: true } | Failure}
 */
function outputOf(out) {
  const error = (/** @type {string} */ text) => ({ error: text, kind: /** @type {const} */ ('error') });
  if (out === null || typeof out !== 'object' || Array.isArray(out))
    return error('the handler must return the webhook object (or set webhook.cancel = true and return it)');
  if (out.cancel === true) return { cancel: true };
  const { headers, payload } = out;
  if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) return error('webhook.headers must be an object of header names to strings');
  /** @type {Array<[string, string]>} */
  const list = [];
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string') return error(`webhook.headers[${JSON.stringify(name)}] must be a string`);
    list.push([name, value]);
  }
  if (payload === undefined) return error('webhook.payload must be JSON or a string');
  const body =
    typeof payload === 'string' ? Buffer.from(payload, out.payloadEncoding === 'base64' ? 'base64' : 'utf8') : Buffer.from(JSON.stringify(payload), 'utf8');
  if (body.length > limits.maxOutputBytes) return error(tooLarge());
  return { method: out.method, url: out.url, headers: list, body: new Uint8Array(body.buffer, body.byteOffset, body.length) };
}

parentPort?.on('message', (/** @type {{ id: number, code: string, input?: Input }} */ job) => {
  const result = run(job.code, job.input);
  // A body that fills its own buffer moves to the main thread without a copy.
  const transfer = 'body' in result && result.body.byteLength === result.body.buffer.byteLength ? [/** @type {ArrayBuffer} */ (result.body.buffer)] : [];
  parentPort?.postMessage({ id: job.id, result }, transfer);
  // The next run's context, made now rather than when that run comes.
  setImmediate(() => {
    runtime ??= newRuntime();
    spare ??= runtime.newContext({ intrinsics: INTRINSICS });
  });
});
parentPort?.postMessage({ ready: true });
