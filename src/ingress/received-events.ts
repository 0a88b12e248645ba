import { demand, type Principal } from '../auth/principal.js';
import { allows, type Permission } from '../domain/acl.js';
import { fail } from '../domain/errors.js';
import type { DeliveryAttempt, EgressWebhook, EventRecord, IngressWebhook, Message } from '../domain/types.js';
import type { Deliveries } from '../egress/deliveries.js';
import type { EgressStore, EventFilter, EventStore, IngressStore, MessageStore } from '../store/store.js';

/** What an event's deliveries add up to; `rejected` for a request refused for its signature. */
export type EventStatus = 'pending' | 'delivered' | 'partial' | 'failed' | 'rejected';
export const EVENT_STATUSES: readonly EventStatus[] = ['pending', 'delivered', 'partial', 'failed', 'rejected'];

/** Where an event stands with one destination. */
export type EventDeliveryStatus = 'pending' | 'delivered' | 'failed';

/**
 * How far back a filter that the store cannot answer by an index looks:
 * `status` (worked out from the deliveries) and `search` (a substring of
 * the payload) consider the newest this many events that match the other
 * filters, so that a request over a million events stays bounded.
 */
export const EVENTS_SCANNED = 10_000;
/** Most attempts of one message to one destination read back. */
const ATTEMPTS_READ = 250;
/** How far back a search looks in payload bytes, whatever the number of events: the scan reads each payload. */
const SEARCHED_BYTES = 32 * 1024 * 1024;
/** Most events one bulk replay names. */
export const MAX_BULK_REPLAY = 100;

export interface EventQuery {
  page: number;
  pageSize: number;
  sourceId?: string;
  status?: EventStatus;
  fromMs?: number;
  toMs?: number;
  search?: string;
  signatureValid?: boolean;
}

export interface EventDelivery {
  destination: EgressWebhook;
  status: EventDeliveryStatus;
  /** Oldest first; read only where asked for. */
  attempts: DeliveryAttempt[];
}

/** An event as the API shows it: its record, its source, and where its deliveries stand. */
export interface EventView {
  record: EventRecord;
  /** undefined once the ingress webhook was deleted. */
  source: IngressWebhook | undefined;
  status: EventStatus;
  deliveries: EventDelivery[];
  /** The message as appended, with its headers; null once retention removed it, and for a refused request. */
  message: Message | null;
}

export interface EventPage {
  events: EventView[];
  /** With `search` or `status`, the matches among the newest EVENTS_SCANNED only. */
  total: number;
}

/**
 * What arrived through the ingress webhooks (a Hookbase-style events API):
 * each event with where its deliveries stand, its payload as received,
 * replay through the delivery operations, and deletion. A token sees the
 * events of the logs it may consume and the deliveries of the destinations
 * whose attempts it may see; it replays to destinations it may resend to.
 */
export class ReceivedEvents {
  constructor(
    private readonly store: EventStore,
    private readonly ingress: Pick<IngressStore, 'get'>,
    private readonly egress: Pick<EgressStore, 'list'>,
    private readonly messages: Pick<MessageStore, 'read' | 'describe'>,
    private readonly deliveries: Deliveries,
  ) {}

  async list(by: Principal, query: EventQuery): Promise<EventPage> {
    const filter: EventFilter = {
      logIds: consumableLogs(by),
      ...(query.sourceId !== undefined && { sourceId: query.sourceId }),
      ...(query.fromMs !== undefined && { fromMs: query.fromMs }),
      ...(query.toMs !== undefined && { toMs: query.toMs }),
      ...(query.signatureValid !== undefined && { accepted: query.signatureValid }),
      ...(query.search !== undefined && { search: { bytes: Buffer.from(query.search), scan: EVENTS_SCANNED, scanBytes: SEARCHED_BYTES } }),
    };
    // Refused requests are the rejected ones; no accepted event is.
    if (query.status === 'rejected') {
      if (query.signatureValid === true) return { events: [], total: 0 };
      filter.accepted = false;
    }
    const skip = (query.page - 1) * query.pageSize;
    const destinations = await this.destinationsFor(by);
    const byDeliveries = query.status !== undefined && query.status !== 'rejected';
    if (!byDeliveries && query.search === undefined) {
      const [records, total] = await Promise.all([this.store.list(filter, skip, query.pageSize), this.store.count(filter)]);
      return { events: await this.views(records, destinations), total };
    }
    // A search or a status looks at the newest EVENTS_SCANNED candidates once, and pages here.
    if (byDeliveries) {
      if (query.signatureValid === false) return { events: [], total: 0 };
      filter.accepted = true;
    }
    let matched = await this.store.list(filter, 0, EVENTS_SCANNED);
    if (byDeliveries) {
      const states = await this.deliveryStates(matched, destinations);
      matched = matched.filter((record) => statusOf(record, states.get(record.id) ?? []) === query.status);
    }
    return { events: await this.views(matched.slice(skip, skip + query.pageSize), destinations), total: matched.length };
  }

