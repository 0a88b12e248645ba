import { wants } from '../delivery/filter.js';
import { fail } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { AttemptQuery, DeliveryAttempt, DeliveryStatus, DeliveryTask, EgressWebhook, Message } from '../domain/types.js';
import type { EgressStore, LogStore, MessageStore } from '../store/store.js';

/** Most attempts one page lists. */
export const MAX_ATTEMPTS_PAGE = 250;
/**
 * Most attempts a filtered page looks through: a filter that matches little
 * would otherwise scan a long history in one request. A page that stops there
 * holds fewer attempts than asked, and a cursor to look further back.
 */
const ATTEMPTS_SCANNED = 10_000;
/** Most tasks of one destination running at once: each may send the whole log. */
const MAX_RUNNING_TASKS = 10;

export interface AttemptPage {
  attempts: DeliveryAttempt[];
  /** Pass as `belowId` for the next (older) page; null on the last page. */
  next: number | null;
}

/** Where a destination stands: messages by delivery state, and how far its cursor is behind the log. */
export interface DeliverySummary {
  webhook: EgressWebhook;
  counts: Record<DeliveryStatus, number>;
  /** Messages between the cursor and the end of the log, retried or not yet tried. */
  lag: number;
  /** The offset the next published message gets. */
  endOffset: number;
}

/** A replay's range: offsets, or message times in microseconds; `until` is exclusive and defaults to the end of the log. */
export interface ReplayRange {
  since: number;
  until?: number;
  byTime: boolean;
}

/**
 * The delivery operations every dialect shares: the attempt history read
 * back, and resend, replay and recover. Those three become persisted tasks
 * (see DeliveryTask) that the node holding the destination's lease runs, so
 * they answer at once, survive restarts, and never send alongside another
 * node. A task waits while its destination is inactive.
 */
export class Deliveries {
  constructor(
    private readonly store: EgressStore,
    private readonly logs: Pick<LogStore, 'get'>,
    private readonly messages: Pick<MessageStore, 'read'>,
    /** The offsets this node is sending to a webhook right now, if it holds the webhook. */
    private readonly sending: (webhookId: string) => number[],
  ) {}

  async attempts(webhookId: string, query: AttemptQuery): Promise<AttemptPage> {
    await this.webhook(webhookId);
    const limit = Math.min(query.limit, MAX_ATTEMPTS_PAGE);
    // By message, the index finds every match; other filters look through the newest ATTEMPTS_SCANNED only.
    const filtered = query.offset === undefined && [query.succeeded, query.codeClass, query.after, query.before].some((value) => value !== undefined);
    const floor = filtered ? await this.store.attemptFloor(webhookId, query.belowId, ATTEMPTS_SCANNED) : undefined;
    // One more than asked tells whether an older page exists.
    const attempts = await this.store.attempts(webhookId, { ...query, fromId: floor, limit: limit + 1 });
    const page = attempts.slice(0, limit);
    if (attempts.length > limit) return { attempts: page, next: page.at(-1)!.id! };
    return { attempts: page, next: floor ?? null };
  }

  async attempt(webhookId: string, attemptId: number): Promise<DeliveryAttempt> {
    await this.webhook(webhookId);
    return (await this.store.attempt(webhookId, attemptId)) ?? fail('attempt_not_found', `egress webhook '${webhookId}' has no attempt ${attemptId}`);
  }

  /**
   * Where each of some messages stands with a destination: sending, its
   * stored state, or pending from the cursor on; a message before the cursor
   * with no state was never attempted, and is left out.
   */
  async states(webhookId: string, offsets: number[]): Promise<Map<number, { status: DeliveryStatus; nextAttemptAt: number | null }>> {
    const webhook = await this.webhook(webhookId);
    const stored = await this.store.deliveryStates(webhookId, offsets);
    const sending = new Set(this.sending(webhookId));
    const states = new Map<number, { status: DeliveryStatus; nextAttemptAt: number | null }>();
    for (const offset of offsets) {
      const state = stored.get(offset);
      if (sending.has(offset)) states.set(offset, { status: 'sending', nextAttemptAt: null });
      else if (state) states.set(offset, { status: state.status, nextAttemptAt: state.status === 'pending' ? state.nextAttemptAt : null });
      else if (offset >= webhook.state.nextOffset) states.set(offset, { status: 'pending', nextAttemptAt: null });
    }
    return states;
  }

