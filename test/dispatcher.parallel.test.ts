import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Dispatcher } from '../src/delivery/dispatcher.js';
import { OutboundClient } from '../src/delivery/outbound.js';
import { RetrySchedule } from '../src/delivery/schedule.js';
import { newId } from '../src/domain/ids.js';
import { LogNotifier } from '../src/log/notifier.js';
import { Publisher } from '../src/log/publisher.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import type { Store } from '../src/store/store.js';
import { NO_TRANSFORMATIONS } from './helpers/egress.js';
import { type Receiver, startReceiver } from './helpers/receiver.js';
import { eventually, tempDir } from './helpers/server.js';

/** Parallel mode is internal for now, so it is driven at the engine level. */
describe('dispatcher, parallel mode', () => {
  let store: Store;
  let receiver: Receiver;
  let dispatcher: Dispatcher;
  let sender: OutboundClient;
  let publisher: Publisher;
  let logId: string;

  beforeEach(async () => {
    store = openSqliteStore(tempDir());
    receiver = await startReceiver();
    const notifier = new LogNotifier();
    // As the server wires it: the store's change feed wakes lanes waiting on a log.
    await store.watch((change) => change.kind === 'log_grown' && notifier.notify(change.logId));
    publisher = new Publisher(store.messages);
    sender = new OutboundClient({ timeoutMs: 1000, allowPrivate: true });
    dispatcher = new Dispatcher({
      store: store.egress,
      cluster: store.cluster,
      messages: store.messages,
      notifier,
      sender,
      transformer: NO_TRANSFORMATIONS,
      schedule: new RetrySchedule([0, 0.2, 0.2]),
      logger: { error: (obj, msg) => console.error(msg, obj), warn: () => {}, info: () => {} },
      nodeId: 'local',
      leaseMs: 15_000,
    });
    const log = await store.logs.create({
      id: newId('log'),
      metadata: '',
      compacting: false,
      trimBytes: 0,
      trimSeconds: 0,
      compactSeconds: 0,
      expireSeconds: 0,
    });
    logId = log.id;
  });
  afterEach(async () => {
    await dispatcher.stop();
    await sender.close();
    await receiver.close();
    await store.close();
  });

  const createWebhook = async () => {
    const webhook = await store.egress.create({
      id: newId('ewh'),
      logId,
      metadata: '',
      destination: receiver.url,
      payload: 'value',
      mode: 'parallel',
      signing: 'klev',
      headers: {},
      filter: { eventTypes: [], channels: [] },
      rateLimit: null,
      secret: 'ewhsec_test',
      startOffset: 0,
      nowMs: Date.now(),
    });
    dispatcher.changed(webhook.id);
    return webhook.id;
  };
  const publish = (...values: string[]) =>
    publisher.publish(
      logId,
      values.map((value) => ({ key: null, value: Buffer.from(value) })),
    );
  const bodies = () => receiver.received.map((r) => r.body.toString());

  it('parks a failed message and moves on; the retry set delivers it later', async () => {
    receiver.script({ status: 200 }, { status: 500 }, { status: 200 }, { status: 503 });
    const id = await createWebhook();
    await publish('a', 'b', 'c');
    await receiver.waitFor(5);
    // b fails, c goes out before b's retries, which follow the schedule.
    expect(bodies()).toEqual(['a', 'b', 'c', 'b', 'b']);
    // The last request has arrived; its outcome is recorded once its answer is back.
    await eventually(async () => expect(await store.egress.nextParked(id)).toBeUndefined());
    const webhook = await store.egress.get(id);
    expect(webhook?.state).toMatchObject({ active: true, nextOffset: 3 });
    const attempts = (await store.egress.attempts(id, { limit: 10 })).reverse();
    expect(attempts.map((a) => [a.offset, a.attempt, a.statusCode])).toEqual([
      [0, 1, 200],
      [1, 1, 500],
      [2, 1, 200],
      [1, 2, 503],
      [1, 3, 200],
    ]);
  });

  it('drops a message from the retry set when the schedule is used up, and stays active', async () => {
    receiver.script({ status: 500 }, { status: 500 }, { status: 500 });
    const id = await createWebhook();
    await publish('doomed');
    await receiver.waitFor(3);
    await eventually(async () => expect(await store.egress.nextParked(id)).toBeUndefined());
    // Dropped, not retried again: nothing more arrives in the next retry period.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(bodies()).toEqual(['doomed', 'doomed', 'doomed']);
    expect((await store.egress.get(id))?.state).toMatchObject({ active: true, nextOffset: 1 });
    await publish('later');
    await receiver.waitFor(4);
    expect(bodies()[3]).toBe('later');
  });
});
