import type { EgressFilter, MessageAttributes } from '../domain/types.js';

/**
 * Whether a destination wants a message: its event type must be listed when
 * event types are, and one of its channels when channels are. A message
 * without an event type or channels matches only the lists left empty.
 */
export function wants(filter: EgressFilter, attributes: MessageAttributes | undefined): boolean {
  if (filter.eventTypes.length > 0 && !(attributes?.eventType !== undefined && filter.eventTypes.includes(attributes.eventType))) return false;
  if (filter.channels.length > 0 && !attributes?.channels?.some((channel) => filter.channels.includes(channel))) return false;
  return true;
}
