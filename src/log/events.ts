import { checkAttributes } from '../domain/attributes.js';
import { fail } from '../domain/errors.js';
import { DUPLICATE_WINDOW_MS, type Message, type MessageAttributes } from '../domain/types.js';
import type { AppendClaim, MessageStore } from '../store/store.js';
import type { Publisher } from './publisher.js';

/** An event as a publisher sends it: a JSON payload with its attributes. */
export interface NewEvent {
  payload: Buffer;
  attributes: MessageAttributes;
  /** µs; given, so that the answer can show it without reading the message back. */
  time: number;
}

/** Which events of a log to list, newest first. */
export interface EventQuery {
  /** Only events at offsets below this: the cursor of the page before. */
  below?: number;
  limit: number;
  eventTypes?: string[];
  channel?: string;
  tag?: string;
  /** Times in µs: created before, or at and after. */
  before?: number;
  after?: number;
}

export interface EventPage {
  events: Message<string>[];
  /** Pass as `below` for the next (older) page; null when there is none. */
  next: number | null;
}

/**
 * Most messages one filtered page looks through: a filter matching little
 * would otherwise read a whole log in one request. A page that stops there
 * holds fewer events than asked, and a cursor to look further back.
 */
const EVENTS_SCANNED = 10_000;
const SCAN_CHUNK = 500;
/** A page's bytes at most, payloads included. */
const MAX_PAGE_BYTES = 8 * 1024 * 1024;

/**
 * A log's messages as events, the Svix API's messages: published with an
 * event id that is unique in the log for a day, and read back newest first,
 * filtered by their attributes.
 */
export class Events {
  constructor(
    private readonly publisher: Publisher,
    private readonly messages: Pick<MessageStore, 'readBackward' | 'readText' | 'claimedOffset' | 'expungeValue'>,
  ) {}

  /**
   * Appends one event, unless its event id was used in the log within a
   * day (409), or `repeat` (a request's idempotency key) was seen before: then
   * the offset of the event that request appended, and nothing is written.
   */
  async publish(logId: string, event: NewEvent, repeat?: { scope: string; key: string; since: number }): Promise<{ offset: number; repeated: boolean }> {
    checkAttributes(event.attributes, 'of the message');
    const now = Date.now();
    const claims: AppendClaim[] = [];
    // The request's own key comes first: a retried request is answered as before, not refused for its event id.
    if (repeat) claims.push({ ...repeat, now });
    if (event.attributes.eventId !== undefined) claims.push(eventIdClaim(logId, event.attributes.eventId, now));
    const outcome = await this.publisher.publishOnce(logId, [{ key: null, value: event.payload, attributes: event.attributes, time: event.time }], claims);
    if (!('duplicate' in outcome)) return { offset: outcome.offset, repeated: false };
    if (repeat && outcome.claim === 0 && outcome.offset !== null) return { offset: outcome.offset, repeated: true };
    fail('event_id_taken', `a message with eventId ${JSON.stringify(event.attributes.eventId)} was created in this application within the last 24 hours`);
  }

  async list(logId: string, query: EventQuery): Promise<EventPage> {
    const events: Message<string>[] = [];
    let below = query.below ?? Number.MAX_SAFE_INTEGER;
    let scanned = 0;
    let bytes = 0;
    while (events.length < query.limit && scanned < EVENTS_SCANNED) {
      const chunk = await this.messages.readBackward(logId, below, Math.min(SCAN_CHUNK, EVENTS_SCANNED - scanned), { maxBytes: MAX_PAGE_BYTES });
      if (chunk.length === 0) return { events, next: null };
      for (const message of chunk) {
        below = message.offset;
        scanned++;
        if (!matches(message, query)) continue;
        events.push(message);
        bytes += Buffer.byteLength(message.value ?? '');
        if (events.length === query.limit || bytes > MAX_PAGE_BYTES) return { events, next: below };
      }
    }
    return { events, next: below > 0 ? below : null };
  }

  async get(logId: string, offset: number): Promise<Message<string>> {
    const [message] = await this.messages.readText(logId, offset, 1);
    return message?.offset === offset ? message : fail('message_not_found', `the application has no message ${offset}`);
  }

  /** The event with this event id, while its id is remembered (a day, as long as it is unique). */
  async byEventId(logId: string, eventId: string): Promise<Message<string>> {
    const offset = await this.messages.claimedOffset(eventIdScope(logId), eventId, Date.now() - DUPLICATE_WINDOW_MS);
    if (offset === undefined) fail('message_not_found', `the application has no message with eventId ${JSON.stringify(eventId)} from the last 24 hours`);
    return this.get(logId, offset);
  }

  /** Removes an event's payload for good; its attributes and attempts stay. */
  async expunge(logId: string, offset: number): Promise<void> {
    if (!(await this.messages.expungeValue(logId, offset))) fail('message_not_found', `the application has no message ${offset}`);
  }
}

const eventIdScope = (logId: string) => `event-id ${logId}`;

function eventIdClaim(logId: string, eventId: string, now: number): AppendClaim {
  return { scope: eventIdScope(logId), key: eventId, since: now - DUPLICATE_WINDOW_MS, now };
}

function matches({ time, attributes }: Message<string>, query: EventQuery): boolean {
  if (query.before !== undefined && time >= query.before) return false;
  if (query.after !== undefined && time < query.after) return false;
  return hasAttributes(attributes, query);
}

/** Whether attributes match a query's event types (any of them), channel and tag; what is left out matches all. */
export function hasAttributes(attributes: MessageAttributes | undefined, query: Pick<EventQuery, 'eventTypes' | 'channel' | 'tag'>): boolean {
  if (query.eventTypes?.length && !query.eventTypes.includes(attributes?.eventType ?? '')) return false;
  if (query.channel !== undefined && !attributes?.channels?.includes(query.channel)) return false;
  if (query.tag !== undefined && !attributes?.tags?.includes(query.tag)) return false;
  return true;
}
