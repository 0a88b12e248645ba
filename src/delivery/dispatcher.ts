import type { DeliveryAttempt, DeliveryRequest, DeliveryState, DeliveryTask, EgressWebhook, Message, ParkedRetry, Transformation } from '../domain/types.js';
import type { LogNotifier } from '../log/notifier.js';
import type { ClusterStore, DeliveryRecord, EgressStore, MessageStore } from '../store/store.js';
import type { Transformed, Transformer } from '../transformation/transformer.js';
import { type DeliveryLogger, logAttempt, logDeactivation } from './attempt-log.js';
import { wants } from './filter.js';
import type { OutboundResponse } from './outbound.js';
import { type AttemptOutcome, afterAttempt, attemptOutcome, errorOf, succeeded } from './outcome.js';
import { requestOf } from './payload.js';
import type { RetrySchedule } from './schedule.js';
import { signatureHeaders } from './signing.js';

/** Messages a lane reads from the log per batch at most, and at most this many bytes of them (beyond the first). */
const BATCH = 100;
const BATCH_BYTES = 4 * 1024 * 1024;
/**
 * What all lanes of a node hold at once, read but not yet sent: each lane's
 * batch is an equal share of it. Lanes run by the thousand, so a full batch
 * each would hold a large backlog in memory; a lane of a few slow ones still
 * reads BATCH at a time.
 */
const READ_AHEAD_MESSAGES = 10_000;
const READ_AHEAD_BYTES = 64 * 1024 * 1024;
/** A caught-up lane re-reads its webhook at least this often, even with no news. */
const IDLE_MS = 30_000;
/** setTimeout's limit. */
const FOREVER_MS = 2 ** 31 - 1;
/** How long a lane waits after its store failed (the database is down) before it tries again. */
const STORE_RETRY_MS = 1_000;
/** Messages whose transformation a lane runs ahead of sending them, and for how long such a result may be used. */
const TRANSFORM_AHEAD = 2;
const AHEAD_MAX_AGE_MS = 1_000;
/** Manual attempts of a task in flight at once. */
const TASK_CONCURRENCY = 8;

export interface Sender {
  send(request: DeliveryRequest, signal?: AbortSignal): Promise<OutboundResponse>;
}

/** An attempt that went out (or whose transformation failed, so nothing went out), with its times. */
interface Sent {
  response: OutboundResponse;
  sentAtMs: number;
  endedAtMs: number;
}

/** How much one lane may read ahead: its share of READ_AHEAD_MESSAGES and READ_AHEAD_BYTES. */
interface ReadAhead {
  messages: number;
  bytes: number;
}

export interface DispatcherDeps {
  store: EgressStore;
  cluster: Pick<ClusterStore, 'heartbeat' | 'leave'>;
  messages: Pick<MessageStore, 'read'>;
  notifier: LogNotifier;
  sender: Sender;
  /** Runs destinations' transformations, before each request is signed. */
  transformer: Pick<Transformer, 'apply'>;
  schedule: RetrySchedule;
  logger: DeliveryLogger;
  /** This node's identity as a lease owner. */
  nodeId: string;
  /** How long a lease lasts unless renewed; leases are renewed three times per period. */
  leaseMs: number;
  /** Where each attempt's outcome and time go: the metrics. */
  recorder?: AttemptRecorder;
}

export interface AttemptRecorder {
  attempted(webhookId: string, outcome: AttemptOutcome, seconds: number): void;
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

  /** The webhooks this node holds a lease on and delivers to. */
  held(): string[] {
    return [...this.lanes.keys()];
  }

  /** The offsets this node is sending to a webhook right now. */
  sending(id: string): number[] {
    return [...(this.lanes.get(id)?.inFlight ?? [])];
  }

  /** A webhook was created, changed or deleted, or got a task: its lane re-reads it at once, or a node claims it. */
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
              () => this.readAhead(),
              () => this.exited(id),
            ),
          );
      }
    }
  }

  private readAhead(): ReadAhead {
    const lanes = Math.max(1, this.lanes.size);
    return {
      messages: Math.max(1, Math.min(BATCH, Math.floor(READ_AHEAD_MESSAGES / lanes))),
      bytes: Math.min(BATCH_BYTES, Math.floor(READ_AHEAD_BYTES / lanes)),
    };
  }

  /** A lane ended (its webhook was deleted or deactivated, or its lease was lost): free the webhook for whoever should serve it. */
  private exited(id: string): void {
    this.lanes.delete(id);
    if (this.stopped) return;
    this.deps.store.release(this.deps.nodeId, [id]).catch((err: unknown) => this.deps.logger.error({ err, webhookId: id }, 'releasing a lease failed'));
  }
}

