import type { EgressWebhook, MessageAttributes } from '../domain/types.js';

/**
 * Whether a destination wants a message: its event type must be listed when
 * event types are, and one of its channels when channels are. A message
 * without an event type or channels matches only the lists left empty. A
 * message for one destination (an example) is for that one alone.
 */
export function wants({ id, filter }: Pick<EgressWebhook, 'id' | 'filter'>, attributes: MessageAttributes | undefined): boolean {
  if (attributes?.destination !== undefined && attributes.destination !== id) return false;
  if (filter.eventTypes.length > 0 && !(attributes?.eventType !== undefined && filter.eventTypes.includes(attributes.eventType))) return false;
  if (filter.channels.length > 0 && !attributes?.channels?.some((channel) => filter.channels.includes(channel))) return false;
  return true;
}
