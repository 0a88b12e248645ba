import { fail } from '../domain/errors.js';
import type { NewMessage } from '../domain/types.js';
import type { AppendOutcome, AppendRequest, MessageStore } from '../store/store.js';
import { nowMicros } from './clock.js';
import type { LogNotifier } from './notifier.js';

interface Pending {
  request: AppendRequest;
  resolve: (outcome: AppendOutcome) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit. Publish requests that arrive while the event loop is busy are
 * appended together in one transaction, so one fsync acknowledges many
 * requests. A request's promise resolves only after its transaction is
 * durable, which is what lets a 2xx mean "committed".
 *
 * Up to `inFlight` groups commit at once (the store says how many pay off):
 * the next group is appended while the disk still flushes the last one, so
 * the event loop never idles on the disk. Beyond that, the next group gathers
 * every request that arrives until a commit finishes. The store keeps appends
 * in order.
 */
export class Publisher {
  private queue: Pending[] = [];
  private scheduled = false;
  private readonly flushing = new Set<Promise<void>>();

  constructor(
    private readonly store: Pick<MessageStore, 'append'>,
    private readonly notifier: LogNotifier,
    private readonly inFlight = Infinity,
  ) {}

  /** Appends `messages` to the log and resolves with the log's next offset once committed. */
  async publish(logId: string, messages: NewMessage[]): Promise<number> {
    const outcome = await this.append({ logId, messages });
    return 'nextOffset' in outcome ? outcome.nextOffset : fail('internal', 'an append without idempotency key was refused as a duplicate');
  }

  /**
   * Appends unless `idempotency.key` was appended in its scope since
   * `idempotency.since`; resolves with the next offset, or null for a duplicate.
   */
  async publishOnce(logId: string, messages: NewMessage[], idempotency: NonNullable<AppendRequest['idempotency']>): Promise<number | null> {
    const outcome = await this.append({ logId, messages, idempotency });
    return 'nextOffset' in outcome ? outcome.nextOffset : null;
  }

  private async append(request: AppendRequest): Promise<{ nextOffset: number } | { duplicate: true }> {
    const outcome = await new Promise<AppendOutcome>((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.schedule();
    });
    if ('logMissing' in outcome) fail('log_not_found', `log '${request.logId}' does not exist`);
    return outcome;
  }

  /** Resolves when everything queued so far is committed (used at shutdown). */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.flushing.size > 0) {
      await (this.flushing.size > 0 ? Promise.all(this.flushing) : new Promise((resolve) => setImmediate(resolve)));
    }
  }

  private schedule(): void {
    if (this.scheduled || this.flushing.size >= this.inFlight) return;
    this.scheduled = true;
    // setImmediate runs after the current I/O phase, so every request parsed
    // in this turn of the event loop joins the same transaction.
    setImmediate(() => {
      this.scheduled = false;
      const flush = this.flush().finally(() => {
        this.flushing.delete(flush);
        if (this.queue.length > 0) this.schedule();
      });
      this.flushing.add(flush);
    });
  }

  private async flush(): Promise<void> {
    const group = this.queue;
    this.queue = [];
    let outcomes: AppendOutcome[];
    try {
      outcomes = await this.store.append(
        group.map((p) => p.request),
        nowMicros(),
      );
    } catch (err) {
      for (const pending of group) pending.reject(err);
      return;
    }
    const grown = new Set<string>();
    group.forEach((pending, i) => {
      const outcome = outcomes[i]!;
      if ('nextOffset' in outcome && pending.request.messages.length > 0) grown.add(pending.request.logId);
      pending.resolve(outcome);
    });
    for (const logId of grown) this.notifier.notify(logId);
  }
}
