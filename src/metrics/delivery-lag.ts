import type { EgressWebhook } from '../domain/types.js';
import type { MessageStore } from '../store/store.js';

/** How far a destination is behind its log. */
export interface DestinationLag {
  webhookId: string;
  /** Messages not yet delivered: from the cursor to the end of the log, and those parked for a retry. */
  messages: number;
  /** Age of the oldest of them, in seconds; 0 when none waits. */
  seconds: number;
}

/** The retry set of a destination: how many messages are parked, and the lowest offset among them. */
export interface Parked {
  count: number;
  firstOffset: number | null;
}

/**
 * The lag of `webhook`, whose log's next offset is `endOffset`, and whose
 * retry set was read before its cursor (see Inventory). The oldest
 * undelivered message is the one at the cursor or the lowest one parked,
 * whichever comes first; where retention removed it, the next one stands in.
 * Only its time is wanted, but the store has no cheaper read than the message.
 */
export async function lagOf(
  webhook: EgressWebhook,
  endOffset: number,
  parked: Parked,
  messages: Pick<MessageStore, 'read'>,
  nowMs: number,
): Promise<DestinationLag> {
  const cursor = webhook.state.nextOffset;
  const ahead = Math.max(0, endOffset - cursor);
  const oldest = Math.min(ahead > 0 ? cursor : Number.POSITIVE_INFINITY, parked.firstOffset ?? Number.POSITIVE_INFINITY);
  const [message] = Number.isFinite(oldest) ? await messages.read(webhook.logId, oldest, 1) : [];
  const seconds = message ? Math.max(0, nowMs - message.time / 1000) / 1000 : 0;
  return { webhookId: webhook.id, messages: ahead + parked.count, seconds };
}