  /** One event, with its message's payload; with `attempts`, each delivery's attempts too. */
  async get(by: Principal, id: string, { attempts = false } = {}): Promise<EventView> {
    const record = await this.record(by, id);
    const [view] = await this.views([record], await this.destinationsFor(by, record.logId), { attempts, payload: true });
    return view!;
  }

  /** The body exactly as received, and its content type; 410 once retention removed it. */
  async payload(by: Principal, id: string): Promise<{ body: Buffer; contentType: string | undefined }> {
    return payloadOf(await this.get(by, id));
  }

  /**
   * Sends events again: each to the active destinations of its log that the
   * token may resend to, or to those of `destinationIds`, each destination
   * as one task of manual attempts. Every destination is checked (rights,
   * state, running tasks) before any task is made, so a refusal queues
   * nothing. Named destinations must be of the events' logs and seen by the
   * token; others are not found.
   */
  async replay(by: Principal, ids: string[], destinationIds?: string[]): Promise<{ eventsQueued: number; deliveriesCreated: number }> {
    const records: EventRecord[] = [];
    for (const id of new Set(ids)) records.push(await this.record(by, id));
    const refused = records.find((record) => record.refused);
    if (refused) fail('event_not_replayable', `event '${refused.id}' was refused for its signature and never appended`);
    const byLog = byLogOf(records);
    const ofEvents = (await this.egress.list({})).filter((webhook) => byLog.has(webhook.logId));
    const visible = ofEvents.filter((webhook) => may(by, 'attempts', webhook) || may(by, 'resend', webhook));
    for (const destinationId of destinationIds ?? []) {
      if (!visible.some((webhook) => webhook.id === destinationId))
        fail('egress_webhook_not_found', `egress webhook '${destinationId}' is no destination of these events`);
    }
    const plans: Array<{ target: EgressWebhook; events: EventRecord[] }> = [];
    for (const [logId, events] of byLog) {
      const ofLog = visible.filter((webhook) => webhook.logId === logId);
      const targets = destinationIds
        ? ofLog.filter((webhook) => destinationIds.includes(webhook.id))
        : ofLog.filter((webhook) => webhook.state.active && may(by, 'resend', webhook));
      // Destinations it may not resend to are left out of "every destination"; if that leaves none, it may not replay the log's events.
      if (!destinationIds && targets.length === 0 && ofEvents.some((webhook) => webhook.logId === logId && webhook.state.active)) {
        demand(by, { subject: 'egress_webhooks', action: 'resend', objectId: logId });
      }
      for (const target of targets) {
        demand(by, { subject: 'egress_webhooks', action: 'resend', objectId: target.id, parentId: logId });
        await this.deliveries.ready(target.id);
        plans.push({ target, events });
      }
    }
    const described = new Map<string, Map<number, Pick<Message, 'headers' | 'attributes'>>>();
    for (const [logId, events] of byLog)
      described.set(
        logId,
        await this.messages.describe(
          logId,
          events.map((record) => record.offset!),
        ),
      );
    const queued = new Set<string>();
    let deliveriesCreated = 0;
    for (const { target, events } of plans) {
      const found = described.get(target.logId)!;
      const messages = events.filter((record) => found.has(record.offset!)).map((record) => ({ offset: record.offset!, ...found.get(record.offset!) }));
      const sent = await this.deliveries.resendEach(target.id, messages);
      if (!sent) continue;
      deliveriesCreated += sent.offsets.length;
      for (const record of events) if (sent.offsets.includes(record.offset!)) queued.add(record.id);
    }
    // A single event whose message is gone cannot be sent again: say so rather than queue nothing.
    const [only] = records;
    if (records.length === 1 && !described.get(only!.logId)!.has(only!.offset!)) expired(only!.id);
    return { eventsQueued: queued.size, deliveriesCreated };
  }

  /** Deletes the event, its message and its deliveries; the offset stays taken. */
  async delete(by: Principal, id: string): Promise<void> {
    const record = await this.record(by, id);
    demand(by, { subject: 'messages', action: 'cleanup', objectId: record.logId });
    await this.store.delete(id);
  }

  /** An event the token may see: of a log it may consume. Others are not found, so ids of other logs reveal nothing. */
  private async record(by: Principal, id: string): Promise<EventRecord> {
    const record = await this.store.get(id);
    if (!record || !allows(by.rules, consume(record.logId))) fail('event_not_found', `Event with ID ${id} not found`);
    return record;
  }

  /** The destinations (of `logId`, or of every log) whose deliveries the token may see. */
  private async destinationsFor(by: Principal, logId?: string): Promise<EgressWebhook[]> {
    const all = await this.egress.list({});
    return all.filter((webhook) => (logId === undefined || webhook.logId === logId) && may(by, 'attempts', webhook));
  }

