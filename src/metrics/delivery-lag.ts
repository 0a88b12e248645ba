import type { EgressWebhook } from '../domain/types.js';
import type { EgressStore, MessageStore } from '../store/store.js';

/** How far a destination is behind its log. */
export interface DestinationLag {
  webhookId: string;
  /** Messages not yet delivered: from the cursor to the end of the log, and those parked for a retry. */
  messages: number;
  /** Age of the oldest of them, in seconds; 0 when none waits. */
  seconds: number;
}

export interface LagStores {
  egress: Pick<EgressStore, 'parked'>;
  messages: Pick<MessageStore, 'read'>;
}

/**
 * The lag of `webhook`, whose log's next offset is `endOffset`. The oldest
 * undelivered message is the one at the cursor or the lowest one parked,
 * whichever comes first; where retention removed it, the next one stands in.
 */
export async function lagOf(webhook: EgressWebhook, endOffset: number, stores: LagStores, nowMs: number): Promise<DestinationLag> {
  const cursor = webhook.state.nextOffset;
  const parked = await stores.egress.parked(webhook.id);
  const ahead = Math.max(0, endOffset - cursor);
  const oldest = Math.min(ahead > 0 ? cursor : Number.POSITIVE_INFINITY, parked.firstOffset ?? Number.POSITIVE_INFINITY);
  const [message] = Number.isFinite(oldest) ? await stores.messages.read(webhook.logId, oldest, 1) : [];
  const seconds = message ? Math.max(0, nowMs - message.time / 1000) / 1000 : 0;
  return { webhookId: webhook.id, messages: ahead + parked.count, seconds };
}