  async summary(webhookId: string): Promise<DeliverySummary> {
    const webhook = await this.webhook(webhookId);
    const endOffset = await this.endOf(webhook);
    const { nextOffset: cursor, active } = webhook.state;
    const stored = await this.store.deliveryCounts(webhookId, cursor);
    const lag = Math.max(0, endOffset - cursor);
    // An ordered destination that gave up holds its failed message at the cursor.
    const failedAtCursor = !active && webhook.mode === 'ordered' && lag > 0 ? 1 : 0;
    // The cursor's message in flight is sending rather than pending; a task's are counted by their last outcome as well.
    const sending = this.sending(webhookId);
    const fromCursor = sending.filter((offset) => offset >= cursor).length;
    const counts = {
      pending: stored.pending + lag - failedAtCursor - fromCursor,
      sending: sending.length,
      success: stored.success,
      failed: stored.failed + failedAtCursor,
      skipped: stored.skipped,
    };
    return { webhook, counts, lag, endOffset };
  }

  /** Sends one message again: one manual attempt, whatever its state, if it passes the destination's filter. */
  async resend(webhookId: string, offset: number): Promise<DeliveryTask> {
    const webhook = await this.webhook(webhookId);
    const [message] = await this.messages.read(webhook.logId, offset, 1);
    // Past the end, or removed by retention: the read finds a later message or none.
    if (message?.offset !== offset) fail('message_not_found', `log '${webhook.logId}' has no message at offset ${offset}`);
    // The filter keeps some of the log from this destination; a resend must not get around it.
    if (!wants(webhook, message.attributes)) fail('field_invalid', `the message at offset ${offset} does not pass the destination's filter`);
    return this.start(webhook, { kind: 'resend', since: offset, until: null, byTime: false, position: offset, endOffset: offset + 1, total: 1 });
  }

  /**
   * Sends some messages of the destination's log again, one manual attempt
   * each, in one task: those the destination's filter lets through. The
   * caller read them (MessageStore.describe); those it could not find are
   * left out. Resolves the task and the offsets it sends, or undefined when
   * none is left to send.
   */
  async resendEach(webhookId: string, messages: Array<Pick<Message, 'offset' | 'attributes'>>): Promise<{ task: DeliveryTask; offsets: number[] } | undefined> {
    const webhook = await this.webhook(webhookId);
    const chosen = [...new Set(messages.filter((message) => wants(webhook, message.attributes)).map((message) => message.offset))].sort((a, b) => a - b);
    if (chosen.length === 0) return undefined;
    const [first, last] = [chosen[0]!, chosen.at(-1)!];
    const range = { kind: 'resend', since: first, until: null, byTime: false, position: first, endOffset: last + 1, total: chosen.length } as const;
    return { task: await this.start(webhook, range, chosen), offsets: chosen };
  }

  /** Fails as starting a task on the destination now would: it is inactive, or runs as many tasks as it may. */
  async ready(webhookId: string): Promise<void> {
    await this.checkReady(await this.webhook(webhookId));
  }

  /** Sends a range of the log again, as manual attempts, without moving the cursor; messages published after this call are left to it. */
  async replay(webhookId: string, range: ReplayRange): Promise<DeliveryTask> {
    const webhook = await this.webhook(webhookId);
    const end = await this.endOf(webhook);
    if (range.until !== undefined && range.until <= range.since) fail('field_invalid', 'until must be after since');
    if (range.byTime) {
      // Times need not rise with offsets (late messages), so the whole log is looked through, and how many match is not known.
      return this.start(webhook, { kind: 'replay', since: range.since, until: range.until ?? null, byTime: true, position: 0, endOffset: end, total: null });
    }
    const endOffset = Math.min(end, range.until ?? end);
    const position = Math.min(range.since, endOffset);
    return this.start(webhook, { kind: 'replay', since: position, until: null, byTime: false, position, endOffset, total: endOffset - position });
  }