class Lane {
  /** The offsets being sent right now. */
  readonly inFlight = new Set<number>();
  private readonly halted = new AbortController();
  private poked = new AbortController();
  private readonly done: Promise<void>;
  /**
   * The last attempt's write. The next message is sent, and the next batch
   * read, while it commits.
   */
  private recording: Promise<void> = Promise.resolve();
  /** The write of the last record that changed the retry set: the set is read again only once it committed. */
  private retrySetRecorded: Promise<void> = Promise.resolve();
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
  private cached: { webhook: EgressWebhook; transformation: Transformation | undefined; readAt: number } | null = null;
  /** Running tasks of the webhook, oldest first: read with the webhook, since a new task pokes the lane. */
  private tasks: DeliveryTask[] | null = null;
  /** Tasks and the cursor take turns, so that neither starves the other. */
  private taskTurn = true;
  /** The rate limit's next free slot (ms). */
  private nextSendAt = 0;
  /** Transformations of the next messages to send, by offset, started while the one before each was sent. */
  private readonly ahead = new Map<number, { result: Promise<Transformed>; at: number }>();

  constructor(
    private readonly id: string,
    private readonly deps: DispatcherDeps,
    private readonly leasedUntil: () => number,
    private readonly readAhead: () => ReadAhead,
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
      this.tasks = null;
      // Run with the settings before the change.
      this.ahead.clear();
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
    const read = await this.webhook();
    if (!read) return false;
    const { webhook: stored, transformation } = read;
    let state = this.own ?? stored.state;
    if (!state.active) return false;
    // A change (new code, most likely) may cure a failing transformation: its next try need not wait out the schedule.
    if (poked && state.lastError.startsWith(TRANSFORMATION_FAILED) && state.nextAttemptAt > Date.now()) {
      state = { ...state, nextAttemptAt: Date.now() };
      this.own = state;
    }
    const webhook: LaneWebhook = { ...stored, state, transformation };
    const now = Date.now();
    if (webhook.mode === 'parallel') await this.retrySetRecorded;
    const parked = webhook.mode === 'parallel' ? await store.nextParked(this.id) : undefined;
    if (parked && parked.nextAttemptAt <= now) {
      await this.retryParked(webhook, parked);
      return true;
    }
    this.tasks ??= await store.runningTasks(this.id);
    const task = this.tasks[0];
    if (task && (this.taskTurn || state.nextAttemptAt > now)) {
      this.taskTurn = false;
      await this.runTask(webhook, task);
      return true;
    }
    this.taskTurn = true;
    if (state.nextAttemptAt > now) {
      await this.idle(state.nextAttemptAt - now);
      return true;
    }
    // Subscribe before reading, so a message published in between still wakes us.
    const stopWaiting = new AbortController();
    const grown = notifier.subscribe(webhook.logId, IDLE_MS, AbortSignal.any([stopWaiting.signal, this.halted.signal]));
    try {
      const { messages: limit, bytes } = this.readAhead();
      const batch = await messages.read(webhook.logId, state.nextOffset, limit, { maxBytes: bytes });
      // With a task to run, an empty log only hands the turn back.
      if (batch.length === 0 && !task) await this.idle(parked ? parked.nextAttemptAt - now : IDLE_MS, grown);
      else if (batch.length > 0) await this.deliverBatch(webhook, batch);
    } finally {
      stopWaiting.abort();
    }
    return true;
  }

  /** The webhook and its transformation, as cached or read afresh. */
  private async webhook(): Promise<{ webhook: EgressWebhook; transformation: Transformation | undefined } | undefined> {
    const now = Date.now();
    if (this.cached && now - this.cached.readAt < IDLE_MS) return this.cached;
    const webhook = await this.deps.store.get(this.id);
    // A change of the transformation is announced as a change of the webhook, so the two are read together.
    this.cached = webhook ? { webhook, transformation: await this.deps.store.transformation(this.id), readAt: now } : null;
    // Read with the webhook: a task whose announcement was missed starts within IDLE_MS.
    this.tasks = null;
    return this.cached ?? undefined;
  }

