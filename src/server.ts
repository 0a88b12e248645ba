import type { FastifyInstance } from 'fastify';
import { hostname } from 'node:os';
import { type Logger, pino } from 'pino';
import { Tokens } from './auth/tokens.js';
import type { Config } from './config/schema.js';
import { randomBase62 } from './domain/ids.js';
import { Dispatcher } from './delivery/dispatcher.js';
import { EgressWebhooks } from './delivery/egress-webhooks.js';
import { OutboundClient } from './delivery/outbound.js';
import { RetrySchedule } from './delivery/schedule.js';
import { buildApp } from './http/app.js';
import { IngressWebhooks } from './ingress/ingress-webhooks.js';
import { Consumer } from './log/consumer.js';
import { Logs } from './log/logs.js';
import { LogNotifier } from './log/notifier.js';
import { Offsets } from './log/offsets.js';
import { Publisher } from './log/publisher.js';
import { RetentionJob } from './log/retention.js';
import { openStore } from './store/open.js';
import type { Store } from './store/store.js';

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
  /** Stops accepting requests, finishes those in flight, commits queued writes and closes storage. */
  close(): Promise<void>;
}

/**
 * The composition root: builds the store, the core, and what the node's role
 * asks for. An api node serves HTTP; a worker node delivers egress webhooks
 * and runs retention; `all` does both.
 */
export async function startServer(config: Config, print: (line: string) => void = console.log): Promise<RunningServer> {
  const logger = pino({ level: config.logLevel });
  const store = await openStore(config, logger);
  // One process owns a SQLite file, so a fixed identity lets it keep its leases across restarts.
  const nodeId = store.capabilities.sharedByNodes ? `${hostname()}-${process.pid}-${randomBase62(6)}` : 'local';
  const serves = config.role !== 'worker';
  const works = config.role !== 'api';
  const leaseMs = config.leaseSeconds * 1000;

  const notifier = new LogNotifier();
  const publisher = new Publisher(store.messages, notifier, store.capabilities.appendsInFlight);
  const tokens = new Tokens(store.tokens, config.adminToken);
  const sender = new OutboundClient({ timeoutMs: config.deliveryTimeoutSeconds * 1000, allowPrivate: config.allowPrivateDestinations });
  const dispatcher = works
    ? new Dispatcher({
        store: store.egress,
        cluster: store.cluster,
        messages: store.messages,
        notifier,
        sender,
        schedule: new RetrySchedule(config.retrySchedule),
        logger,
        nodeId,
        leaseMs,
      })
    : null;
  const intervalMs = config.retentionIntervalSeconds * 1000;
  const retention = works
    ? new RetentionJob(store.retention, intervalMs, logger, () => {
        const now = Date.now();
        return store.cluster.lead('retention', nodeId, now, now + 2 * intervalMs + leaseMs);
      })
    : null;
  let closing = false;

  // Other nodes' publishes wake this node's long-polls and lanes; their API changes reach its lanes.
  await store.watch((change) => {
    if (change.kind === 'log_grown') notifier.notify(change.logId);
    else if (change.kind === 'egress_changed') dispatcher?.changed(change.webhookId);
    else {
      notifier.wakeAll();
      dispatcher?.resync();
    }
  });

  const app = serves
    ? buildApp(
        {
          tokens,
          logs: new Logs(store.logs),
          offsets: new Offsets(store.offsets, store.logs),
          publisher,
          consumer: new Consumer(store.logs, store.messages, notifier),
          // An api-only node tells the workers through the store's change feed.
          egress: new EgressWebhooks(store.egress, store.logs, dispatcher ?? { changed() {} }, config.allowPrivateDestinations),
          ingress: new IngressWebhooks(store.ingress, store.logs, publisher, logger),
          isClosing: () => closing,
        },
        { maxBodyBytes: config.maxBodyBytes, logger },
      )
    : null;

  if (!config.adminToken) {
    const bearer = await tokens.bootstrapAdmin(store);
    if (bearer) {
      print(`hooklog: created an admin token. It is shown only this once; keep it safe:\n\n  HOOKLOG_TOKEN=${bearer}\n`);
    }
  }

  retention?.start();
  await dispatcher?.start();
  const url = app ? await listen(app, config) : null;
  const where = config.databaseUrl ? 'data in PostgreSQL' : `data in ${config.dataDir}`;
  print(url ? `hooklog: listening on ${url} (${where}, node ${nodeId}, role ${config.role})` : `hooklog: worker running (${where}, node ${nodeId})`);

  return {
    app,
    logger,
    store,
    url,
    async close() {
      closing = true;
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
      await sender.close();
      await retention?.stop();
      await store.close();
    },
  };
}

/** An empty host binds every address: IPv6 and IPv4 where the machine has IPv6, IPv4 alone otherwise. */
async function listen(app: FastifyInstance, config: Config): Promise<string> {
  if (config.host) return app.listen({ port: config.port, host: config.host });
  try {
    await app.listen({ port: config.port, host: '::' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EAFNOSUPPORT') throw err;
    await app.listen({ port: config.port, host: '0.0.0.0' });
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  return `http://127.0.0.1:${port}`;
}
