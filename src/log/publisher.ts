import { performance } from 'node:perf_hooks';
import { checkAttributes } from '../domain/attributes.js';
import { fail, HooklogError } from '../domain/errors.js';
import type { EventRecord, NewMessage } from '../domain/types.js';
import type { AppendClaim, AppendOutcome, AppendRequest, MessageStore } from '../store/store.js';
import { nowMicros } from './clock.js';

/**
 * How far ahead of the server's clock a publisher's own message time may be.
 * Clocks differ by seconds; a time far in the future would make a message
 * look young to retention for as long.
 */
export const MAX_FUTURE_SECONDS = 300;

/**
 * Longest key, in bytes, and longest idempotency key. Keys are looked up by
 * an index, whose entries PostgreSQL limits to about 2.7 KB; a key is an
 * identifier, and far shorter in practice.
 */
export const MAX_KEY_BYTES = 1024;

/** Most messages one publish may append: a batch is one transaction, and the event loop waits for it. */
export const MAX_BATCH = 10_000;

/** Fails unless `count` messages may be published at once; a caller may ask before it decodes them. */
export function checkBatchSize(count: number): void {
  if (count > MAX_BATCH) fail('batch_too_large', `the batch holds ${count} messages; at most ${MAX_BATCH} may be published at once`);
}

/** What publishOnce did: appended from `offset` on, or nothing because claim number `claim` was held. */
export type PublishedOnce = { offset: number } | { duplicate: true; claim: number; offset: number | null };

/** What the publisher tells the metrics: messages appended to a log, and each group commit's size and time. */
export interface PublishRecorder {
  appendedTo(logId: string, messages: number): void;
  committed(requests: number, seconds: number): void;
}

const NOT_RECORDED: PublishRecorder = { appendedTo() {}, committed() {} };

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
    private readonly inFlight = Infinity,
    private readonly recorder: PublishRecorder = NOT_RECORDED,
  ) {}

  /** Appends `messages` to the log (with the record of the request they came in, if any) and resolves with the log's next offset once committed. */
  async publish(logId: string, messages: NewMessage[], event?: EventRecord): Promise<number> {
    checkBatchSize(messages.length);
    const outcome = await this.append({ logId, messages, ...(event && { event }) });
    return 'nextOffset' in outcome ? outcome.nextOffset : fail('internal', 'an append without claims was refused as a duplicate');
  }

  /**
   * Appends unless one of `claims` was claimed in its scope within its
   * window. Resolves with the offset of the first message appended, or for a
   * duplicate with the index of the first claim held and the offset of the
   * first message appended under it (null where that is not known).
   */
  async publishOnce(logId: string, messages: NewMessage[], claims: AppendClaim[], event?: EventRecord): Promise<PublishedOnce> {
    const outcome = await this.append({ logId, messages, claims, ...(event && { event }) });
    return 'nextOffset' in outcome ? { offset: outcome.nextOffset - messages.length } : outcome;
  }

  private async append(request: AppendRequest): Promise<Exclude<AppendOutcome, { logMissing: true }>> {
    check(request);
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
    await this.commit(group);
  }

  /** Appends `group` in one transaction and settles each request with its outcome. */
  private async commit(group: Pending[]): Promise<void> {
    let outcomes: AppendOutcome[];
    const started = performance.now();
    try {
      outcomes = await this.store.append(
        group.map((p) => p.request),
        nowMicros(),
      );
    } catch (err) {
      // A request the database refuses must not fail the others that share its
      // transaction: unless the database itself is away, each is tried alone.
      const alone = group.length > 1 && !(err instanceof HooklogError && err.entry.kind === 'unavailable');
      if (!alone) {
        for (const pending of group) pending.reject(err);
        return;
      }
      for (const pending of group) await this.commit([pending]);
      return;
    }
    this.recorder.committed(group.length, (performance.now() - started) / 1000);
    // The store announced the grown logs after its commit; consumers waiting on them are awake.
    for (const [i, pending] of group.entries()) {
      const outcome = outcomes[i]!;
      if ('nextOffset' in outcome) this.recorder.appendedTo(pending.request.logId, pending.request.messages.length);
      pending.resolve(outcome);
    }
  }
}

/** What no backend may be handed: keys over MAX_KEY_BYTES, times far ahead, attributes past their limits, claimed keys that are not text. */
function check({ messages, claims }: AppendRequest): void {
  const latest = nowMicros() + MAX_FUTURE_SECONDS * 1_000_000;
  messages.forEach((message, i) => {
    if (message.key !== null && message.key.length > MAX_KEY_BYTES) {
      fail('field_invalid', `the key of message ${i} is ${message.key.length} bytes; at most ${MAX_KEY_BYTES} are allowed`);
    }
    if (message.time !== undefined && message.time > latest) {
      fail('field_invalid', `the time of message ${i} is more than ${MAX_FUTURE_SECONDS} s ahead of the server's clock`);
    }
    if (message.attributes) checkAttributes(message.attributes, `of message ${i}`);
  });
  if (claims?.some(({ key }) => key.includes('\0') || Buffer.byteLength(key) > MAX_KEY_BYTES)) {
    fail('field_invalid', `the idempotency key must be text of at most ${MAX_KEY_BYTES} bytes without NUL characters`);
  }
}