  private async deliverBatch(webhook: LaneWebhook, batch: Message[]): Promise<void> {
    let state = webhook.state;
    for (const [i, message] of batch.entries()) {
      // A change (new destination, deletion, rotation) takes effect before the next
      // message. Nothing is sent once the lease may have passed to another node.
      if (this.interrupted()) return;
      if (wants(webhook, message.attributes)) {
        this.transformAhead(webhook, batch, i + 1);
        state = await this.attempt(webhook, state, message, state.failures, false);
      } else {
        state = this.skip(state, message);
      }
      if (!state.active || state.nextOffset <= message.offset) return;
    }
  }

  /**
   * Starts the transformations of the next TRANSFORM_AHEAD messages the
   * webhook wants, so that they run on a sandbox thread while this one is
   * sent: one at a time, a lane would wait for both in turn. A result is used
   * when its message is sent, unless the webhook changed meanwhile.
   */
  private transformAhead(webhook: LaneWebhook, batch: Message[], from: number): void {
    const { transformation } = webhook;
    if (!transformation?.enabled) return;
    // Those of earlier messages are left from attempts that failed: they are run again when those are.
    for (const offset of this.ahead.keys()) if (offset < batch[from - 1]!.offset) this.ahead.delete(offset);
    let started = 0;
    for (let i = from; i < batch.length && started < TRANSFORM_AHEAD; i++) {
      const next = batch[i]!;
      if (!wants(webhook, next.attributes)) continue;
      started++;
      if (this.ahead.has(next.offset)) continue;
      const result = this.deps.transformer.apply(transformation.code, requestOf(webhook, next), next.attributes?.eventType ?? null, this.id);
      // A result dropped unused (the webhook changed, the lane stopped) must not fail the process.
      result.catch(() => {});
      this.ahead.set(next.offset, { result, at: Date.now() });
    }
  }

  private async retryParked(webhook: LaneWebhook, parked: ParkedRetry): Promise<void> {
    const [message] = await this.deps.messages.read(webhook.logId, parked.offset, 1);
    if (!message || message.offset !== parked.offset) {
      // Retention removed it while it waited: nothing is left to deliver.
      await this.deps.store.unpark(this.id, parked.offset);
      return;
    }
    await this.attempt(webhook, webhook.state, message, parked.failures, true);
  }

  /**
   * A message the transformation cancelled is recorded as skipped, as the
   * filter's are. It may have failed before (the code changed since): its
   * retries end, and an ordered destination's schedule starts afresh.
   */
  private cancel(webhook: LaneWebhook, state: DeliveryState, message: Message, fromRetrySet: boolean): DeliveryState {
    const passed = fromRetrySet ? state : { ...state, nextOffset: Math.max(state.nextOffset, message.offset + 1) };
    const next = webhook.mode === 'ordered' ? { ...passed, failures: 0, nextAttemptAt: Date.now() } : passed;
    this.own = next;
    this.record({
      delivery: { offset: message.offset, status: 'skipped', nextAttemptAt: null, statusCode: null, at: Date.now() },
      state: next,
      ...(fromRetrySet && { retry: null }),
    });
    return next;
  }

  /** A message the filter turns away is recorded as skipped, and the cursor moves past it. */
  private skip(state: DeliveryState, message: Message): DeliveryState {
    const skipped = { ...state, nextOffset: message.offset + 1 };
    this.own = skipped;
    this.record({ delivery: { offset: message.offset, status: 'skipped', nextAttemptAt: null, statusCode: null, at: Date.now() }, state: skipped });
    return skipped;
  }

