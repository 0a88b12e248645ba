import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { type DestinationStream, type Logger, pino } from 'pino';
import { IdempotencyKeys } from './auth/idempotency-keys.js';
import { Integrations } from './auth/integrations.js';
import { Tokens } from './auth/tokens.js';
import type { Config } from './config/schema.js';
import { Dispatcher } from './delivery/dispatcher.js';
import { OutboundClient } from './delivery/outbound.js';
import { RetrySchedule } from './delivery/schedule.js';
import type { HooklogError } from './domain/errors.js';
import { randomBase62 } from './domain/ids.js';
import type { Readiness } from './domain/types.js';
import { Deliveries } from './egress/deliveries.js';
import { EgressWebhooks } from './egress/egress-webhooks.js';
import { Endpoints } from './egress/endpoints.js';
import { EventTypes } from './egress/event-types.js';
import { Transformations } from './egress/transformations.js';
import { buildApp } from './http/app.js';
import { EVENTS, EVENTS_ERRORS, EVENTS_PREFIX, eventsApi } from './http/dialects/events/index.js';
import { KLEV, klevApi } from './http/dialects/klev/index.js';
import { KWP, KWP_PREFIX, kwpApi } from './http/dialects/kwp/index.js';
import { SVIX, SVIX_ERRORS, SVIX_PREFIX, svixApi } from './http/dialects/svix/index.js';
import { HEALTH, healthChecks, healthListener, loggedReadiness } from './http/health.js';
import { INGRESS, INGRESS_PREFIX, ingressEndpoint } from './http/ingress.js';
import { METRICS, metricsEndpoint } from './http/metrics.js';
import { observeRequests } from './http/request-log.js';
import { under } from './http/router.js';
import { Channels } from './ingress/channels.js';
import { IngressWebhooks, QUARANTINE_DAYS } from './ingress/ingress-webhooks.js';
import { ReceivedEvents } from './ingress/received-events.js';
import { Applications } from './log/applications.js';
import { Consumer } from './log/consumer.js';
import { Events } from './log/events.js';
import { Logs } from './log/logs.js';
import { LongPolls } from './log/long-polls.js';
import { LogNotifier } from './log/notifier.js';
import { Offsets } from './log/offsets.js';
import { Publisher } from './log/publisher.js';
import { RetentionJob } from './log/retention.js';
import { Inventory } from './metrics/inventory.js';
import { Metrics } from './metrics/metrics.js';
import { klevCode, klevErrorBody } from './protocols/klev/errors.js';
import { kwpErrorBody } from './protocols/kwp/errors.js';
import { openPostgresStore } from './store/postgres/index.js';
import { migratePostgres } from './store/postgres/migrate.js';
import { openSqliteStore } from './store/sqlite/index.js';
import type { Store } from './store/store.js';
import { Sandbox } from './transformation/sandbox.js';
import { Transformer } from './transformation/transformer.js';
import { VERSION } from './version.js';

const DAY_MS = 24 * 3600 * 1000;

/**
 * How long a node reports the lag of inactive destinations after a scrape:
 * another node's scrape takes over when this one is no longer scraped.
 */
const LAG_LEAD_MS = 120_000;
/** How long /readyz waits for the database. */
const READY_TIMEOUT_MS = 1000;

/** How long a shutdown waits for requests in flight before closing their connections. */
const SHUTDOWN_GRACE_MS = 10_000;

export interface RunningServer {
  /** The HTTP app; null on a worker-only node, which does not listen. */
  app: FastifyInstance | null;
  logger: Logger;
  /** The storage, for tests that check what the API does not show yet. */
  store: Store;
  /** Base URL the server answers on, e.g. http://127.0.0.1:8080; null on a worker-only node. */
  url: string | null;
  /** The listener on health_port, which serves only the health checks (and the plugins added to it); null when health_port is 0. */
  health: FastifyInstance | null;
  /** Its base URL; null when health_port is 0. */
  healthUrl: string | null;
  /**
   * Answers /readyz with 503 for shutdown_delay_seconds while still serving (on a node with an API listener),
   * then stops accepting requests, finishes those in flight, commits queued writes and closes storage.
   */
  close(): Promise<void>;
}

/**
 * The composition root: builds the store, the core, and what the node's role
 * asks for. An api node serves HTTP; a worker node delivers egress webhooks
 * and runs retention; `all` does both.
 */
