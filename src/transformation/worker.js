// @ts-check
// One sandbox thread. It is plain JavaScript, not TypeScript, because a
// worker thread loads its file directly: the compiled build runs it from
// dist/, and the tests, which run the TypeScript sources, run it from src/.
//
// Code runs in a realm: a QuickJS runtime and context of its own, with
// JavaScript's built-ins and nothing else (no require or import of modules,
// no timers, network, files or process), bounded in time by the interrupt
// handler and in memory by the allocator's limit. The pool (sandbox.ts) ends a
// thread that still does not answer in time.
//
// Runs stay apart. A realm serves one destination's code only. Before any
// code runs in it, its built-ins and global object are frozen, and each run
// evaluates the code afresh (a new module instance, or a new function scope
// for a script), so nothing one run does (globals, changed prototypes,
// variables at the top of the code) reaches the next. A realm is kept for the
// next runs of the same code, since making one costs more than the run
// itself, and is made afresh after a failed run, after REALM_RUNS runs, or
// when its code changes.
import { isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { DefaultIntrinsics, newQuickJSWASMModuleFromVariant } from 'quickjs-emscripten-core';

/** @typedef {import('quickjs-emscripten-core').QuickJSHandle} Handle */
/** @typedef {import('quickjs-emscripten-core').QuickJSContext} Context */
/** @typedef {import('quickjs-emscripten-core').QuickJSRuntime} Runtime */
/**
 * @typedef {{ meta: string, body: Uint8Array }} Input
 * @typedef {{ method: unknown, url: unknown, headers: Array<[string, string]>, body: Uint8Array, json: boolean }} Output
 * @typedef {{ error: string, kind: 'timeout' | 'memory' | 'error' }} Failure
 */

/** @type {{ timeoutMs: number, memoryBytes: number, maxOutputBytes: number, running: SharedArrayBuffer }} */
const limits = workerData;
/** The sequence number of the run in progress, read by the pool when the thread does not answer in time. */
const running = new Int32Array(limits.running);
/** Native stack for the code: deep recursion ends in a RangeError, not a crash of the thread. */
const STACK_BYTES = 256 * 1024;
/** Runs a realm serves before it is made afresh: each leaves its module record behind. */
const REALM_RUNS = 500;
/**
 * Realms a thread keeps, the most recently used; one per destination, about
 * 150 KiB each when new. Making one costs about 3.4 ms, freezing its built-ins most of it.
 */
const MAX_REALMS = 256;
/**
 * Memory all kept realms of a thread may hold, as last measured. Each run
 * leaves its module instance in its realm, with what the code made at its
 * top level; a realm that grows past half its run's limit is made afresh.
 */
const KEPT_BYTES = 128 * 1024 * 1024;
/** Longest error text kept for an attempt record. */
const MAX_ERROR_CHARS = 1000;
/** The longest result text read out of the sandbox: a payload at the limit, escaped, with room for the rest. */
const MAX_RESULT_CHARS = limits.maxOutputBytes * 6 + 65_536;
/**
 * Typed arrays are left out: transformations work on JSON and text, and the
 * typed arrays are a third of the cost of a new context.
 */
const INTRINSICS = { ...DefaultIntrinsics, TypedArrays: false };

// Evaluated in each realm before the tenant's code, so it holds the real JSON
// whatever that code does. It builds the webhook, and gives back what the
// handler returned as one JSON string, the only thing that leaves the
// sandbox; it is checked here, outside.
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
      try {
        if (!(error instanceof E)) return 'the handler threw ' + error;
        return error.name + ': ' + error.message + '\\u0001' + (typeof error.stack === 'string' ? error.stack : '');
      } catch { return 'the handler threw a value that cannot be shown'; }
    },
  ];
})()`;

// Freezes every built-in reachable from the global object, and the global
// object itself, so that no run can leave state in them for the next. A few
// properties that code assigns on its own objects (an error's name, a
// toString) become accessors whose setter gives the object an own property:
// on a frozen prototype, a plain assignment would fail. WeakRef and
// FinalizationRegistry go: their callbacks could run during a later run.
const HARDEN = `(() => {
  const { freeze, getPrototypeOf, getOwnPropertyDescriptor, getOwnPropertyDescriptors, defineProperty } = Object;
  const ownKeys = Reflect.ownKeys;
  delete globalThis.WeakRef;
  delete globalThis.FinalizationRegistry;
  const assignable = (proto, name) => {
    const found = getOwnPropertyDescriptor(proto, name);
    if (!found || !('value' in found)) return;
    const value = found.value;
    defineProperty(proto, name, {
      get() { return value; },
      set(given) {
        if (this === proto) throw new TypeError('the built-ins are frozen');
        defineProperty(this, name, { value: given, writable: true, enumerable: true, configurable: true });
      },
      enumerable: found.enumerable,
      configurable: false,
    });
  };
  for (const name of ['constructor', 'toString', 'toLocaleString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', 'propertyIsEnumerable']) assignable(Object.prototype, name);
  for (const error of [Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError, AggregateError, InternalError]) {
    if (typeof error !== 'function') continue;
    for (const name of ['constructor', 'name', 'message', 'toString']) assignable(error.prototype, name);
  }
  assignable(Function.prototype, 'toString');
  const hidden = [
    getPrototypeOf(function* () {}),
    getPrototypeOf(async function () {}),
    getPrototypeOf(async function* () {}),
    getPrototypeOf((function* () {})()),
    getPrototypeOf([][Symbol.iterator]()),
    getPrototypeOf(new Map()[Symbol.iterator]()),
    getPrototypeOf(new Set()[Symbol.iterator]()),
    getPrototypeOf(''[Symbol.iterator]()),
    getPrototypeOf('a'.matchAll(/a/g)),
  ];
  // Iterator helpers' own prototypes, where QuickJS has them.
  try { hidden.push(getPrototypeOf([].values().map((x) => x))); } catch {}
  try { hidden.push(getPrototypeOf(Iterator.from({ next() { return { done: true }; } }))); } catch {}
  const seen = new Set();
  const todo = [globalThis, ...hidden];
  while (todo.length > 0) {
    const value = todo.pop();
    if (value === null || (typeof value !== 'object' && typeof value !== 'function') || seen.has(value)) continue;
    seen.add(value);
    freeze(value);
    todo.push(getPrototypeOf(value));
    const descriptors = getOwnPropertyDescriptors(value);
    for (const key of ownKeys(descriptors)) todo.push(descriptors[key].value, descriptors[key].get, descriptors[key].set);
  }
})()`;

/**
 * Code with an import or export statement is a module, whose handler is
 * exported; any other code is a script that declares a global handler, as
 * Svix's transformations do. (QuickJS's own guess looks at the first
 * statement only.)
 */
const MODULE = /^\s*(export|import)\b/m;

const quickjs = await newQuickJSWASMModuleFromVariant(import('@jitl/quickjs-wasmfile-release-sync'));

/** When the run in progress must stop; none while no tenant code runs. */
let deadline = Number.POSITIVE_INFINITY;
let interrupted = false;

/**
 * @typedef {{ runtime: Runtime, context: Context, makeWebhook: Handle, serialize: Handle, describe: Handle, code: string, runs: number, bytes: number }} Realm
 */

/** @type {Map<string, Realm>} Realms by destination, least recently used first. */
const realms = new Map();
/** Module names are unguessable: a run's import() of a name that earlier runs used would reach their module instances. */
const modulePrefix = () => `transformation-${randomBytes(12).toString('hex')}`;

/** A new realm for `code`: its driver evaluated, then its built-ins frozen. */
function newRealm(/** @type {string} */ code) {
  const runtime = quickjs.newRuntime();
  runtime.setInterruptHandler(() => {
    interrupted = performance.now() > deadline;
    return interrupted;
  });
  runtime.setMemoryLimit(limits.memoryBytes);
  runtime.setMaxStackSize(STACK_BYTES);
  const context = runtime.newContext({ intrinsics: INTRINSICS });
  /** @type {Handle[]} */
  const made = [];
  try {
    const driver = context.unwrapResult(context.evalCode(DRIVER, 'driver.js', { type: 'global' }));
    made.push(driver);
    const part = (/** @type {number} */ i) => {
      const handle = context.getProp(driver, i);
      made.push(handle);
      return handle;
    };
    const realm = { runtime, context, makeWebhook: part(0), serialize: part(1), describe: part(2), code, runs: 0, bytes: 0 };
    context.unwrapResult(context.evalCode(HARDEN, 'harden.js', { type: 'global' })).dispose();
    driver.dispose();
    return realm;
  } catch (err) {
    // Out of memory as it froze the built-ins (a limit set very low), say: nothing of it is kept.
    for (const handle of made) if (handle.alive) handle.dispose();
    context.dispose();
    runtime.dispose();
    throw err;
  }
}

function disposeRealm(/** @type {Realm} */ realm) {
  for (const handle of [realm.makeWebhook, realm.serialize, realm.describe]) handle.dispose();
  realm.context.dispose();
  realm.runtime.dispose();
}

/** The realm of `key`'s code, kept from its last run if it is still the same code; a new one without a key. */
function realmFor(/** @type {string | undefined} */ key, /** @type {string} */ code) {
  const kept = key === undefined ? undefined : realms.get(key);
  if (key !== undefined && kept) {
    realms.delete(key);
    if (kept.code === code && kept.runs < REALM_RUNS) return kept;
    disposeRealm(kept);
  }
  return newRealm(code);
}

/** How much memory a realm holds now. Measuring costs about 25 µs, so it is done after a realm's runs 1, 2, 4, … 64, then every 64th. */
function measure(/** @type {Realm} */ realm) {
  const usage = realm.runtime.computeMemoryUsage();
  const size = realm.context.getProp(usage, 'memory_used_size');
  realm.bytes = realm.context.getNumber(size);
  size.dispose();
  usage.dispose();
}

/** Keeps a realm for its destination's next run, or disposes of it. */
function release(/** @type {string | undefined} */ key, /** @type {Realm} */ realm, /** @type {boolean} */ reusable) {
  // Jobs left queued (a promise the handler did not wait for) would run during the next run.
  if (key === undefined || !reusable || realm.runtime.hasPendingJob()) return disposeRealm(realm);
  if (realm.runs % 64 === 0 || (realm.runs & (realm.runs - 1)) === 0) measure(realm);
  if (realm.bytes > limits.memoryBytes / 2) return disposeRealm(realm);
  realms.set(key, realm);
  let kept = 0;
  for (const one of realms.values()) kept += one.bytes;
  // The least recently used go first.
  for (const [oldest, realmOf] of realms) {
    if (realms.size <= MAX_REALMS && kept <= KEPT_BYTES) break;
    realms.delete(oldest);
    kept -= realmOf.bytes;
    disposeRealm(realmOf);
  }
}

/**
 * Runs `code` on one webhook, or, without one, only loads it to see that it
 * has a handler. `key` names the destination whose realm may serve it.
 * @param {string | undefined} key
 * @param {string} code
 * @param {Input | undefined} input
 * @returns {Output | { cancel: true } | Failure | { loaded: true }}
 */
function run(key, code, input) {
  const reused = key !== undefined && realms.get(key)?.code === code;
  const result = attempt(key, code, input);
  // What a realm kept from earlier runs may be what ran out: a fresh one decides.
  if (reused && 'kind' in result && result.kind === 'memory') return attempt(undefined, code, input);
  return result;
}

/**
 * One try of `run`.
 * @param {string | undefined} key
 * @param {string} code
 * @param {Input | undefined} input
 * @returns {Output | { cancel: true } | Failure | { loaded: true }}
 */
function attempt(key, code, input) {
  interrupted = false;
  // Making a realm runs only our own code; its time is not the tenant's.
  deadline = Number.POSITIVE_INFINITY;
  /** @type {Realm} */
  let realm;
  try {
    realm = realmFor(key, code);
  } catch {
    return { error: 'the sandbox could not make a realm for the transformation', kind: 'error' };
  }
  deadline = performance.now() + limits.timeoutMs;
  const { context, runtime, makeWebhook, serialize, describe } = realm;
  realm.runs++;
  /** @type {Handle[]} */
  const handles = [];
  /** @param {Handle} handle */
  const keep = (handle) => {
    handles.push(handle);
    return handle;
  };
  /**
   * What went wrong, from an error handle (or a message of ours).
   * @param {Handle | string} error
   * @returns {Failure}
   */
  const failure = (error) => {
    // Every handle is disposed before its context, or QuickJS aborts the thread.
    if (typeof error !== 'string') keep(error);
    if (interrupted) return { error: `timed out: the transformation ran for more than ${limits.timeoutMs} ms`, kind: 'timeout' };
    let text = typeof error === 'string' ? error : located(stringOf(context.callFunction(describe, context.undefined, error)), code);
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
    const jobs = runtime.executePendingJobs();
    if (jobs.error) keep(jobs.error);
    const after = context.getPromiseState(handle);
    if (after.type === 'fulfilled') return keep(after.value);
    if (after.type === 'rejected') throw failure(after.error);
    // No timers or I/O exist, so a promise still pending now never settles.
    throw failure('the handler returned a promise that never settles');
  };

  let failed = true;
  try {
    const handler = keep(load(context, code, failure, settled));
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
    // QuickJS checks the time between instructions: one long call of a built-in (a sort, a regular expression) may run past it.
    if (performance.now() > deadline) {
      interrupted = true;
      return failure('the run ran past its time');
    }
    failed = 'error' in result;
    return result;
  } catch (thrown) {
    if (thrown && typeof thrown === 'object' && 'kind' in thrown) return /** @type {Failure} */ (thrown);
    return failure(String(thrown));
  } finally {
    for (const handle of handles.reverse()) if (handle.alive) handle.dispose();
    release(key, realm, !failed);
  }
}

/**
 * Evaluates the code afresh and finds its handler: a module's `handler` or
 * default export, or a script's `handler` function. A script runs inside a
 * function of its own, whose scope is new each time: the global object is
 * frozen, so its declarations could not go there.
 * @param {Context} context
 * @param {string} code
 * @param {(error: Handle | string) => Failure} failure
 * @param {(handle: Handle) => Handle} settled
 * @returns {Handle}
 */
function load(context, code, failure, settled) {
  const module = MODULE.test(code);
  const source = module ? code : `${SCRIPT_PREFIX}${code}\n;return typeof handler === 'function' ? handler : undefined;\n})()`;
  // Each module instance needs a name of its own, or the realm would hand back the last one.
  const name = `${modulePrefix()}.js`;
  const evaluated = context.evalCode(source, name, { type: module ? 'module' : 'global' });
  if (evaluated.error) {
    // A script's syntax error is told as the script alone has it, not as the function around it does.
    const own = module ? undefined : context.evalCode(code, name, { type: 'global', compileOnly: true });
    if (own?.error) {
      evaluated.error.dispose();
      throw failure(own.error);
    }
    own?.value?.dispose();
    throw failure(evaluated.error);
  }
  const exports = settled(evaluated.value);
  if (!module) {
    if (context.typeof(exports) !== 'function') throw failure('the code defines no handler: function handler(webhook) { … }');
    return exports;
  }
  const named = context.getProp(exports, 'handler');
  if (context.typeof(named) === 'function') return named;
  named.dispose();
  const fallback = context.getProp(exports, 'default');
  if (context.typeof(fallback) === 'function') return fallback;
  fallback.dispose();
  throw failure('the code defines no handler: export function handler(webhook) { … }');
}

/** Where the code's own module or script is, in stack traces: hidden from what is shown. */
const OWN_FRAME = /transformation-[0-9a-f]+\.js:(\d+):(\d+)/;
/** Its beginning, before a script's first line: columns of that line are shown without it. */
const SCRIPT_PREFIX = '(function () {';

/**
 * An error as the attempt record shows it: its name and message, where in
 * the code it was raised, and why, when it was a write to the frozen built-ins.
 * @param {string} described what the driver said: the message, then a U+0001 and the stack
 * @param {string} code
 */
function located(described, code) {
  const [message = '', stack = ''] = described.split('\u0001');
  const where = OWN_FRAME.exec(stack) ?? OWN_FRAME.exec(message);
  const text = message.replaceAll(new RegExp(OWN_FRAME.source, 'g'), 'the code');
  const frozen = /^TypeError: .*(not extensible|read-only|read only|not configurable|cannot define)/.test(text)
    ? ' (the built-ins and the global object are frozen: a transformation may change only its own objects)'
    : '';
  if (!where) return text + frozen;
  const line = Number(where[1]);
  const column = line === 1 && !MODULE.test(code) ? Math.max(1, Number(where[2]) - SCRIPT_PREFIX.length) : Number(where[2]);
  return `${text} (line ${line}, column ${column})${frozen}`;
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
  // A buffer of its own, not a slice of Node's shared pool, so that it can move to the main thread.
  return { method: out.method, url: out.url, headers: list, body: new Uint8Array(body), json: typeof payload !== 'string' };
}

parentPort?.on('message', (/** @type {Array<{ seq: number, key?: string, code: string, input?: Input }>} */ jobs) => {
  const results = jobs.map((job) => {
    Atomics.store(running, 0, job.seq);
    return run(job.key, job.code, job.input);
  });
  // Bodies move to the main thread without a copy.
  const transfer = results.flatMap((result) => ('body' in result ? [/** @type {ArrayBuffer} */ (result.body.buffer)] : []));
  parentPort?.postMessage({ results }, transfer);
});
// WebAssembly is compiled in tiers as it runs: the first realm costs tens of
// milliseconds, which a run's time limit must not pay. One is made before
// the thread says it is ready.
disposeRealm(newRealm(''));
parentPort?.postMessage({ ready: true });
