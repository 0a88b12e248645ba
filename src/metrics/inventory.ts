import type { EgressStore, IngressStore, LogStore, MessageStore } from '../store/store.js';
import { lagOf, type Parked } from './delivery-lag.js';
import type { ScrapeState } from './metrics.js';

export interface InventoryDeps {
  logs: Pick<LogStore, 'list'>;
  ingress: Pick<IngressStore, 'list'>;
  egress: Pick<EgressStore, 'list' | 'parked'>;
  messages: Pick<MessageStore, 'read'>;
  /** The egress webhooks whose lease this node holds (its dispatcher's lanes). */
  held: () => string[];
  /** Whether this node reports the inactive webhooks, which no node holds: one node of a cluster at a time. */
  leadsInactive: () => Promise<boolean>;
}

/**
 * What a scrape reads from the store: the ids that exist, so that the series
 * of deleted ones go, and the lag of the destinations this node reports.
 * Each destination is reported by one node of a cluster, so that a sum over
 * nodes counts it once: an active one by the node that holds its lease and
 * delivers to it; an inactive (paused, or given up on) one, which no node
 * holds, by the node that holds the `delivery_lag` lead. A read costs the
 * lead's write, three list queries, and two queries per destination reported.
 */
export class Inventory {
  constructor(private readonly deps: InventoryDeps) {}

  async read(): Promise<ScrapeState> {
    const { logs, ingress, egress, messages, held, leadsInactive } = this.deps;
    const inactiveToo = await leadsInactive();
    // The retry sets of the destinations this node delivers to are read before
    // their cursors: a lane that parks a message and moves its cursor past it
    // in between is then short of it for one scrape, rather than counting it
    // both as parked and as ahead of the cursor. One at a time, so that a
    // scrape takes one connection of the pool, not one per destination.
    const parkedOf = new Map<string, Parked>();
    for (const id of held()) parkedOf.set(id, await egress.parked(id));
    const [allLogs, sources, destinations] = await Promise.all([logs.list({}), ingress.list({}), egress.list({})]);
    const endOf = new Map(allLogs.map((log) => [log.id, log.nextOffset]));
    const now = Date.now();
    const lags = [];
    for (const webhook of destinations) {
      const end = endOf.get(webhook.logId);
      if (end === undefined) continue;
      // An inactive destination's cursor and retry set stand still: no lane moves them.
      const parked = webhook.state.active ? parkedOf.get(webhook.id) : inactiveToo ? await egress.parked(webhook.id) : undefined;
      if (parked) lags.push(await lagOf(webhook, end, parked, messages, now));
    }
    return {
      logs: new Set(endOf.keys()),
      sources: new Set(sources.map((source) => source.id)),
      destinations: new Set(destinations.map((webhook) => webhook.id)),
      lags,
    };
  }
}
