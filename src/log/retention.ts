import { DUPLICATE_WINDOW_MS, type Log } from '../domain/types.js';
import type { RetentionStore } from '../store/store.js';
import { nowMicros } from './clock.js';

/** Messages deleted per transaction: small enough that publishes never wait long behind a clean-up. */
const STEP = 1000;

export interface RetentionLogger {
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
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

  /**
   * `lead` says whether this node should run now. Several nodes sharing a
   * database hold a lease on the job, so that it runs once across the cluster.
   */
  constructor(
    private readonly store: RetentionStore,
    private readonly intervalMs: number,
    /** How long delivery history (attempts, settled deliveries, ended tasks) is kept. */
    private readonly deliveryHistoryMs: number,
    private readonly logger: RetentionLogger,
    private readonly lead: () => Promise<boolean> = async () => true,
    /**
     * What else outlives its use, each forgetting at most `limit` rows and
     * answering how many: answers to idempotency keys past their window,
     * tokens past their expiry.
     */
    private readonly forgets: ReadonlyArray<(limit: number) => Promise<number>> = [],
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.runIfLeading()
        .catch((err) => this.logger.error({ err }, 'retention run failed'))
        .finally(() => (this.running = null));
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  private async runIfLeading(): Promise<void> {
    if (!(await this.lead())) return;
    const started = Date.now();
    await this.runOnce();
    this.logger.debug({ ms: Date.now() - started }, 'retention run');
  }

  async runOnce(): Promise<void> {
    const now = nowMicros();
    for (const log of await this.store.logsWithRetention()) {
      // One log the store cannot clean must not stop the clean-up of the others.
      try {
        for (const step of this.stepsFor(log, now)) await this.repeat(step);
      } catch (err) {
        this.logger.error({ err, logId: log.id }, 'retention of a log failed');
      }
    }
    await this.repeat(() => this.store.purgeDeleted(STEP));
    await this.repeat(() => this.store.purgeIdempotencyKeys(Date.now() - DUPLICATE_WINDOW_MS, STEP));
    await this.repeat(() => this.store.purgeDeliveryHistory(Date.now() - this.deliveryHistoryMs, STEP));
    for (const forget of this.forgets) await this.repeat(() => forget(STEP));
  }

  private stepsFor(log: Log, now: number): Array<() => Promise<number>> {
    const before = (seconds: number) => now - seconds * 1_000_000;
    const steps: Array<() => Promise<number>> = [];
    if (log.trimSeconds > 0) steps.push(() => this.store.trimByAge(log.id, before(log.trimSeconds), STEP));
    if (log.trimBytes > 0) steps.push(() => this.store.trimBySize(log.id, log.trimBytes, STEP));
    if (log.compacting) steps.push(() => this.store.compact(log.id, before(log.compactSeconds), STEP));
    if (log.expireSeconds > 0) steps.push(() => this.store.expire(log.id, before(log.expireSeconds), STEP));
    return steps;
  }

  /** Runs `step` until it deletes less than a full step, yielding between runs. */
  private async repeat(step: () => Promise<number>): Promise<void> {
    while (!this.stopped && (await step()) >= STEP) {
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}
