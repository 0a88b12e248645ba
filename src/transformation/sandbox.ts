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
}

/** Why a run gave nothing to send: its time or memory ran out, or the code failed. */
export interface SandboxFailure {
  error: string;
  kind: 'timeout' | 'memory' | 'error';
}

export type SandboxResult = SandboxOutput | { cancel: true } | SandboxFailure;

/**
 * A thread gets this much longer than a run's limit to answer before it is
 * ended. QuickJS checks the time between instructions; a single built-in call
 * on a large value (a sort, a regular expression) may run past it, and a
 * thread stuck there is replaced.
 */
const GRACE_MS = 1_000;
/** Runs waiting for a thread at most: past it, a run fails at once rather than waiting behind them all. */
const MAX_WAITING = 10_000;
/** The sandbox thread's own JavaScript heap; QuickJS's memory is apart from it, bounded per run. */
const THREAD_HEAP_MB = 64;

interface Job {
  code: string;
  input?: SandboxInput;
  resolve(result: SandboxResult | { loaded: true }): void;
}

interface Thread {
  worker: Worker;
  ready: boolean;
  job: Job | null;
  timer: NodeJS.Timeout | null;
}

/**
 * Runs tenants' transformation code in QuickJS (WebAssembly) on threads of
 * their own (worker.js), so that a run, hostile or slow, never holds up the
 * event loop that serves requests and deliveries. Threads start on first use.
 * Runs queue in order for the next free thread; a thread that does not
 * answer in time is ended and replaced.
 */
export class Sandbox {
  private readonly threads: Thread[] = [];
  private readonly waiting: Job[] = [];
  private nextId = 0;
  private closed = false;

  constructor(private readonly options: SandboxOptions) {}

  /** Runs `code`'s handler on one webhook. */
  run(code: string, input: SandboxInput): Promise<SandboxResult> {
    return this.submit(code, input) as Promise<SandboxResult>;
  }

  /** Loads `code` without running its handler: a failure when it does not compile, throws at load, or has no handler. */
  async load(code: string): Promise<SandboxFailure | undefined> {
    const result = await this.submit(code);
    return 'error' in result ? result : undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.waiting.splice(0)) job.resolve(SHUT_DOWN);
    await Promise.all(this.threads.map((thread) => this.end(thread)));
  }

  private submit(code: string, input?: SandboxInput): Promise<SandboxResult | { loaded: true }> {
    if (this.closed) return Promise.resolve(SHUT_DOWN);
    if (this.waiting.length >= MAX_WAITING) return Promise.resolve({ error: 'the sandbox is busy: too many transformations are waiting', kind: 'error' });
    return new Promise((resolve) => {
      this.waiting.push({ code, input, resolve });
      if (this.threads.length < this.options.threads) this.spawn();
      this.dispatch();
    });
  }

  private spawn(): void {
    const { timeoutMs, memoryBytes, maxOutputBytes } = this.options;
    const worker = new Worker(new URL('./worker.js', import.meta.url), {
      workerData: { timeoutMs, memoryBytes, maxOutputBytes },
      resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB },
    });
    const thread: Thread = { worker, ready: false, job: null, timer: null };
    this.threads.push(thread);
    worker.on('message', (message: { ready?: true; id?: number; result?: SandboxResult | { loaded: true } }) => {
      if (message.ready) thread.ready = true;
      else if (thread.job && message.result) this.settle(thread, revive(message.result));
      this.dispatch();
      // Idle threads must not keep a finished process alive; one starting or running a job must.
      if (!thread.job) worker.unref();
    });
    let failure = '';
    worker.on('error', (err) => {
      failure = err.message;
    });
    // A thread that crashed (or was ended) fails its run and makes way for a new one. One that
    // could not even start (its module is missing, say) fails every waiting run instead: starting
    // another at once would fail the same way, over and over.
    worker.once('exit', () => {
      this.remove(thread);
      if (thread.job) this.settle(thread, { error: 'the sandbox failed while running the transformation', kind: 'error' });
      if (!thread.ready) {
        for (const job of this.waiting.splice(0)) job.resolve({ error: `the sandbox could not start: ${failure || 'its thread exited'}`, kind: 'error' });
      } else if (!this.closed && this.waiting.length > 0) {
        this.spawn();
        this.dispatch();
      }
    });
  }

  private dispatch(): void {
    for (const thread of this.threads) {
      if (!thread.ready || thread.job) continue;
      const job = this.waiting.shift();
      if (!job) return;
      thread.job = job;
      thread.timer = setTimeout(() => {
        this.settle(thread, { error: `timed out: the transformation ran for more than ${this.options.timeoutMs} ms`, kind: 'timeout' });
        void this.end(thread);
      }, this.options.timeoutMs + GRACE_MS);
      thread.worker.postMessage({ id: this.nextId++, code: job.code, input: job.input });
    }
  }

  private settle(thread: Thread, result: SandboxResult | { loaded: true }): void {
    const job = thread.job;
    if (!job) return;
    thread.job = null;
    if (thread.timer) clearTimeout(thread.timer);
    thread.timer = null;
    job.resolve(result);
  }

  private remove(thread: Thread): void {
    const index = this.threads.indexOf(thread);
    if (index >= 0) this.threads.splice(index, 1);
  }

  private async end(thread: Thread): Promise<void> {
    this.remove(thread);
    await thread.worker.terminate();
  }
}

const SHUT_DOWN: SandboxFailure = { error: 'the server is shutting down', kind: 'error' };

/** The body crosses threads as a Uint8Array: a Buffer again here. */
function revive(result: SandboxResult | { loaded: true }): SandboxResult | { loaded: true } {
  if (!('body' in result)) return result;
  const { body } = result;
  return { ...result, body: Buffer.from(body.buffer, body.byteOffset, body.byteLength) };
}