  /** Sends one message on the schedule, records the attempt with the new state, and returns that state. */
  private async attempt(webhook: LaneWebhook, state: DeliveryState, message: Message, failuresBefore: number, fromRetrySet: boolean): Promise<DeliveryState> {
    const { schedule } = this.deps;
    const sent = await this.send(webhook, message);
    // Cut short by our own shutdown or a change of the webhook: not the destination's
    // failure, so no attempt is recorded and the message is tried again.
    if (!sent) return state;
    if (sent === 'cancelled') return this.cancel(webhook, state, message, fromRetrySet);
    const { response, sentAtMs, endedAtMs } = sent;
    const outcome = afterAttempt(state, schedule, { mode: webhook.mode, offset: message.offset, failuresBefore, fromRetrySet, response, sentAtMs, endedAtMs });
    this.own = outcome.state;
    logAttempt(this.deps.logger, {
      webhookId: this.id,
      logId: webhook.logId,
      offset: message.offset,
      attempt: failuresBefore + 1,
      trigger: 'scheduled',
      response,
      nextAttemptAt: outcome.delivery.nextAttemptAt,
    });
    const recorded = this.record({
      attempt: this.attemptOf(message, sent, failuresBefore + 1, 'scheduled'),
      delivery: { offset: message.offset, ...outcome.delivery, statusCode: response.statusCode, at: endedAtMs },
      state: outcome.state,
      retry: outcome.retry,
    });
    // Only once stored: a write that failed leaves the webhook active, and the lane reads it back.
    if (state.active && !outcome.state.active) {
      void recorded.then((stored) => stored && logDeactivation(this.deps.logger, this.id, webhook.logId, outcome.state));
    }
    return outcome.state;
  }

  /**
   * Sends one message for a task: a manual attempt, tried once, that leaves
   * the cursor and the schedule alone. Undefined when cut short by shutdown.
   */
  private async manualAttempt(webhook: LaneWebhook, message: Message): Promise<boolean | 'skipped' | undefined> {
    const sent = await this.send(webhook, message);
    if (!sent) return undefined;
    if (sent === 'cancelled') {
      // Tentative, as a failure is: a message delivered before stays delivered, one whose retries are scheduled stays pending.
      this.record({ delivery: { offset: message.offset, status: 'skipped', nextAttemptAt: null, statusCode: null, at: Date.now(), tentative: true } });
      return 'skipped';
    }
    const ok = succeeded(sent.response);
    const { statusCode } = sent.response;
    // Tried once: nothing is scheduled after it, and the webhook's state is left alone.
    logAttempt(this.deps.logger, {
      webhookId: this.id,
      logId: webhook.logId,
      offset: message.offset,
      attempt: 1,
      trigger: 'manual',
      response: sent.response,
      nextAttemptAt: null,
    });
    this.record({
      attempt: this.attemptOf(message, sent, 1, 'manual'),
      // Tentative: a failure leaves a message whose retries are scheduled pending, and one delivered before delivered.
      delivery: { offset: message.offset, status: ok ? 'success' : 'failed', nextAttemptAt: null, statusCode, at: sent.endedAtMs, tentative: !ok },
      // Delivered by hand: its scheduled retries are no longer needed.
      ...(ok && webhook.mode === 'parallel' ? { retry: null } : {}),
    });
    return ok;
  }

