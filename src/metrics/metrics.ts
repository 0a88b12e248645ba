import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { AttemptOutcome } from '../delivery/outcome.js';
import type { IngressResult } from '../ingress/ingress-webhooks.js';
import type { RetentionKind } from '../log/retention.js';
import type { PoolUsage } from '../store/store.js';
import type { DestinationLag } from './delivery-lag.js';
import { SeriesCache } from './series-cache.js';
import { SharedRead } from './shared-read.js';

/** What the node knows only when scraped: read then rather than kept up to date on every change. */
export interface ScrapeSources {
  /** Long-polls waiting for messages. */
  waiters(): number;
  /** Webhook leases this node holds, and whether it leads the retention job. */
  leases(): { webhooks: number; retention: boolean };
  /** The database pool, where the store has one. */
  pool?: () => PoolUsage;
  /** The ids that exist now, and the lag of the destinations this node reports. */
  state(): Promise<ScrapeState>;
}

export interface ScrapeState {
  logs: ReadonlySet<string>;
  sources: ReadonlySet<string>;
  destinations: ReadonlySet<string>;
  lags: DestinationLag[];
}

/** Latency buckets in seconds, from a fast commit to a delivery's default timeout. */
const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15];
/** Requests per group commit. */
const GROUP_SIZES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
/** How long a scrape waits for the store: Prometheus' default scrape timeout is 10 s. */
const STORE_DEADLINE_MS = 2000;
/** How long a store read serves the scrapes after it: enough for several Prometheus servers scraping one node. */
const STORE_REUSE_MS = 1000;

/**
 * Node's process metrics, in one registry per process: prom-client starts an
 * event loop monitor and a GC observer for each registry it fills, which
 * nothing stops, so servers that come and go (as in the tests) share one.
 */
let processRegistry: Registry | null = null;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * Every metric hooklog exports, in a registry of its own (several servers in
 * one process, as in the tests, never share one). Services record through
 * the narrow interfaces they declare (publisher, ingress, dispatcher,
 * retention); this is the only module that knows prom-client. Labels are
 * ids and fixed sets only. On the hot paths a labelled child is looked up
 * in nested maps by id, never rebuilt from a label object.
 */
export class Metrics {
  readonly registry = new Registry();
  private storeRead: SharedRead | null = null;

