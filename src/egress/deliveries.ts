import { fail } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { DeliveryAttempt, DeliveryStatus, DeliveryTask, EgressWebhook } from '../domain/types.js';
import type { AttemptQuery, EgressStore, LogStore } from '../store/store.js';

/** Most attempts one page lists. */
export const MAX_ATTEMPTS_PAGE = 250;

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
    /** The offsets this node is sending to a webhook right now, if it holds the webhook. */
    private readonly sending: (webhookId: string) => number[],
  ) {}

  async attempts(webhookId: string, query: AttemptQuery): Promise<AttemptPage> {
    await this.webhook(webhookId);
    const limit = Math.min(query.limit, MAX_ATTEMPTS_PAGE);
    // One more than asked tells whether an older page exists.
    const attempts = await this.store.attempts(webhookId, { ...query, limit: limit + 1 });
    const page = attempts.slice(0, limit);
    return { attempts: page, next: attempts.length > limit ? page.at(-1)!.id! : null };
  }

  async attempt(webhookId: string, attemptId: number): Promise<DeliveryAttempt> {
    await this.webhook(webhookId);
    return (await this.store.attempt(webhookId, attemptId)) ?? fail('attempt_not_found', `egress webhook '${webhookId}' has no attempt ${attemptId}`);
  }

  async summary(webhookId: string): Promise<DeliverySummary> {
    const webhook = await this.webhook(webhookId);
    const endOffset = await this.endOf(webhook);
    const cursor = webhook.state.nextOffset;
    const stored = await this.store.deliveryCounts(webhookId, cursor);
    const lag = Math.max(0, endOffset - cursor);
    // The cursor's message in flight is sending rather than pending; a task's are counted by their last outcome as well.
    const sending = this.sending(webhookId);
    const fromCursor = sending.filter((offset) => offset >= cursor).length;
    return {
      webhook,
      counts: { pending: stored.pending + lag - fromCursor, sending: sending.length, success: stored.success, failed: stored.failed, skipped: stored.skipped },
      lag,
      endOffset,
    };
  }

  /** Sends one message again: one manual attempt, whatever its state and the filter. */
  async resend(webhookId: string, offset: number): Promise<DeliveryTask> {
    const webhook = await this.webhook(webhookId);
    const end = await this.endOf(webhook);
    if (offset >= end) fail('message_not_found', `log '${webhook.logId}' has no offset ${offset} yet; its next offset is ${end}`);
    return this.start(webhook, { kind: 'resend', since: offset, until: null, byTime: false, position: offset, endOffset: offset + 1, total: 1 });
  }

  /** Sends a range of the log again, as manual attempts, without moving the cursor; messages published after this call are left to it. */
  async replay(webhookId: string, range: ReplayRange): Promise<DeliveryTask> {
    const webhook = await this.webhook(webhookId);
    const end = await this.endOf(webhook);
    if (range.until !== undefined && range.until <= range.since) fail('field_invalid', 'until must be after since');
    if (range.byTime) {
      // Times need not rise with offsets (late messages), so the whole log is looked through.
      return this.start(webhook, { kind: 'replay', since: range.since, until: range.until ?? null, byTime: true, position: 0, endOffset: end, total: end });
    }
    const endOffset = Math.min(end, range.until ?? end);
    const position = Math.min(range.since, endOffset);
    return this.start(webhook, { kind: 'replay', since: position, until: null, byTime: false, position, endOffset, total: endOffset - position });
  }

  /** Sends again every message whose delivery failed at or after `sinceMs`. */
  async recover(webhookId: string, sinceMs: number): Promise<DeliveryTask> {
    const webhook = await this.webhook(webhookId);
    const endOffset = await this.endOf(webhook);
    const total = await this.store.countFailedSince(webhookId, sinceMs);
    return this.start(webhook, { kind: 'recover', since: sinceMs, until: null, byTime: false, position: 0, endOffset, total });
  }

  async task(id: string): Promise<DeliveryTask> {
    return (await this.store.task(id)) ?? fail('task_not_found', `task '${id}' does not exist`);
  }

  private async start(
    webhook: EgressWebhook,
    range: Pick<DeliveryTask, 'kind' | 'since' | 'until' | 'byTime' | 'position' | 'endOffset' | 'total'>,
  ): Promise<DeliveryTask> {
    const now = Date.now();
    const empty = range.position >= range.endOffset || range.total === 0;
    const task: DeliveryTask = {
      id: newId('tsk'),
      webhookId: webhook.id,
      ...range,
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

  private async webhook(id: string): Promise<EgressWebhook> {
    return (await this.store.get(id)) ?? fail('egress_webhook_not_found', `egress webhook '${id}' does not exist`);
  }

  private async endOf(webhook: EgressWebhook): Promise<number> {
    return (await this.logs.get(webhook.logId))?.nextOffset ?? fail('log_not_found', `log '${webhook.logId}' does not exist`);
  }
}