  /**
   * Transforms, signs and sends one message, within the rate limit.
   * Undefined when interrupted before it went, or halted before it ended;
   * 'cancelled' when the transformation cancelled it.
   */
  private async send(webhook: LaneWebhook, message: Message): Promise<Sent | 'cancelled' | undefined> {
    // The wait may be long: the lease, or the webhook's settings, may change meanwhile.
    if (!(await this.pace(webhook.rateLimit))) return undefined;
    this.inFlight.add(message.offset);
    try {
      const { transformation } = webhook;
      let request: DeliveryRequest;
      if (!transformation?.enabled) request = requestOf(webhook, message);
      else {
        const startedAtMs = Date.now();
        const ahead = this.ahead.get(message.offset);
        this.ahead.delete(message.offset);
        // A result from a while ago (its message waited behind a retry) is not the run just before signing that was promised.
        const fresh = ahead && startedAtMs - ahead.at < AHEAD_MAX_AGE_MS ? ahead.result : undefined;
        const transformed = await (fresh ??
          this.deps.transformer.apply(transformation.code, requestOf(webhook, message), message.attributes?.eventType ?? null, this.id));
        // The settings it ran with may be stale by now.
        if (this.interrupted()) return undefined;
        if ('cancelled' in transformed) return 'cancelled';
        if ('error' in transformed && transformed.kind === 'unavailable') {
          // The sandbox could not run it (shutting down, too busy): no fault of the destination's, so no attempt. Wait, then try again.
          this.deps.logger.error({ webhookId: this.id, error: transformed.error }, 'delivery paused: the sandbox could not run the transformation');
          await sleep(STORE_RETRY_MS, this.halted.signal);
          return undefined;
        }
        if ('error' in transformed) {
          const endedAtMs = Date.now();
          const response = transformationFailed(transformed.error, endedAtMs - startedAtMs);
          this.deps.recorder?.attempted(this.id, attemptOutcome(response), response.durationMs / 1000);
          return { response, sentAtMs: startedAtMs, endedAtMs };
        }
        request = transformed.request;
      }
      const sentAtMs = Date.now();
      // The signature covers the body as sent, after the transformation.
      const signature = signatureHeaders(webhook.signing, {
        secrets: await this.signingSecrets(sentAtMs),
        message: { logId: webhook.logId, offset: message.offset },
        timestampSeconds: Math.floor(sentAtMs / 1000),
        body: request.body,
      });
      const response = await this.deps.sender.send({ ...request, headers: { ...request.headers, ...signature } }, this.halted.signal);
      if (this.halted.signal.aborted) return undefined;
      this.deps.recorder?.attempted(this.id, attemptOutcome(response), response.durationMs / 1000);
      return { response, sentAtMs, endedAtMs: Date.now() };
    } finally {
      this.inFlight.delete(message.offset);
    }
  }

  private attemptOf(message: Message, sent: Sent, attempt: number, trigger: DeliveryAttempt['trigger']): DeliveryAttempt {
    const { response, sentAtMs } = sent;
    return {
      webhookId: this.id,
      offset: message.offset,
      attempt,
      time: sentAtMs,
      statusCode: response.statusCode,
      durationMs: response.durationMs,
      response: response.body,
      error: errorOf(response),
      trigger,
    };
  }

  /**
   * Writes a delivery record; the lane goes on meanwhile, and reads the store afresh if the write fails.
   * Resolves whether the write succeeded.
   */
  private record(record: Omit<DeliveryRecord, 'webhookId'>): Promise<boolean> {
    const written = this.deps.store.recordAttempt({ webhookId: this.id, ...record }, this.deps.nodeId).then(
      () => true,
      (err: unknown) => {
        this.unrecorded = true;
        this.deps.logger.error({ err, webhookId: this.id }, 'recording a delivery attempt failed');
        return false;
      },
    );
    this.recording = written.then(() => {});
    if (record.retry !== undefined) this.retrySetRecorded = this.recording;
    return written;
  }

  /**
   * Waits for the rate limit's next slot: requests are spaced evenly, 1/limit
   * seconds apart. False when the lane was interrupted meanwhile: the slot is
   * given back, and nothing may be sent with the settings read before.
   */
  private async pace(limit: number | null): Promise<boolean> {
    if (limit) {
      const now = Date.now();
      const at = Math.max(now, this.nextSendAt);
      this.nextSendAt = at + 1000 / limit;
      if (at > now) await sleep(at - now, AbortSignal.any([this.halted.signal, this.poked.signal]));
      if (this.interrupted()) {
        this.nextSendAt -= 1000 / limit;
        return false;
      }
    }
    return !this.interrupted();
  }

