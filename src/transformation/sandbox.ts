import { Worker } from 'node:worker_threads';

/** What one run of a transformation may use, whatever its code does. */
export interface SandboxLimits {
  timeoutMs: number;
  memoryBytes: number;
  /** The largest payload a run may give back, in bytes. */
  maxOutputBytes: number;
}

export interface SandboxOptions extends SandboxLimits {
  /** Threads that run transformations; each runs one at a time. */
  threads: number;
  /** Where a thread that crashed, or was ended for running past its time, is told of. */
  logger: { warn(obj: object, msg: string): void };
}

/** A run's input: the webhook's fields but the payload, as JSON, and the body as it would be sent. */
export interface SandboxInput {
  meta: string;
  body: Buffer;
}

/** What the handler gave back, unchecked: the caller decides what it may send. */
export interface SandboxOutput {
  method: unknown;
  url: unknown;
  headers: Array<[string, string]>;
  body: Buffer;
  /** Whether the body is the JSON of what the handler gave back, rather than a string it gave. */
  json: boolean;
}

/** Why a run gave nothing to send: its time or memory ran out, the code failed, or the sandbox could not run it at all. */
export interface SandboxFailure {
  error: string;
  kind: 'timeout' | 'memory' | 'error' | 'unavailable';
}

export type SandboxResult = SandboxOutput | { cancel: true } | SandboxFailure;

/**
 * A thread gets this much longer than a run's limit to answer before it is
 * ended. QuickJS checks the time between instructions; a single built-in call
 * on a large value (a sort, a regular expression) may run past it, and a
 * thread stuck there is replaced.
 */
const GRACE_MS = 250;
/** Runs waiting for a thread at most: past it, a run fails at once rather than waiting behind them all. */
const MAX_WAITING = 10_000;
/**
 * Runs handed to a thread in one message at most. A message between threads
 * costs tens of microseconds on each side, as much as a run itself: under
 * load, runs of many destinations go over together, and come back together.
 */
const MAX_BATCH = 16;
/** Batches a thread holds at once: the next waits in its queue while it runs one, so it never idles between them. */
const BATCHES_IN_FLIGHT = 2;
/** The sandbox thread's own JavaScript heap; QuickJS's memory is apart from it, bounded per run. */
const THREAD_HEAP_MB = 64;

interface Job {
  /** Numbers the runs, so that the one a stuck thread is in can be told. */
  seq: number;
  key: string | undefined;
  /** The thread that serves its destination; undefined: any. */
  slot: number | undefined;
  code: string;
  input?: SandboxInput;
  resolve(result: SandboxResult | { loaded: true }): void;
}

interface Thread {
  /** Its place among the threads, which decides the destinations it serves. */
  slot: number;
  worker: Worker;
  /** The seq of the run it is in, written by the thread itself. */
  running: Int32Array;
  ready: boolean;
  /** Being ended; its slot stays taken until it has exited, so that no second thread is started for it. */
  ending: boolean;
  /** The batches of runs handed to it, oldest first; empty while it is idle. */
  batches: Job[][];
  timer: NodeJS.Timeout | null;
}

/**
 * Runs tenants' transformation code in QuickJS (WebAssembly) on threads of
 * their own (worker.js), so that a run, hostile or slow, never holds up the
 * event loop that serves requests and deliveries. Threads start on first use.
 * Runs queue in order. A destination's runs all go to one thread, which
 * keeps its realm between them (worker.js); runs of no destination go to
 * any. A thread that does not answer in time is ended and replaced.
 */
export class Sandbox {
  private readonly threads: Array<Thread | undefined>;
  private waiting: Job[] = [];
  private nextSeq = 1;
  private closed = false;

  constructor(private readonly options: SandboxOptions) {
    this.threads = new Array(options.threads).fill(undefined);
  }

  /**
   * Runs `code`'s handler on one webhook. Runs with the same `key` (a
   * destination) and code may share a realm, made afresh between them by
   * evaluating the code again in frozen built-ins; runs without one get a
   * new realm each.
   */
  run(code: string, input: SandboxInput, key?: string): Promise<SandboxResult> {
    return this.submit(code, input, key) as Promise<SandboxResult>;
  }

