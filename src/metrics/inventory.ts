import type { EgressStore, IngressStore, LogStore } from '../store/store.js';
import { type LagStores, lagOf } from './delivery-lag.js';
import type { ScrapeState } from './metrics.js';

export interface InventoryDeps extends LagStores {
  logs: Pick<LogStore, 'list'>;
  ingress: Pick<IngressStore, 'list'>;
  egress: Pick<EgressStore, 'list' | 'parked'>;
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
 * holds, by the node that holds the `delivery_lag` lead. A scrape costs three
 * list queries, and two queries per destination reported.
 */
export class Inventory {
  constructor(private readonly deps: InventoryDeps) {}

  async read(): Promise<ScrapeState> {
    const { logs, ingress, egress, held, leadsInactive } = this.deps;
    const [allLogs, sources, destinations] = await Promise.all([logs.list({}), ingress.list({}), egress.list({})]);
    const endOf = new Map(allLogs.map((log) => [log.id, log.nextOffset]));
    const mine = new Set(held());
    const inactiveToo = await leadsInactive();
    const reported = destinations.filter((webhook) => (webhook.state.active ? mine.has(webhook.id) : inactiveToo));
    const now = Date.now();
    const lags = [];
    // One at a time: a scrape must not take the pool from requests.
    for (const webhook of reported) {
      const end = endOf.get(webhook.logId);
      if (end !== undefined) lags.push(await lagOf(webhook, end, this.deps, now));
    }
    return {
      logs: new Set(endOf.keys()),
      sources: new Set(sources.map((source) => source.id)),
      destinations: new Set(destinations.map((webhook) => webhook.id)),
      lags,
    };
  }
}
