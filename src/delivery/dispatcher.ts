import type { DeliveryState, EgressWebhook, Message, ParkedRetry } from '../domain/types.js';
import type { LogNotifier } from '../log/notifier.js';
import type { ClusterStore, EgressStore, MessageStore } from '../store/store.js';
import type { OutboundResponse } from './outbound.js';
import { afterAttempt, errorOf } from './outcome.js';
import { payloadOf } from './payload.js';
import type { RetrySchedule } from './schedule.js';
import { signatureHeaders } from './signing.js';

/** Messages read from the log per batch, and at most this many bytes of them (beyond the first): lanes run by the hundred. */
const BATCH = 100;
const BATCH_BYTES = 4 * 1024 * 1024;
/** A caught-up lane re-reads its webhook at least this often, even with no news. */
const IDLE_MS = 30_000;
/** setTimeout's limit. */
const FOREVER_MS = 2 ** 31 - 1;
/** How long a lane waits after its store failed (the database is down) before it tries again. */
const STORE_RETRY_MS = 1_000;

export interface Sender {
  post(url: string, body: Buffer, headers: Record<string, string>, signal?: AbortSignal): Promise<OutboundResponse>;
}

export interface DispatcherDeps {
  store: EgressStore;
  cluster: Pick<ClusterStore, 'heartbeat' | 'leave'>;
  messages: Pick<MessageStore, 'read'>;
  notifier: LogNotifier;
  sender: Sender;
  schedule: RetrySchedule;
  logger: { error(obj: object, msg: string): void };
  /** This node's identity as a lease owner. */
  nodeId: string;
  /** How long a lease lasts unless renewed; leases are renewed three times per period. */
  leaseMs: number;
}

/**
 * Pushes logs' messages to egress webhooks. Each webhook has one lane: a loop
 * that reads from the webhook's cursor, signs and sends one message at a time,
 * records the attempt and applies the delivery rules (src/delivery/outcome.ts).
 * Lanes run concurrently and share nothing but the HTTP connection pool, so a
 * slow receiver delays only its own webhook.
 *
 * A node runs lanes only for webhooks it holds a lease on. Every third of a
 * lease period it renews them, and takes or gives back webhooks so that each
 * live worker serves its fair share. A node that dies stops renewing; its
 * webhooks are taken over once their leases expire, from their stored cursors,
 * which keeps ordered webhooks in order across nodes.
 */
export class Dispatcher {
  private readonly lanes = new Map<string, Lane>();
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private balancing: Promise<void> | null = null;
  private balanceAgain = false;
  /** Until when the leases of running lanes are known to hold; a lane sends nothing after it. */
  private leasedUntil = 0;

  constructor(private readonly deps: DispatcherDeps) {}

  async start(): Promise<void> {
    await this.balance().catch((err: unknown) => this.deps.logger.error({ err }, 'claiming webhooks failed'));
    this.timer = setInterval(() => this.rebalance(), this.deps.leaseMs / 3);
    this.timer.unref();
  }

  /** A webhook was created, changed or deleted: its lane re-reads it at once, or a node claims it. */
  changed(id: string): void {
    if (this.stopped) return;
    const lane = this.lanes.get(id);
    if (lane) lane.poke();
    else this.rebalance();
  }

  /** Changes may have been missed: every lane re-reads its webhook, and unclaimed work is claimed. */
  resync(): void {
    if (this.stopped) return;
    for (const lane of this.lanes.values()) lane.poke();
    this.rebalance();
  }

  /** Stops every lane, aborting attempts in flight, and gives up this node's leases: those messages are tried again by the next holder. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.balancing;
    await Promise.all([...this.lanes.values()].map((lane) => lane.halt()));
    await this.deps.cluster
      .leave(this.deps.nodeId)
      .catch((err: unknown) => this.deps.logger.error({ err }, 'releasing leases failed; they expire on their own'));
  }

  /** Runs `balance` now, or once more after the run in progress; runs never overlap. */
  private rebalance(): void {
    if (this.stopped) return;
    if (this.balancing) {
      this.balanceAgain = true;
      return;
    }
    this.balancing = this.balance()
      .catch((err: unknown) => this.deps.logger.error({ err }, 'renewing webhook leases failed'))
      .finally(() => {
        this.balancing = null;
        if (this.balanceAgain) {
          this.balanceAgain = false;
          this.rebalance();
        }
      });
  }

