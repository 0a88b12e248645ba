import { DUPLICATE_WINDOW_MS, type Log } from '../domain/types.js';
import type { RetentionStore } from '../store/store.js';
import { nowMicros } from './clock.js';

/** Messages deleted per transaction: small enough that publishes never wait long behind a clean-up. */
const STEP = 1000;

/** What retention deletes, one kind per step of the job. */
export type RetentionKind =
  | 'trimmed_by_age'
  | 'trimmed_by_size'
  | 'compacted'
  | 'expired'
  | 'deleted_log_messages'
  | 'idempotency_claims'
  | 'delivery_history'
  | 'idempotency_answers'
  | 'expired_tokens'
  | 'events';

/** Another clean-up the job runs: forgets at most `limit` rows and answers how many. */
export interface RetentionStep {
  kind: RetentionKind;
  forget: (limit: number) => Promise<number>;
}

/** Where the rows each step deleted are counted: the metrics. */
export interface RetentionRecorder {
  retained(kind: RetentionKind, rows: number): void;
}

export interface RetentionLogger {
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface RetentionOptions {
  store: RetentionStore;
  intervalMs: number;
  /** How long delivery history (attempts, settled deliveries, ended tasks) is kept. */
  deliveryHistoryMs: number;
  logger: RetentionLogger;
  /**
   * Whether this node should run now; always, unless given. Several nodes
   * sharing a database hold a lease on the job, so that it runs once across the cluster.
   */
  lead?: () => Promise<boolean>;
  /** What else outlives its use: answers to idempotency keys past their window, tokens past their expiry; none unless given. */
  steps?: readonly RetentionStep[];
  recorder?: RetentionRecorder;
}

/**
 * The background job that enforces each log's retention settings, purges
 * the messages of deleted logs, and forgets idempotency keys past their
 * window and delivery history past its age. Runs never overlap; each works in small steps and yields to the
 * event loop between them.
 */
export class RetentionJob {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private leading = false;

  constructor(private readonly options: RetentionOptions) {}

  /** Whether this node ran the job last time it was due (it holds the job's lease); false once stopped, or when asking failed. */
  get isLeading(): boolean {
    return this.leading;
  }

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.runIfLeading()
        .catch((err) => this.options.logger.error({ err }, 'retention run failed'))
        .finally(() => (this.running = null));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
    this.leading = false;
  }

  private async runIfLeading(): Promise<void> {
    // Unknown until the lease answers: a failed ask must not leave an old "yes" standing.
    this.leading = false;
    this.leading = (await this.options.lead?.()) ?? true;
    if (!this.leading) return;
    const started = Date.now();
    await this.runOnce();
    this.options.logger.debug({ ms: Date.now() - started }, 'retention run');
  }

  async runOnce(): Promise<void> {
    const { store, deliveryHistoryMs, logger, steps = [] } = this.options;
    const now = nowMicros();
    for (const log of await store.logsWithRetention()) {
      // One log the store cannot clean must not stop the clean-up of the others.
      try {
        for (const [kind, step] of this.stepsFor(log, now)) await this.repeat(kind, step);
      } catch (err) {
        logger.error({ err, logId: log.id }, 'retention of a log failed');
      }
    }
    await this.repeat('deleted_log_messages', () => store.purgeDeleted(STEP));
    await this.repeat('idempotency_claims', () => store.purgeIdempotencyKeys(Date.now() - DUPLICATE_WINDOW_MS, STEP));
    await this.repeat('delivery_history', () => store.purgeDeliveryHistory(Date.now() - deliveryHistoryMs, STEP));
    for (const { kind, forget } of steps) await this.repeat(kind, () => forget(STEP));
  }

  private stepsFor(log: Log, now: number): Array<[RetentionKind, () => Promise<number>]> {
    const { store } = this.options;
    const before = (seconds: number) => now - seconds * 1_000_000;
    const steps: Array<[RetentionKind, () => Promise<number>]> = [];
    if (log.trimSeconds > 0) steps.push(['trimmed_by_age', () => store.trimByAge(log.id, before(log.trimSeconds), STEP)]);
    if (log.trimBytes > 0) steps.push(['trimmed_by_size', () => store.trimBySize(log.id, log.trimBytes, STEP)]);
    if (log.compacting) steps.push(['compacted', () => store.compact(log.id, before(log.compactSeconds), STEP)]);
    if (log.expireSeconds > 0) steps.push(['expired', () => store.expire(log.id, before(log.expireSeconds), STEP)]);
    return steps;
  }

  /** Runs `step` until it deletes less than a full step, yielding between runs, and counts what it deleted. */
  private async repeat(kind: RetentionKind, step: () => Promise<number>): Promise<void> {
    while (!this.stopped) {
      const deleted = await step();
      this.options.recorder?.retained(kind, deleted);
      if (deleted < STEP) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}