  /**
   * Events as the API shows them. Lists read each message's headers only;
   * one event (`payload`) reads its message whole.
   */
  private async views(records: EventRecord[], destinations: EgressWebhook[], { attempts = false, payload = false } = {}): Promise<EventView[]> {
    const states = await this.deliveryStates(records, destinations);
    const sources = new Map<string, IngressWebhook | undefined>();
    for (const sourceId of new Set(records.map((record) => record.sourceId))) sources.set(sourceId, await this.ingress.get(sourceId));
    const messages = new Map<string, Message | null>();
    for (const [logId, events] of byLogOf(records.filter((record) => record.offset !== null))) {
      if (payload) {
        for (const record of events) messages.set(record.id, await this.message(record));
        continue;
      }
      const found = await this.messages.describe(
        logId,
        events.map((record) => record.offset!),
      );
      for (const record of events) {
        const described = found.get(record.offset!);
        messages.set(
          record.id,
          described ? { offset: record.offset!, time: record.queuedAt ?? record.receivedAt, key: null, value: null, ...described } : null,
        );
      }
    }
    const views: EventView[] = [];
    for (const record of records) {
      const deliveries = states.get(record.id) ?? [];
      if (attempts) {
        for (const delivery of deliveries) {
          const read = await this.deliveries.attempts(delivery.destination.id, { offset: record.offset!, limit: ATTEMPTS_READ });
          delivery.attempts = read.attempts.reverse();
        }
      }
      views.push({ record, source: sources.get(record.sourceId), status: statusOf(record, deliveries), deliveries, message: messages.get(record.id) ?? null });
    }
    return views;
  }

  private async message(record: EventRecord): Promise<Message | null> {
    const [message] = await this.messages.read(record.logId, record.offset!, 1, { headers: true });
    return message?.offset === record.offset ? message : null;
  }

  /**
   * Each accepted event's deliveries: one per destination of its log that
   * has dealt with its message or will. A destination made after the
   * message, and one whose filter skipped it, is none of its destinations.
   */
  private async deliveryStates(records: EventRecord[], destinations: EgressWebhook[]): Promise<Map<string, EventDelivery[]>> {
    const byEvent = new Map<string, EventDelivery[]>();
    for (const [logId, events] of byLogOf(records.filter((record) => record.offset !== null))) {
      for (const destination of destinations.filter((webhook) => webhook.logId === logId)) {
        const states = await this.deliveries.states(
          destination.id,
          events.map((record) => record.offset!),
        );
        for (const record of events) {
          const state = states.get(record.offset!);
          if (!state || state.status === 'skipped') continue;
          const status: EventDeliveryStatus = state.status === 'success' ? 'delivered' : state.status === 'failed' ? 'failed' : 'pending';
          byEvent.set(record.id, [...(byEvent.get(record.id) ?? []), { destination, status, attempts: [] }]);
        }
      }
    }
    return byEvent;
  }
}

/** An event's body and content type: a refused one's as kept, an accepted one's from its message, 410 once that is gone. */
export function payloadOf({ record, message }: EventView): { body: Buffer; contentType: string | undefined } {
  if (record.refused) return { body: record.refused.body ?? Buffer.alloc(0), contentType: record.refused.headers['content-type'] };
  if (!message) expired(record.id);
  return { body: message.value ?? Buffer.alloc(0), contentType: message.headers?.['content-type'] };
}

/** An event's status from its deliveries: pending while any is, or when it has none yet. */
function statusOf(record: EventRecord, deliveries: EventDelivery[]): EventStatus {
  if (record.refused) return 'rejected';
  if (deliveries.length === 0 || deliveries.some((d) => d.status === 'pending')) return 'pending';
  const delivered = deliveries.filter((d) => d.status === 'delivered').length;
  if (delivered === deliveries.length) return 'delivered';
  return delivered === 0 ? 'failed' : 'partial';
}

/** Records by their log (Map.groupBy needs Node 21). */
function byLogOf(records: EventRecord[]): Map<string, EventRecord[]> {
  const byLog = new Map<string, EventRecord[]>();
  for (const record of records) byLog.set(record.logId, [...(byLog.get(record.logId) ?? []), record]);
  return byLog;
}

const consume = (logId: string): Permission => ({ subject: 'messages', action: 'consume', objectId: logId });

/** Whether the token may do `action` on a destination, by its own rights or its log's. */
const may = (by: Principal, action: 'attempts' | 'resend', webhook: EgressWebhook) =>
  allows(by.rules, { subject: 'egress_webhooks', action, objectId: webhook.id, parentId: webhook.logId });

/** The logs whose events a token may list: null for every log. */
function consumableLogs(by: Principal): string[] | null {
  if (by.rules === null || by.rules.length === 0) return null;
  const rules = by.rules.filter((rule) => rule.subject === 'messages' && (rule.action === undefined || rule.action === 'consume'));
  if (rules.some((rule) => rule.objectId === undefined)) return null;
  return [...new Set(rules.map((rule) => rule.objectId!))];
}

function expired(id: string): never {
  fail('payload_expired', `Event payload has been deleted due to retention policy (event ${id})`);
}