  private async balance(): Promise<void> {
    const { store, cluster, nodeId, leaseMs } = this.deps;
    const now = Date.now();
    const until = now + leaseMs;
    const workers = await cluster.heartbeat(nodeId, now, now - leaseMs);
    const held = [...this.lanes.keys()];
    const kept = new Set(await store.renew(nodeId, held, until));
    this.leasedUntil = until;
    // Another node took these over (this one failed to renew in time): stop at once.
    for (const id of held) if (!kept.has(id)) void this.lanes.get(id)?.halt();
    if (this.stopped) return;

    const share = Math.ceil((await store.countActive()) / Math.max(1, workers));
    const running = [...kept].filter((id) => this.lanes.has(id));
    if (running.length > share) {
      // Give back the excess after its lanes stopped, so that no two nodes send at once.
      const excess = running.slice(share);
      await Promise.all(excess.map((id) => this.lanes.get(id)?.halt()));
      await store.release(nodeId, excess);
    } else if (running.length < share) {
      for (const id of await store.claim(nodeId, now, until, share - running.length)) {
        if (!this.lanes.has(id) && !this.stopped)
          this.lanes.set(
            id,
            new Lane(
              id,
              this.deps,
              () => this.leasedUntil,
              () => this.exited(id),
            ),
          );
      }
    }
  }

  /** A lane ended (its webhook was deleted or deactivated, or its lease was lost): free the webhook for whoever should serve it. */
  private exited(id: string): void {
    this.lanes.delete(id);
    if (this.stopped) return;
    this.deps.store.release(this.deps.nodeId, [id]).catch((err: unknown) => this.deps.logger.error({ err, webhookId: id }, 'releasing a lease failed'));
  }
}

class Lane {
  private readonly halted = new AbortController();
  private poked = new AbortController();
  private readonly done: Promise<void>;
  /**
   * The last attempt's write. The next message is sent, and the next batch
   * read, while it commits.
   */
  private recording: Promise<void> = Promise.resolve();
  /**
   * The delivery state after the lane's last attempt, written or being
   * written. The lane goes by it rather than by the store's copy, which lags
   * while a write commits. It is dropped when the lane reads the store
   * afresh after a change or a failed write.
   */
  private own: DeliveryState | null = null;
  /** Set when an attempt could not be recorded: send nothing more until the store is read back. */
  private unrecorded = false;
  /** Signing secrets, kept until the first of them expires or the webhook changes. */
  private secrets: { values: string[]; validUntil: number } | null = null;
  /**
   * The webhook as last read. Changes reach the lane as pokes (from this
   * node's API, or other nodes' through the store's change feed), so it is
   * read again only then, or when IDLE_MS old: a turn then costs the store
   * one read of messages, not two queries.
   */
  private cached: { webhook: EgressWebhook; readAt: number } | null = null;

  constructor(
    private readonly id: string,
    private readonly deps: DispatcherDeps,
    private readonly leasedUntil: () => number,
    onExit: () => void,
  ) {
    this.done = this.run()
      .catch((err: unknown) => deps.logger.error({ err, webhookId: id }, 'delivery lane failed'))
      .then(() => this.recording)
      .finally(onExit);
  }

  poke(): void {
    this.poked.abort();
  }

  async halt(): Promise<void> {
    this.halted.abort();
    await this.done;
  }

  /** Serves the webhook until it is deleted or deactivated, or the lane is halted. */
  private async run(): Promise<void> {
    // A closed notifier means the server is going down; waiting on it would spin.
    while (!this.halted.signal.aborted && !this.deps.notifier.isClosed) {
      try {
        if (!(await this.step())) return;
      } catch (err) {
        // The store failed (the database restarts, say): the cursor there is still
        // right, so wait and carry on from it.
        this.deps.logger.error({ err, webhookId: this.id }, 'delivery paused: the store failed');
        await sleep(STORE_RETRY_MS, this.halted.signal);
      }
    }
  }

  /** One turn: read the webhook, then deliver, retry or wait. False when there is nothing left to serve. */
  private async step(): Promise<boolean> {
    const { store, messages, notifier } = this.deps;
    // Pokes so far are served by the reads just below.
    const poked = this.poked.signal.aborted;
    if (poked) {
      this.poked = new AbortController();
      this.secrets = null;
      this.cached = null;
    }
    // After a change made through the API, or a write that failed, the store's
    // copy is the truth: let the last write finish before reading it.
    if (poked || this.unrecorded) {
      await this.recording;
      this.unrecorded = false;
      this.cached = null;
      this.own = null;
    }
    if (Date.now() >= this.leasedUntil()) {
      // The lease could not be renewed (the database is unreachable): send nothing
      // until it is, since another node may take the webhook over meanwhile.
      await this.idle(STORE_RETRY_MS);
      return true;
    }
    const stored = await this.webhook();
    if (!stored) return false;
    const state = this.own ?? stored.state;
    if (!state.active) return false;
    const webhook = { ...stored, state };
    const now = Date.now();
    const parked = webhook.mode === 'parallel' ? await store.nextParked(this.id) : undefined;
    if (parked && parked.nextAttemptAt <= now) {
      await this.retryParked(webhook, parked);
      return true;
    }
    if (state.nextAttemptAt > now) {
      await this.idle(state.nextAttemptAt - now);
      return true;
    }
    // Subscribe before reading, so a message published in between still wakes us.
    const stopWaiting = new AbortController();
    const grown = notifier.subscribe(webhook.logId, IDLE_MS, AbortSignal.any([stopWaiting.signal, this.halted.signal]));
    try {
      const batch = await messages.read(webhook.logId, state.nextOffset, BATCH, { maxBytes: BATCH_BYTES });
      if (batch.length === 0) await this.idle(parked ? parked.nextAttemptAt - now : IDLE_MS, grown);
      else await this.deliverBatch(webhook, batch);
    } finally {
      stopWaiting.abort();
    }
    return true;
  }