export async function startServer(
  config: Config,
  print: (line: string) => void = console.log,
  /** Where log lines go: stdout unless given (tests keep each run's logs in files). */
  logDestination?: DestinationStream,
): Promise<RunningServer> {
  const logger = logDestination ? pino({ level: config.logLevel }, logDestination) : pino({ level: config.logLevel });
  const store = await openStore(config, logger);
  // One process owns a SQLite file, so a fixed identity lets it keep its leases across restarts.
  const nodeId = store.capabilities.sharedByNodes ? `${hostname()}-${process.pid}-${randomBase62(6)}` : 'local';
  const serves = config.role !== 'worker';
  const works = config.role !== 'api';
  const leaseMs = config.leaseSeconds * 1000;

  const metrics = new Metrics();
  const notifier = new LogNotifier();
  const longPolls = new LongPolls(config.maxLongPolls, config.maxLongPollsPerToken);
  const publisher = new Publisher(store.messages, store.capabilities.appendsInFlight, metrics);
  const tokens = new Tokens(store.tokens, config.adminToken);
  const sender = new OutboundClient({ timeoutMs: config.deliveryTimeoutSeconds * 1000, allowPrivate: config.allowPrivateDestinations });
  const sandbox = new Sandbox({
    timeoutMs: config.transformationTimeoutMs,
    memoryBytes: config.transformationMemoryMb * 1024 * 1024,
    maxOutputBytes: config.transformationMaxOutputBytes,
    threads: config.transformationThreads,
    logger,
  });
  const transformer = new Transformer(sandbox);
  const dispatcher = works
    ? new Dispatcher({
        store: store.egress,
        cluster: store.cluster,
        messages: store.messages,
        notifier,
        sender,
        transformer,
        schedule: new RetrySchedule(config.retrySchedule),
        logger,
        nodeId,
        leaseMs,
        recorder: metrics,
      })
    : null;
  const intervalMs = config.retentionIntervalSeconds * 1000;
  const historyMs = config.attemptRetentionDays * DAY_MS;
  const idempotencyKeys = new IdempotencyKeys(store.idempotency);
  const retention = works
    ? new RetentionJob({
        store: store.retention,
        intervalMs,
        deliveryHistoryMs: historyMs,
        logger,
        lead: () => {
          const now = Date.now();
          return store.cluster.lead('retention', nodeId, now, now + 2 * intervalMs + leaseMs);
        },
        steps: [
          { kind: 'idempotency_answers', forget: (limit) => idempotencyKeys.purge(Date.now(), limit) },
          { kind: 'expired_tokens', forget: (limit) => store.tokens.purgeExpired(Date.now(), limit) },
          // An event's record lasts as long as its attempts; the quarantine is shorter-lived.
          {
            kind: 'events',
            forget: (limit) => store.retention.purgeEvents(Date.now() - historyMs, Date.now() - QUARANTINE_DAYS * DAY_MS, limit),
          },
        ],
        recorder: metrics,
      })
    : null;
  // serving, then on close: draining (unready, every request still served), then closing (new requests refused).
  let phase: 'serving' | 'draining' | 'closing' = 'serving';

  const ingress = new IngressWebhooks(store.ingress, store.logs, publisher, store.events, logger, metrics);

  // The one path of changes, this node's and others': publishes wake long-polls and lanes,
  // webhook changes reach their lanes and the ingress settings cache before the API answers.
  await store.watch((change) => {
    if (change.kind === 'log_grown') notifier.notify(change.logId);
    else if (change.kind === 'egress_changed') dispatcher?.changed(change.webhookId);
    else if (change.kind === 'ingress_changed') ingress.forget(change.webhookId);
    else {
      notifier.wakeAll();
      dispatcher?.resync();
      ingress.forgetAll();
    }
  });

  const logs = new Logs(store.logs);
  const channels = new Channels(store.channels, logs, ingress, store.messages);
  const kept = await channels.sync(config.channels);
  for (const name of kept) {
    logger.warn({ channel: name }, 'channel is no longer in the config: kept with its webhooks; delete it with `hooklog channels delete` if unwanted');
  }

  const egress = new EgressWebhooks(store.egress, store.logs, config.allowPrivateDestinations);
  const eventTypes = new EventTypes(store.eventTypes);
  const consumer = new Consumer(store.logs, store.messages, notifier, longPolls);
  const inventory = new Inventory({
    logs: store.logs,
    ingress: store.ingress,
    egress: store.egress,
    messages: store.messages,
    held: () => dispatcher?.held() ?? [],
    leadsInactive: () => {
      const now = Date.now();
      return store.cluster.lead('delivery_lag', nodeId, now, now + LAG_LEAD_MS);
    },
  });
  metrics.observe({
    waiters: () => longPolls.waiting,
    leases: () => ({ webhooks: dispatcher?.held().length ?? 0, retention: retention?.isLeading ?? false }),
    ...(store.poolUsage && { pool: store.poolUsage }),
    state: () => inventory.read(),
  });
  const deliveries = new Deliveries(store.egress, store.logs, store.messages, (id) => dispatcher?.sending(id) ?? []);
  const deps = {
    tokens,
    logs,
    offsets: new Offsets(store.offsets, store.logs),
    publisher,
    consumer,
    egress,
    deliveries,
    ingress,
    receivedEvents: new ReceivedEvents(store.events, store.ingress, store.egress, store.messages, deliveries),
    channels,
    applications: new Applications(store.applications, store.logs),
    endpoints: new Endpoints(egress, store.endpoints, eventTypes),
    transformations: new Transformations(store.egress, egress, store.messages, transformer),
    eventTypes,
    events: new Events(publisher, store.messages),
    integrations: new Integrations(store.integrations, tokens),
    idempotencyKeys,
    isClosing: () => phase === 'closing',
  };
  const requestTimeoutMs = config.requestTimeoutSeconds * 1000;
  // klev is the root dialect: errors raised before routing are written in its body, but under another dialect's prefix in that one's.
  const kwpErrors = { body: (error: HooklogError) => kwpErrorBody(error, klevCode(error.errorName)) };
  const errorsFor = (url: string | undefined) =>
    under(SVIX_PREFIX, url) ? SVIX_ERRORS : under(EVENTS_PREFIX, url) ? EVENTS_ERRORS : under(KWP_PREFIX, url) ? kwpErrors : { body: klevErrorBody };
  const appOptions = {
    maxBodyBytes: config.maxBodyBytes,
    requestTimeoutMs,
    keepAliveTimeoutMs: config.keepAliveTimeoutSeconds * 1000,
    maxConnections: config.maxConnections,
    logger,
    errorsFor,
  };
  const app = serves ? buildApp(deps, appOptions) : null;
  const readiness = loggedReadiness(
    async (): Promise<Readiness> =>
      phase === 'serving' ? store.ready(READY_TIMEOUT_MS) : { ready: false, reason: 'shutting_down', detail: 'the node is shutting down' },
    logger,
  );
  const metricsOptions = { scrape: () => metrics.scrape(), token: config.metricsToken, errorBody: klevErrorBody };
  const dialects = {
    prefixes: [
      [INGRESS_PREFIX, INGRESS],
      [SVIX_PREFIX, SVIX],
      [EVENTS_PREFIX, EVENTS],
      [KWP_PREFIX, KWP],
    ] as const,
    root: KLEV,
    probes: new Set([HEALTH, METRICS]),
  };
  // A second listener of the health checks and metrics alone, for a worker (which has no other) or a port kept off the public network.
  const health = config.healthPort ? healthListener(deps, { ...appOptions, readiness, errorBody: klevErrorBody }) : null;
  if (health) {
    observeRequests(health, logger, metrics, dialects);
    health.register(metricsEndpoint, metricsOptions);
  }
  if (app) {
    observeRequests(app, logger, metrics, dialects);
    app.register(healthChecks, { readiness, errorBody: klevErrorBody });
    // The metrics name every ingress webhook: without their own bearer, only on the health port, which operators keep private.
    if (config.metricsToken) app.register(metricsEndpoint, metricsOptions);
    app.register(klevApi, { deps, maxResponseBytes: config.maxResponseBytes, requestTimeoutMs, version: VERSION });
    app.register(svixApi, { deps, version: VERSION, prefix: SVIX_PREFIX });
    app.register(eventsApi, { deps, version: VERSION, prefix: EVENTS_PREFIX });
    app.register(kwpApi, {
      channels,
      maxResponseBytes: config.maxResponseBytes,
      requestTimeoutMs,
      maxRequestsPerClient: config.ingressMaxRequestsPerClient,
      errorBody: kwpErrors.body,
      prefix: KWP_PREFIX,
    });
    // The public URLs of klev's ingress webhooks.
    app.register(ingressEndpoint, { ingress, maxRequestsPerClient: config.ingressMaxRequestsPerClient, errorBody: klevErrorBody, dialect: KLEV });
  }

  if (!config.adminToken) {
    const bearer = await tokens.bootstrapAdmin(store);
    if (bearer) {
      print(`hooklog: created an admin token. It is shown only this once; keep it safe:\n\n  HOOKLOG_TOKEN=${bearer}\n`);
    }
  }

  // The ports first: one that is taken stops the start before any background work runs.
  let bound: Bound | null = null;
  let healthBound: Bound | null = null;
  try {
    bound = app ? await listen(app, config.host, config.port) : null;
    healthBound = health ? await listen(health, config.host, config.healthPort) : null;
  } catch (err) {
    await app?.close();
    await health?.close();
    await sender.close();
    await store.close();
    throw err;
  }
  retention?.start();
  await dispatcher?.start();
  const where = config.databaseUrl ? 'data in PostgreSQL' : `data in ${config.dataDir}`;
  const checks = healthBound ? `; health checks on ${healthBound.address}` : '';
  print(
    bound
      ? `hooklog: listening on ${bound.address} (${where}, node ${nodeId}, role ${config.role})${checks}`
      : `hooklog: worker running (${where}, node ${nodeId})${checks}`,
  );

  return {
    app,
    logger,
    store,
    url: bound?.url ?? null,
    health,
    healthUrl: healthBound?.url ?? null,
    async close() {
      // Balancers see the node unready and stop sending it requests; those they still send are served as usual.
      // A worker has no traffic to drain.
      if (app && phase === 'serving' && config.shutdownDelaySeconds > 0) {
        phase = 'draining';
        await new Promise((resolve) => setTimeout(resolve, config.shutdownDelaySeconds * 1000));
      }
      phase = 'closing';
      // Deliveries stop first: their lanes wait on the notifier closed below.
      await dispatcher?.stop();
      notifier.close();
      if (app) {
        // Requests still running after the grace period lose their connection; their
        // writes, if already queued, are still committed by the drain below.
        const force = setTimeout(() => app.server.closeAllConnections(), SHUTDOWN_GRACE_MS);
        await app.close();
        clearTimeout(force);
      }
      await publisher.drain();
      await ingress.flushCounts();
      await sender.close();
      await sandbox.close();
      await retention?.stop();
      await store.close();
      // Last, so that probes see the node unready ('shutting down') for the whole shutdown rather than refused.
      await health?.close();
    },
  };
}

