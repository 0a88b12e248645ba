import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Tokens } from './auth/tokens.js';
import type { Config } from './config/schema.js';
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
import { openSqliteStore } from './store/sqlite/index.js';
import type { Store } from './store/store.js';

/** How long a shutdown waits for requests in flight before closing their connections. */
const SHUTDOWN_GRACE_MS = 10_000;

export interface RunningServer {
  app: FastifyInstance;
  /** The storage, for tests that check what the API does not show yet. */
  store: Store;
  /** Base URL the server answers on, e.g. http://127.0.0.1:8080 */
  url: string;
  /** Stops accepting requests, finishes those in flight, commits queued writes and closes storage. */
  close(): Promise<void>;
}

/** The composition root: builds the store, the core and the HTTP app, then listens. */
export async function startServer(config: Config, print: (line: string) => void = console.log): Promise<RunningServer> {
  const store = openSqliteStore(config.dataDir, config.sqliteSync);
  const notifier = new LogNotifier();
  const publisher = new Publisher(store.messages, notifier);
  const tokens = new Tokens(store.tokens, config.adminToken);
  const sender = new OutboundClient({ timeoutMs: config.deliveryTimeoutSeconds * 1000, allowPrivate: config.allowPrivateDestinations });
  const logger = pino({ level: config.logLevel });
  const dispatcher = new Dispatcher({
    store: store.egress,
    messages: store.messages,
    notifier,
    sender,
    schedule: new RetrySchedule(config.retrySchedule),
    logger,
  });
  let closing = false;

  const app = buildApp(
    {
      tokens,
      logs: new Logs(store.logs),
      offsets: new Offsets(store.offsets, store.logs),
      publisher,
      consumer: new Consumer(store.logs, store.messages, notifier),
      egress: new EgressWebhooks(store.egress, store.logs, dispatcher, config.allowPrivateDestinations),
      ingress: new IngressWebhooks(store.ingress, store.logs, publisher, logger),
      isClosing: () => closing,
    },
    { maxBodyBytes: config.maxBodyBytes, logger },
  );

  if (!config.adminToken) {
    const bearer = await tokens.bootstrapAdmin(store);
    if (bearer) {
      print(`hooklog: created an admin token. It is shown only this once; keep it safe:\n\n  HOOKLOG_TOKEN=${bearer}\n`);
    }
  }

  const retention = new RetentionJob(store.retention, config.retentionIntervalSeconds * 1000, logger);
  retention.start();
  await dispatcher.start();
  const url = await listen(app, config);
  print(`hooklog: listening on ${url} (data in ${config.dataDir})`);

  return {
    app,
    store,
    url,
    async close() {
      closing = true;
      // Deliveries stop first: their lanes wait on the notifier closed below.
      await dispatcher.stop();
      notifier.close();
      // Requests still running after the grace period lose their connection; their
      // writes, if already queued, are still committed by the drain below.
      const force = setTimeout(() => app.server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      await app.close();
      clearTimeout(force);
      await publisher.drain();
      await sender.close();
      await retention.stop();
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