  private async webhook(): Promise<EgressWebhook | undefined> {
    const now = Date.now();
    if (this.cached && now - this.cached.readAt < IDLE_MS) return this.cached.webhook;
    const webhook = await this.deps.store.get(this.id);
    this.cached = webhook ? { webhook, readAt: now } : null;
    return webhook;
  }

  private async deliverBatch(webhook: EgressWebhook, batch: Message[]): Promise<void> {
    let state = webhook.state;
    for (const message of batch) {
      // A change (new destination, deletion, rotation) takes effect before the next
      // message. Nothing is sent once the lease may have passed to another node.
      if (this.halted.signal.aborted || this.poked.signal.aborted || this.unrecorded) return;
      if (Date.now() >= this.leasedUntil()) return;
      state = await this.attempt(webhook, state, message, state.failures, false);
      if (!state.active || state.nextOffset <= message.offset) return;
    }
  }

  private async retryParked(webhook: EgressWebhook, parked: ParkedRetry): Promise<void> {
    const [message] = await this.deps.messages.read(webhook.logId, parked.offset, 1);
    if (!message || message.offset !== parked.offset) {
      // Retention removed it while it waited: nothing is left to deliver.
      await this.deps.store.unpark(this.id, parked.offset);
      return;
    }
    await this.attempt(webhook, webhook.state, message, parked.failures, true);
  }

  /** Sends one message, records the attempt with the new state, and returns that state. */
  private async attempt(webhook: EgressWebhook, state: DeliveryState, message: Message, failuresBefore: number, fromRetrySet: boolean): Promise<DeliveryState> {
    const { store, sender, schedule } = this.deps;
    const sentAtMs = Date.now();
    const payload = payloadOf(webhook.payload, message);
    const secrets = await this.signingSecrets(sentAtMs);
    // Custom headers may replace the defaults, never the signature (custom-headers.ts refuses its names).
    const headers = {
      'content-type': payload.contentType,
      'user-agent': 'hooklog',
      ...webhook.headers,
      ...signatureHeaders(webhook.signing, {
        secrets,
        messageId: `${webhook.logId}_${message.offset}`,
        timestampSeconds: Math.floor(sentAtMs / 1000),
        body: payload.body,
      }),
    };
    const response = await sender.post(webhook.destination, payload.body, headers, this.halted.signal);
    const endedAtMs = Date.now();
    // Cut short by our own shutdown: not the destination's failure, so no attempt
    // is recorded and the message is tried again after the restart.
    if (this.halted.signal.aborted) return state;
    const outcome = afterAttempt(state, schedule, { mode: webhook.mode, offset: message.offset, failuresBefore, fromRetrySet, response, sentAtMs, endedAtMs });
    this.own = outcome.state;
    this.recording = store
      .recordAttempt(
        {
          webhookId: this.id,
          offset: message.offset,
          attempt: failuresBefore + 1,
          time: sentAtMs,
          statusCode: response.statusCode,
          durationMs: response.durationMs,
          response: response.body,
          error: errorOf(response),
          trigger: 'scheduled',
        },
        outcome.state,
        this.deps.nodeId,
      )
      .catch((err: unknown) => {
        this.unrecorded = true;
        this.deps.logger.error({ err, webhookId: this.id }, 'recording a delivery attempt failed');
      });
    if (outcome.retry === null) await store.unpark(this.id, message.offset);
    else if (outcome.retry) await store.park(this.id, outcome.retry);
    return outcome.state;
  }

  private async signingSecrets(now: number): Promise<string[]> {
    if (this.secrets && now < this.secrets.validUntil) return this.secrets.values;
    const rows = await this.deps.store.secrets(this.id, now);
    this.secrets = { values: rows.map((row) => row.secret), validUntil: Math.min(...rows.map((row) => row.expiresAt ?? Infinity)) };
    return this.secrets.values;
  }

  /** Sleeps for `ms`, or until poked, halted or `woken` resolves. A poke that came while busy ends it at once. */
  private async idle(ms: number, woken?: Promise<void>): Promise<void> {
    if (this.poked.signal.aborted) return;
    const signal = AbortSignal.any([this.halted.signal, this.poked.signal]);
    await Promise.race([sleep(Math.min(ms, FOREVER_MS), signal), ...(woken ? [woken] : [])]);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
