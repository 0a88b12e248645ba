import type { DeliveryState, EgressWebhook, Message, ParkedRetry } from '../domain/types.js';
import type { LogNotifier } from '../log/notifier.js';
import type { EgressStore, MessageStore } from '../store/store.js';
import { afterAttempt, errorOf } from './outcome.js';
import type { OutboundResponse } from './outbound.js';
import { payloadOf } from './payload.js';
import type { RetrySchedule } from './schedule.js';
import { SIGNATURE_HEADER, signatureHeader } from './signing.js';

/** Messages read from the log per batch. */
const BATCH = 100;
/** A caught-up lane re-reads its webhook at least this often, even with no news. */
const IDLE_MS = 30_000;
/** setTimeout's limit; an inactive lane sleeps until it is poked. */
const FOREVER_MS = 2 ** 31 - 1;

export interface Sender {
  post(url: string, body: Buffer, headers: Record<string, string>, signal?: AbortSignal): Promise<OutboundResponse>;
}

export interface DispatcherDeps {
  store: EgressStore;
  messages: Pick<MessageStore, 'read'>;
  notifier: LogNotifier;
  sender: Sender;
  schedule: RetrySchedule;
  logger: { error(obj: object, msg: string): void };
}

/**
 * Pushes logs' messages to egress webhooks. Each webhook has one lane: a loop
 * that reads from the webhook's cursor, signs and sends one message at a time,
 * records the attempt and applies the delivery rules (src/delivery/outcome.ts).
 * Lanes run concurrently and share nothing but the HTTP connection pool, so a
 * slow receiver delays only its own webhook.
 */
export class Dispatcher {
  private readonly lanes = new Map<string, Lane>();
  private stopped = false;

  constructor(private readonly deps: DispatcherDeps) {}

  async start(): Promise<void> {
    for (const webhook of await this.deps.store.listActive()) this.changed(webhook.id);
  }

  /** A webhook was created, changed or deleted: its lane re-reads it at once. */
  changed(id: string): void {
    if (this.stopped) return;
    const lane = this.lanes.get(id);
    if (lane) return lane.poke();
    this.lanes.set(id, new Lane(id, this.deps, () => this.lanes.delete(id)));
  }

  /** Stops every lane, aborting attempts in flight; those messages are tried again at the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.lanes.values()].map((lane) => lane.halt()));
  }
}

class Lane {
  private readonly halted = new AbortController();
  private poked = new AbortController();
  private readonly done: Promise<void>;
  /**
   * The last attempt's write. The next message is sent while it commits; the
   * lane waits for it only before reading its webhook back from the store.
   */
  private recording: Promise<void> = Promise.resolve();
  /** Signing secrets, kept until the first of them expires or the webhook changes. */
  private secrets: { values: string[]; validUntil: number } | null = null;

  constructor(
    private readonly id: string,
    private readonly deps: DispatcherDeps,
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

  private async run(): Promise<void> {
    const { store, messages, notifier } = this.deps;
    // A closed notifier means the server is going down; waiting on it would spin.
    while (!this.halted.signal.aborted && !notifier.isClosed) {
      // Pokes so far are served by the reads just below.
      if (this.poked.signal.aborted) {
        this.poked = new AbortController();
        this.secrets = null;
      }
      await this.recording;
      const webhook = await store.get(this.id);
      if (!webhook) return;
      const { state } = webhook;
      if (!state.active) {
        await this.idle(FOREVER_MS);
        continue;
      }
      const now = Date.now();
      const parked = webhook.mode === 'parallel' ? await store.nextParked(this.id) : undefined;
      if (parked && parked.nextAttemptAt <= now) {
        await this.retryParked(webhook, parked);
        continue;
      }
      if (state.nextAttemptAt > now) {
        await this.idle(state.nextAttemptAt - now);
        continue;
      }
      // Subscribe before reading, so a message published in between still wakes us.
      const stopWaiting = new AbortController();
      const grown = notifier.subscribe(webhook.logId, IDLE_MS, AbortSignal.any([stopWaiting.signal, this.halted.signal]));
      const batch = await messages.read(webhook.logId, state.nextOffset, BATCH);
      if (batch.length === 0) await this.idle(parked ? parked.nextAttemptAt - now : IDLE_MS, grown);
      stopWaiting.abort();
      if (batch.length > 0) await this.deliverBatch(webhook, batch);
    }
  }

  private async deliverBatch(webhook: EgressWebhook, batch: Message[]): Promise<void> {
    let state = webhook.state;
    for (const message of batch) {
      // A change (new destination, deletion, rotation) takes effect before the next message.
      if (this.halted.signal.aborted || this.poked.signal.aborted) return;
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
  private async attempt(
    webhook: EgressWebhook,
    state: DeliveryState,
    message: Message,
    failuresBefore: number,
    fromRetrySet: boolean,
  ): Promise<DeliveryState> {
    const { store, sender, schedule } = this.deps;
    const now = Date.now();
    const payload = payloadOf(webhook.payload, message);
    const secrets = await this.signingSecrets(now);
    const headers = {
      'content-type': payload.contentType,
      'user-agent': 'hooklog',
      [SIGNATURE_HEADER]: signatureHeader(secrets, Math.floor(now / 1000), payload.body),
    };
    const response = await sender.post(webhook.destination, payload.body, headers, this.halted.signal);
    // Cut short by our own shutdown: not the destination's failure, so no attempt
    // is recorded and the message is tried again after the restart.
    if (this.halted.signal.aborted) return state;
    const outcome = afterAttempt(state, schedule, { mode: webhook.mode, offset: message.offset, failuresBefore, fromRetrySet, response, now });
    this.recording = store.recordAttempt(
      {
        webhookId: this.id,
        offset: message.offset,
        attempt: failuresBefore + 1,
        time: now,
        statusCode: response.statusCode,
        durationMs: response.durationMs,
        response: response.body,
        error: errorOf(response),
        trigger: 'scheduled',
      },
      outcome.state,
    ).catch((err: unknown) => this.deps.logger.error({ err, webhookId: this.id }, 'recording a delivery attempt failed'));
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