interface Bound {
  /** As the startup line shows it. */
  address: string;
  /** A URL this machine reaches the server on. */
  url: string;
}

/**
 * Listens, and returns the address bound, as the startup line shows it, and a
 * URL this machine reaches the server on. An empty host binds every address:
 * IPv6 and IPv4 where the machine has IPv6, IPv4 alone otherwise.
 */
async function listen(app: FastifyInstance, host: string, port: number): Promise<Bound> {
  if (host) {
    await app.listen({ port, host });
  } else {
    try {
      await app.listen({ port, host: '::' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAFNOSUPPORT') throw err;
      await app.listen({ port, host: '0.0.0.0' });
    }
  }
  const { address, family, port: bound } = app.server.address() as AddressInfo;
  const shown = family === 'IPv6' ? `[${address}]` : address;
  const wildcard = address === '::' || address === '0.0.0.0';
  const every = address === '::' ? ' (every address)' : wildcard ? ' (every IPv4 address)' : '';
  return { address: `http://${shown}:${bound}${every}`, url: `http://${wildcard ? '127.0.0.1' : shown}:${bound}` };
}

/** The backend the configuration names: PostgreSQL when `database_url` is set, SQLite in `data_dir` otherwise. */
async function openStore(config: Config, logger: Logger): Promise<Store> {
  if (!config.databaseUrl)
    return openSqliteStore(config.dataDir, { sync: config.sqliteSync, cacheMb: config.sqliteCacheMb, allowReadableDir: config.allowReadableDataDir });
  return openPostgresStore(config.databaseUrl, {
    poolSize: config.databasePoolSize,
    statementTimeoutMs: config.databaseStatementTimeoutSeconds * 1000,
    acquireTimeoutMs: config.databaseAcquireTimeoutSeconds * 1000,
    onWatchError: (err) => logger.warn({ err }, 'lost the database connection that hears other nodes; reconnecting'),
  });
}

/** Applies the configured backend's migrations and says what it did: `hooklog migrate`. */
export async function migrate(config: Config): Promise<string> {
  if (config.databaseUrl) {
    const applied = await migratePostgres(config.databaseUrl);
    return applied.length ? `applied migrations ${applied.join(', ')}` : 'the database is up to date';
  }
  await openSqliteStore(config.dataDir, { sync: config.sqliteSync, cacheMb: config.sqliteCacheMb, allowReadableDir: config.allowReadableDataDir }).close();
  return `the SQLite database in ${config.dataDir} is up to date`;
}