  /** Loads `code` without running its handler: a failure when it does not compile, throws at load, or has no handler. */
  async load(code: string): Promise<SandboxFailure | undefined> {
    const result = await this.submit(code);
    return 'error' in result ? result : undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.waiting.splice(0)) job.resolve(SHUT_DOWN);
    await Promise.all(this.threads.map((thread) => thread && this.end(thread)));
  }

  private submit(code: string, input?: SandboxInput, key?: string): Promise<SandboxResult | { loaded: true }> {
    if (this.closed) return Promise.resolve(SHUT_DOWN);
    if (this.waiting.length >= MAX_WAITING) return Promise.resolve({ error: 'the sandbox is busy: too many transformations are waiting', kind: 'unavailable' });
    return new Promise((resolve) => {
      this.waiting.push({ seq: this.nextSeq++, key, slot: key === undefined ? undefined : slotOf(key, this.threads.length), code, input, resolve });
      for (const [slot, thread] of this.threads.entries()) if (!thread) this.spawn(slot);
      this.dispatch();
    });
  }

  private spawn(slot: number): void {
    const { timeoutMs, memoryBytes, maxOutputBytes } = this.options;
    const running = new SharedArrayBuffer(4);
    const worker = new Worker(new URL('./worker.js', import.meta.url), {
      workerData: { timeoutMs, memoryBytes, maxOutputBytes, running },
      resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB },
    });
    const thread: Thread = { slot, worker, running: new Int32Array(running), ready: false, ending: false, batches: [], timer: null };
    this.threads[slot] = thread;
    worker.on('message', (message: { ready?: true; results?: Array<SandboxResult | { loaded: true }> }) => {
      if (message.ready) thread.ready = true;
      else if (message.results) this.settle(thread, thread.batches.shift() ?? [], message.results.map(revive));
      this.dispatch();
      this.arm(thread);
    });
    let failure = '';
    worker.on('error', (err) => {
      failure = err.message;
      this.options.logger.warn({ err }, 'transformation sandbox thread failed');
    });
    // A thread that crashed (or was ended) fails its run and makes way for a new one. One that
    // could not even start (its module is missing, say) fails every waiting run instead: starting
    // another at once would fail the same way, over and over.
    worker.once('exit', () => {
      this.threads[slot] = undefined;
      if (this.closed) this.fail(thread, SHUT_DOWN);
      else this.requeue(thread, { error: 'the sandbox failed while running the transformation', kind: 'error' });
      if (!thread.ready) {
        for (const job of this.waiting.splice(0)) job.resolve({ error: `the sandbox could not start: ${failure || 'its thread exited'}`, kind: 'unavailable' });
      } else if (!this.closed && this.waiting.length > 0) {
        this.spawn(slot);
        this.dispatch();
      }
    });
  }

  private dispatch(): void {
    for (const thread of this.threads) {
      if (!thread?.ready || thread.ending) continue;
      const mine = (job: Job) => job.slot === undefined || job.slot === thread.slot;
      while (thread.batches.length < BATCHES_IN_FLIGHT) {
        const jobs: Job[] = [];
        const rest: Job[] = [];
        for (const job of this.waiting) (jobs.length < MAX_BATCH && mine(job) ? jobs : rest).push(job);
        if (jobs.length === 0) break;
        this.waiting = rest;
        thread.batches.push(jobs);
        // Bodies move to the thread without a copy: each in a buffer of its own, not a slice of Node's shared pool.
        const bodies = jobs.map((job) => job.input && new Uint8Array(job.input.body));
        thread.worker.postMessage(
          jobs.map((job, i) => ({ seq: job.seq, key: job.key, code: job.code, input: job.input && { meta: job.input.meta, body: bodies[i] } })),
          bodies.flatMap((body) => (body ? [body.buffer] : [])),
        );
        this.arm(thread);
      }
    }
  }

  /**
   * Times the thread: each run it holds has its time limit, so a thread still
   * busy past all of theirs is stuck, and is ended. An idle thread must not
   * keep a finished process alive; a busy one must.
   */
  private arm(thread: Thread): void {
    if (thread.timer) clearTimeout(thread.timer);
    thread.timer = null;
    const held = thread.batches.reduce((sum, batch) => sum + batch.length, 0);
    if (held === 0) {
      thread.worker.unref();
      return;
    }
    thread.worker.ref();
    thread.timer = setTimeout(() => this.stuck(thread), held * this.options.timeoutMs + GRACE_MS);
  }

  /**
   * Ends a thread that ran past every time limit of the runs it holds. The
   * run it is stuck in timed out; the others it held are no fault of their
   * own, and wait for the thread that replaces it.
   */
  private stuck(thread: Thread): void {
    const running = Atomics.load(thread.running, 0);
    const destination = thread.batches.flat().find((job) => job.seq === running)?.key ?? null;
    this.options.logger.warn({ webhookId: destination }, 'transformation sandbox thread ended: a run went past its time limit in one call of a built-in');
    this.requeue(thread, {
      error: `timed out: the transformation ran past its ${this.options.timeoutMs} ms in one call of a built-in, and its sandbox thread was ended`,
      kind: 'timeout',
    });
    void this.end(thread);
  }

  /** Fails the run a thread was in with `failure`, and queues again the others it held, first. */
  private requeue(thread: Thread, failure: SandboxFailure): void {
    const running = Atomics.load(thread.running, 0);
    const held = thread.batches.flat();
    thread.batches = [];
    for (const job of held.reverse()) {
      if (job.seq === running) job.resolve(failure);
      else this.waiting.unshift(job);
    }
    this.arm(thread);
  }

  private settle(thread: Thread, jobs: Job[], results: Array<SandboxResult | { loaded: true }>): void {
    for (const [i, job] of jobs.entries()) job.resolve(results[i] ?? { error: 'the sandbox gave no result', kind: 'error' });
    this.arm(thread);
  }

  /** Fails every run the thread holds. */
  private fail(thread: Thread, failure: SandboxFailure): void {
    for (const jobs of thread.batches.splice(0)) for (const job of jobs) job.resolve(failure);
    this.arm(thread);
  }

  private async end(thread: Thread): Promise<void> {
    thread.ending = true;
    await thread.worker.terminate();
  }
}

/** The thread that serves a destination: FNV-1a of its id. */
function slotOf(key: string, slots: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % slots;
}

const SHUT_DOWN: SandboxFailure = { error: 'the server is shutting down', kind: 'unavailable' };

/** The body crosses threads as a Uint8Array: a Buffer again here. */
function revive(result: SandboxResult | { loaded: true }): SandboxResult | { loaded: true } {
  if (!('body' in result)) return result;
  const { body } = result;
  return { ...result, body: Buffer.from(body.buffer, body.byteOffset, body.byteLength) };
}