  /** Sends the messages with times (µs) in [since, until) that the destination never had: not attempted, not skipped. */
  async replayMissing(webhookId: string, since: number, until?: number): Promise<DeliveryTask> {
    const webhook = await this.webhook(webhookId);
    if (until !== undefined && until <= since) fail('field_invalid', 'until must be after since');
    // Messages from the cursor on are on their way already: only those before it can have been missed.
    const endOffset = webhook.state.nextOffset;
    return this.start(webhook, { kind: 'replay-missing', since, until: until ?? null, byTime: true, position: 0, endOffset, total: null });
  }

  /** Tasks, newest first, of one log's webhooks or of all. */
  listTasks(filter: { belowId?: string; limit: number }): Promise<DeliveryTask[]> {
    return this.store.listTasks(filter);
  }

  /** Blanks one attempt's response body (it held something it should not have). */
  async expungeResponse(webhookId: string, attemptId: number): Promise<void> {
    await this.attempt(webhookId, attemptId);
    await this.store.expungeResponse(webhookId, attemptId);
  }

  /** Sends again every message whose delivery failed at or after `sinceMs` (and before `untilMs`, if given). */
  async recover(webhookId: string, sinceMs: number, untilMs?: number): Promise<DeliveryTask> {
    const webhook = await this.webhook(webhookId);
    if (untilMs !== undefined && untilMs <= sinceMs) fail('field_invalid', 'until must be after since');
    const endOffset = await this.endOf(webhook);
    const total = await this.store.countFailedSince(webhookId, sinceMs, endOffset, untilMs);
    return this.start(webhook, { kind: 'recover', since: sinceMs, until: untilMs ?? null, byTime: false, position: 0, endOffset, total });
  }

  /** A task, for a caller who may see `can(webhookId)`; the refusal does not name the webhook. */
  async task(id: string, can: (webhookId: string) => boolean): Promise<DeliveryTask> {
    const task = (await this.store.task(id)) ?? fail('task_not_found', `task '${id}' does not exist`);
    if (!can(task.webhookId))
      fail('acl_insufficient', `the token may not see task '${id}': that needs egress_webhooks attempts, resend or replay on its webhook`);
    return task;
  }

  private async start(
    webhook: EgressWebhook,
    range: Pick<DeliveryTask, 'kind' | 'since' | 'until' | 'byTime' | 'position' | 'endOffset' | 'total'>,
    offsets: number[] | null = null,
  ): Promise<DeliveryTask> {
    await this.checkReady(webhook);
    const now = Date.now();
    const empty = range.position >= range.endOffset || range.total === 0;
    const task: DeliveryTask = {
      id: newId('tsk'),
      webhookId: webhook.id,
      ...range,
      offsets,
      // Nothing to send: finished from the start, so no lane needs to look at it.
      status: empty ? 'finished' : 'running',
      position: empty ? range.endOffset : range.position,
      sent: 0,
      succeeded: 0,
      failed: 0,
      error: '',
      createdAt: now,
      updatedAt: now,
    };
    await this.store.createTask(task);
    return task;
  }

  private async checkReady(webhook: EgressWebhook): Promise<void> {
    // The lane that runs tasks serves active destinations only: a task would wait unseen.
    if (!webhook.state.active)
      fail('egress_webhook_inactive', `egress webhook '${webhook.id}' is inactive (${webhook.state.inactiveReason}); re-activate it first`);
    if ((await this.store.runningTasks(webhook.id)).length >= MAX_RUNNING_TASKS) {
      fail('too_many_tasks', `egress webhook '${webhook.id}' has ${MAX_RUNNING_TASKS} tasks running; wait for one to end`);
    }
  }

  private async webhook(id: string): Promise<EgressWebhook> {
    return (await this.store.get(id)) ?? fail('egress_webhook_not_found', `egress webhook '${id}' does not exist`);
  }

  private async endOf(webhook: EgressWebhook): Promise<number> {
    return (await this.logs.get(webhook.logId))?.nextOffset ?? fail('log_not_found', `log '${webhook.logId}' does not exist`);
  }
}
