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

/**
 * Lease sharing at the engine level: two dispatchers with their own node ids
 * over one store, as two worker nodes over one database would run. (The same
 * with real processes on PostgreSQL is in test/cluster.test.ts.)
 */
describe('dispatcher leases', () => {
  let store: Store;
  let receiver: Receiver;
  let sender: OutboundClient;
  let notifier: LogNotifier;
  const dispatchers: Dispatcher[] = [];

  beforeEach(async () => {
    store = openSqliteStore(tempDir());
    receiver = await startReceiver();
    sender = new OutboundClient({ timeoutMs: 1000, allowPrivate: true });
    notifier = new LogNotifier();
    // As the server wires it: the store's change feed wakes lanes waiting on a log.
    await store.watch((change) => change.kind === 'log_grown' && notifier.notify(change.logId));
  });
  afterEach(async () => {
    await Promise.all(dispatchers.splice(0).map((d) => d.stop()));
    await sender.close();
    await receiver.close();
    await store.close();
  });

  const worker = async (nodeId: string) => {
    const dispatcher = new Dispatcher({
      store: store.egress,
      cluster: store.cluster,
      messages: store.messages,
      notifier,
      sender,
      transformer: NO_TRANSFORMATIONS,
      schedule: new RetrySchedule([0]),
      logger: { error: (obj, msg) => console.error(msg, obj), warn: () => {}, info: () => {} },
      nodeId,
      leaseMs: 600,
    });
    dispatchers.push(dispatcher);
    await dispatcher.start();
    return dispatcher;
  };
  const owners = async (ids: string[]) => {
    const counts = new Map<string, number>();
    for (const owner of await Promise.all(ids.map(leaseOwner))) counts.set(owner, (counts.get(owner) ?? 0) + 1);
    return counts;
  };
  // The lease columns are the store's own business; the conformance suite checks
  // them through claim(). Here a renewal by each candidate reveals the holder.
  const leaseOwner = async (id: string): Promise<string> => {
    for (const candidate of ['node-a', 'node-b']) {
      if ((await store.egress.renew(candidate, [id], Date.now() + 600)).length === 1) return candidate;
    }
    return 'none';
  };

  const newLog = () =>
    store.logs.create({ id: newId('log'), metadata: '', compacting: false, trimBytes: 0, trimSeconds: 0, compactSeconds: 0, expireSeconds: 0 });

  it('shares webhooks between live workers, and a stopped worker hands its share over', async () => {
    const log = await newLog();
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const webhook = await store.egress.create({
        id: newId('ewh'),
        logId: log.id,
        metadata: '',
        destination: `${receiver.url}?w=${i}`,
        payload: 'value',
        mode: 'ordered',
        signing: 'klev',
        headers: {},
        filter: { eventTypes: [], channels: [] },
        rateLimit: null,
        secret: 'ewhsec_test',
        startOffset: 0,
        nowMs: Date.now(),
      });
      ids.push(webhook.id);
    }
    const a = await worker('node-a');
    expect(await owners(ids)).toEqual(new Map([['node-a', 6]]));

    await worker('node-b');
    // A joins B: within a few renewal rounds each holds half.
    await eventually(
      async () =>
        expect(await owners(ids)).toEqual(
          new Map([
            ['node-a', 3],
            ['node-b', 3],
          ]),
        ),
      5_000,
    );

    const publisher = new Publisher(store.messages);
    await publisher.publish(log.id, [{ key: null, value: Buffer.from('one') }]);
    await receiver.waitFor(6);
    // Each webhook got the message once, from whichever node holds it.
    expect(receiver.received.map((r) => r.path).sort()).toEqual(ids.map((_, i) => `/hook?w=${i}`).sort());

    await a.stop();
    await eventually(async () => expect(await owners(ids)).toEqual(new Map([['node-b', 6]])), 5_000);
    await publisher.publish(log.id, [{ key: null, value: Buffer.from('two') }]);
    await receiver.waitFor(12);
    expect(receiver.received.filter((r) => r.body.toString() === 'two')).toHaveLength(6);
  });

  it('logs a deactivation only once it is stored: not when the store refused the record (a lease lost), and once when it took it', async () => {
    const log = await newLog();
    const webhook = await store.egress.create({
      id: newId('ewh'),
      logId: log.id,
      metadata: '',
      destination: receiver.url,
      payload: 'value',
      mode: 'ordered',
      signing: 'klev',
      headers: {},
      filter: { eventTypes: [], channels: [] },
      rateLimit: null,
      secret: 'ewhsec_test',
      startOffset: 0,
      nowMs: Date.now(),
    });
    receiver.fallback = { status: 500 };
    let refuse = true;
    const lines: Array<{ level: string; msg: string }> = [];
    const note = (level: string) => (_obj: object, msg: string) => void lines.push({ level, msg });
    const dispatcher = new Dispatcher({
      store: {
        ...store.egress,
        recordAttempt: (record, owner) => (refuse ? Promise.reject(new Error('the lease passed on')) : store.egress.recordAttempt(record, owner)),
      },
      cluster: store.cluster,
      messages: store.messages,
      notifier,
      sender,
      transformer: NO_TRANSFORMATIONS,
      // No retry: the first failure deactivates.
      schedule: new RetrySchedule([0]),
      logger: { error: note('error'), warn: note('warn'), info: note('info') },
      nodeId: 'node-a',
      leaseMs: 600,
    });
    dispatchers.push(dispatcher);
    await dispatcher.start();
    await new Publisher(store.messages).publish(log.id, [{ key: null, value: Buffer.from('one') }]);

    await eventually(() => expect(lines.filter((line) => line.msg === 'recording a delivery attempt failed').length).toBeGreaterThan(0));
    expect(lines.filter((line) => line.msg === 'egress webhook deactivated')).toEqual([]);
    expect((await store.egress.get(webhook.id))?.state.active).toBe(true);

    refuse = false;
    await eventually(async () => expect((await store.egress.get(webhook.id))?.state.active).toBe(false));
    await eventually(() =>
      expect(lines.filter((line) => line.msg === 'egress webhook deactivated')).toEqual([{ level: 'warn', msg: 'egress webhook deactivated' }]),
    );
  });
});