  private readonly httpDuration = new Histogram({
    name: 'hooklog_http_request_duration_seconds',
    help: 'HTTP requests served, by dialect, route pattern (or unmatched) and status class',
    labelNames: ['dialect', 'route', 'status_class'] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });
  private readonly ingressRequests = new Counter({
    name: 'hooklog_ingress_requests_total',
    help: 'Requests to an ingress webhook, by source (ingress webhook id) and result',
    labelNames: ['source', 'result'] as const,
    registers: [this.registry],
  });
  private readonly ingestDuration = new Histogram({
    name: 'hooklog_ingest_duration_seconds',
    help: 'From an ingress request received whole to the commit of its message: settings, signature check and append (accepted or duplicate)',
    buckets: SECONDS,
    registers: [this.registry],
  });
  private readonly appended = new Counter({
    name: 'hooklog_log_messages_appended_total',
    help: 'Messages appended, by log',
    labelNames: ['log'] as const,
    registers: [this.registry],
  });
  private readonly commitSize = new Histogram({
    name: 'hooklog_log_commit_requests',
    help: 'Append requests committed together in one group commit',
    buckets: GROUP_SIZES,
    registers: [this.registry],
  });
  private readonly commitDuration = new Histogram({
    name: 'hooklog_log_commit_duration_seconds',
    help: 'Time one group commit took in the store, durable write included',
    buckets: SECONDS,
    registers: [this.registry],
  });
  private readonly attempts = new Counter({
    name: 'hooklog_delivery_attempts_total',
    help: 'Delivery attempts, scheduled and manual, by destination (egress webhook id) and outcome',
    labelNames: ['destination', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly attemptDuration = new Histogram({
    name: 'hooklog_delivery_attempt_duration_seconds',
    help: 'Time one delivery attempt took, connection to last byte, by destination',
    labelNames: ['destination'] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });
  private readonly lagMessages = new Gauge({
    name: 'hooklog_delivery_lag_messages',
    help: 'Messages not yet delivered to a destination: from its cursor to the end of its log, and those parked for a retry',
    labelNames: ['destination'] as const,
    registers: [this.registry],
  });
  private readonly lagSeconds = new Gauge({
    name: 'hooklog_delivery_lag_seconds',
    help: 'Age of the oldest message not yet delivered to a destination; 0 when none waits',
    labelNames: ['destination'] as const,
    registers: [this.registry],
  });
  private readonly storeErrors = new Counter({
    name: 'hooklog_metrics_store_errors_total',
    help: 'Reads of the store for a scrape that failed or took over 2 s: those scrapes left the lag and the series of deleted ids as they were',
    registers: [this.registry],
  });
  private readonly retentionDeleted = new Counter({
    name: 'hooklog_retention_deleted_rows_total',
    help: 'Rows the retention job deleted, by kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  /** By dialect, then route: the children of each status class. */
  private readonly http = new Map<string, Map<string, Array<Histogram.Internal<string> | undefined>>>();
  private readonly ingress = new SeriesCache<Counter.Internal>();
  private readonly logs = new SeriesCache<Counter.Internal>();
  private readonly destinations = new SeriesCache<{ outcomes: Map<string, Counter.Internal>; duration: Histogram.Internal<string> }>();

  /** Adds the gauges read at scrape time; the composition root calls it once the services exist. */
  observe(sources: ScrapeSources): void {
    this.storeRead = new SharedRead(() => this.readStore(sources), {
      deadlineMs: STORE_DEADLINE_MS,
      reuseMs: STORE_REUSE_MS,
      onFailure: () => this.storeErrors.inc(),
    });
    const registers = [this.registry];
    new Gauge({
      name: 'hooklog_long_poll_waiters',
      help: 'Consume requests waiting for messages on this node',
      registers,
      collect() {
        this.set(sources.waiters());
      },
    });
    new Gauge({
      name: 'hooklog_leases_held',
      help: 'Leases this node holds: on egress webhooks it delivers to (webhook), on the retention job (retention, 0 or 1)',
      labelNames: ['kind'] as const,
      registers,
      collect() {
        const { webhooks, retention } = sources.leases();
        this.set({ kind: 'webhook' }, webhooks);
        this.set({ kind: 'retention' }, retention ? 1 : 0);
      },
    });
    const pool = sources.pool;
    if (!pool) return;
    const poolGauge = (name: string, help: string, read: (usage: PoolUsage) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read(pool()));
        },
      });
    poolGauge('hooklog_database_pool_connections', 'PostgreSQL connections open in the pool, idle or in use', (usage) => usage.total);
    poolGauge('hooklog_database_pool_idle_connections', 'PostgreSQL connections open and idle in the pool', (usage) => usage.idle);
    poolGauge('hooklog_database_pool_waiting_queries', 'Queries waiting for a PostgreSQL connection from the pool', (usage) => usage.waiting);
  }

  /** The metrics in Prometheus' text format, after reading (or reusing) what is read at scrape time. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    await this.storeRead?.wait();
    const [own, process] = await Promise.all([this.registry.metrics(), processMetrics().metrics()]);
    return { contentType: this.registry.contentType, body: own + process };
  }

  /** Applies a store read in one synchronous step, so that a scrape rendering meanwhile sees the gauges before or after it, never half-set. */
  private async readStore(sources: ScrapeSources): Promise<void> {
    const startedAt = Date.now();
    const state = await sources.state();
    // Series of ids that no longer exist go; those first seen during the read above may be newer than it, and stay.
    this.ingress.prune(state.sources, startedAt, (id, result) => this.ingressRequests.remove(id, result));
    this.logs.prune(state.logs, startedAt, (id) => this.appended.remove(id));
    this.destinations.prune(state.destinations, startedAt, (id, _key, { outcomes }) => {
      for (const outcome of outcomes.keys()) this.attempts.remove(id, outcome);
      this.attemptDuration.remove(id);
    });
    this.lagMessages.reset();
    this.lagSeconds.reset();
    for (const { webhookId, messages, seconds } of state.lags) {
      this.lagMessages.set({ destination: webhookId }, messages);
      this.lagSeconds.set({ destination: webhookId }, seconds);
    }
  }

  request(dialect: string, route: string, statusCode: number, seconds: number): void {
    let routes = this.http.get(dialect);
    if (!routes) this.http.set(dialect, (routes = new Map()));
    let byClass = routes.get(route);
    if (!byClass) routes.set(route, (byClass = []));
    const index = Math.min(4, Math.max(0, Math.floor(statusCode / 100) - 1));
    let child = byClass[index];
    if (!child) byClass[index] = child = this.httpDuration.labels(dialect, route, STATUS_CLASSES[index]!);
    child.observe(seconds);
  }

  ingressResult(sourceId: string, result: IngressResult): void {
    this.ingress.get(sourceId, result, () => this.ingressRequests.labels(sourceId, result)).inc();
  }

  ingested(seconds: number): void {
    this.ingestDuration.observe(seconds);
  }

  appendedTo(logId: string, messages: number): void {
    this.logs.get(logId, '', () => this.appended.labels(logId)).inc(messages);
  }

  committed(requests: number, seconds: number): void {
    this.commitSize.observe(requests);
    this.commitDuration.observe(seconds);
  }

  attempted(destinationId: string, outcome: AttemptOutcome, seconds: number): void {
    const series = this.destinations.get(destinationId, '', () => ({
      outcomes: new Map<string, Counter.Internal>(),
      duration: this.attemptDuration.labels(destinationId),
    }));
    let counter = series.outcomes.get(outcome);
    if (!counter) series.outcomes.set(outcome, (counter = this.attempts.labels(destinationId, outcome)));
    counter.inc();
    series.duration.observe(seconds);
  }

  retained(kind: RetentionKind, rows: number): void {
    if (rows > 0) this.retentionDeleted.inc({ kind }, rows);
  }
}