  /**
   * Runs one chunk of a task: up to a batch of messages from its position, sent as
   * manual attempts, then its progress saved. A task ends when its range is
   * done; one whose progress cannot be saved (the lease passed on) is left to
   * the new holder, which goes on from the last saved position.
   */
  private async runTask(webhook: LaneWebhook, task: DeliveryTask): Promise<void> {
    const { store } = this.deps;
    const { batch, through } = await this.taskMessages(webhook, task);
    const inRange = batch.filter(
      (message) =>
        (!task.byTime || (message.time >= task.since && message.time < (task.until ?? Number.POSITIVE_INFINITY))) && wants(webhook, message.attributes),
    );
    const attempted =
      task.kind === 'replay-missing'
        ? await store.deliveryStates(
            this.id,
            inRange.map((message) => message.offset),
          )
        : undefined;
    const chosen = attempted ? inRange.filter((message) => !attempted.has(message.offset)) : inRange;
    // Manual attempts keep no order: a few at once make a large replay take minutes, not hours.
    const outcomes: Array<boolean | 'skipped' | undefined> = new Array(chosen.length);
    let next = 0;
    const worker = async () => {
      // A change to the webhook (deletion, destination, secrets) stops the chunk at once, as do shutdown,
      // a lost lease and a failed write: what was sent is kept, the rest goes out with the fresh settings.
      while (next < chosen.length && !this.interrupted()) {
        const i = next++;
        outcomes[i] = await this.manualAttempt(webhook, chosen[i]!);
      }
    };
    await Promise.all(Array.from({ length: TASK_CONCURRENCY }, worker));
    // Progress runs up to the first message not sent: the rest is sent again later, never skipped.
    const sentUpTo = outcomes.findIndex((outcome) => outcome === undefined);
    const done = sentUpTo === -1 ? chosen.length : sentUpTo;
    const position = done === chosen.length ? (through ?? task.endOffset) : chosen[done]!.offset;
    const finished = position >= task.endOffset;
    const results = outcomes.slice(0, done);
    const saved = {
      ...task,
      position: finished ? task.endOffset : position,
      sent: task.sent + done,
      succeeded: task.succeeded + results.filter((ok) => ok === true).length,
      failed: task.failed + results.filter((ok) => ok === false).length,
      status: finished ? 'finished' : task.status,
      updatedAt: Date.now(),
    } as const;
    await this.recording;
    if (this.unrecorded || !(await store.saveTask(saved, this.deps.nodeId)) || finished) this.tasks = null;
    else this.tasks![0] = saved;
  }

  /** Whether the lane must stop sending now: halted, poked, its lease in doubt, or a write lost. */
  private interrupted(): boolean {
    return this.halted.signal.aborted || this.poked.signal.aborted || this.unrecorded || Date.now() >= this.leasedUntil();
  }

  /**
   * The next messages a task covers, a range of the log or the offsets whose
   * delivery failed, and the position after them: null when nothing is left.
   */
  private async taskMessages(webhook: LaneWebhook, task: DeliveryTask): Promise<{ batch: Message[]; through: number | null }> {
    const { store, messages } = this.deps;
    const { messages: limit, bytes } = this.readAhead();
    if (task.offsets) {
      const offsets = task.offsets.filter((offset) => offset >= task.position).slice(0, limit);
      return { batch: await this.messagesAt(webhook.logId, offsets), through: offsets.length > 0 ? offsets.at(-1)! + 1 : null };
    }
    if (task.kind !== 'recover') {
      const read = await messages.read(webhook.logId, task.position, Math.min(limit, Math.max(1, task.endOffset - task.position)), { maxBytes: bytes });
      const batch = read.filter((message) => message.offset < task.endOffset);
      return { batch, through: batch.length === read.length && read.length > 0 ? read.at(-1)!.offset + 1 : null };
    }
    const offsets = await store.failedSince(this.id, task.since, task.position, task.endOffset, limit, task.until ?? undefined);
    return { batch: await this.messagesAt(webhook.logId, offsets), through: offsets.length > 0 ? offsets.at(-1)! + 1 : null };
  }

  /** The messages at some offsets, one read each: those retention (or an event's deletion) removed since are left out. */
  private async messagesAt(logId: string, offsets: number[]): Promise<Message[]> {
    const batch: Message[] = [];
    for (const offset of offsets) {
      const [message] = await this.deps.messages.read(logId, offset, 1);
      if (message?.offset === offset) batch.push(message);
    }
    return batch;
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

/** A webhook as its lane serves it: with its state as the lane knows it, and its transformation. */
type LaneWebhook = EgressWebhook & { transformation: Transformation | undefined };

/** The attempt of a message whose transformation failed: nothing was sent, and the schedule goes on as for a failed request. */
function transformationFailed(error: string, durationMs: number): OutboundResponse {
  return { statusCode: null, raw: '', body: '', durationMs, error: `${TRANSFORMATION_FAILED}${error}`, failure: 'transformation', retryAfterMs: null };
}

const TRANSFORMATION_FAILED = 'transformation failed: ';

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
