import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newId, newOrderedId } from '../src/domain/ids.js';
import type { EventRecord, RetentionSettings } from '../src/domain/types.js';
import type { Store } from '../src/store/store.js';
import type { StoreHarness } from './store.conformance.js';

const NO_RETENTION: RetentionSettings = { compacting: false, trimBytes: 0, trimSeconds: 0, compactSeconds: 0, expireSeconds: 0 };
const HOUR = 3600 * 1000;

/** The event records behind the events API: written with appends, quarantined, listed, searched, deleted and purged, on one backend. */
export function describeEventStoreConformance(backend: string, harness: StoreHarness, available = true): void {
  describe.runIf(available)(`store conformance, events: ${backend}`, () => {
    let store: Store;
    let logId: string;
    const source = newId('iwh');
    beforeEach(async () => {
      store = await harness.make();
      logId = newId('log');
      await store.logs.create({ id: logId, metadata: '', ...NO_RETENTION });
    });
    afterEach(async () => {
      await store.close();
    });

    const record = (receivedAt: number, fields: Partial<EventRecord> = {}): EventRecord => ({
      id: newOrderedId('evt', receivedAt),
      sourceId: source,
      logId,
      offset: null,
      receivedAt,
      validatedAt: receivedAt + 1,
      queuedAt: null,
      size: 3,
      hash: 'ab',
      ...fields,
    });
    /** Appends one message with its event's record, as an ingress webhook does. */
    const accepted = async (value: string, receivedAt = Date.now(), fields: Partial<EventRecord> = {}) => {
      const event = record(receivedAt, fields);
      const [outcome] = await store.messages.append(
        [{ logId: event.logId, messages: [{ key: null, value: Buffer.from(value) }], event }],
        receivedAt * 1000 + 5000,
      );
      return { event, outcome };
    };
    const refused = (body: string, receivedAt = Date.now(), sourceId = source) =>
      record(receivedAt, { sourceId, refused: { reason: 'bad_signature', detail: 'wrong', headers: { 'x-a': '1' }, body: Buffer.from(body) } });
    const all = { logIds: null };

    it('writes an event with its append: the offset of its message and the commit time', async () => {
      const at = Date.now();
      const { event, outcome } = await accepted('hello', at);
      expect(outcome).toEqual({ nextOffset: 1 });
      expect(await store.events.get(event.id)).toEqual({ ...event, offset: 0, queuedAt: at + 5 });
      // A duplicate append writes no record.
      const claim = { scope: 's', key: 'k', since: 0, now: at };
      const first = record(at);
      await store.messages.append([{ logId, messages: [{ key: null, value: Buffer.from('a') }], claims: [claim], event: first }], at * 1000);
      const again = record(at);
      const [dup] = await store.messages.append([{ logId, messages: [{ key: null, value: Buffer.from('a') }], claims: [claim], event: again }], at * 1000);
      expect(dup).toMatchObject({ duplicate: true });
      expect(await store.events.get(again.id)).toBeUndefined();
      expect(await store.events.get(first.id)).toMatchObject({ offset: 1 });
    });

    it('quarantines refused requests with their headers and body, the newest `keep` per source', async () => {
      const other = newId('iwh');
      const base = Date.now() - 10_000;
      const kept: EventRecord[] = [];
      for (let i = 0; i < 5; i++) {
        const one = refused(`body ${i}`, base + i);
        kept.push(one);
        await store.events.quarantine(one, 3);
      }
      await store.events.quarantine(refused('elsewhere', base, other), 3);
      const listed = await store.events.list({ logIds: null, sourceId: source }, 0, 10);
      expect(listed.map((e) => e.id)).toEqual(
        kept
          .slice(2)
          .map((e) => e.id)
          .reverse(),
      );
      // Lists leave bodies out; one record read alone has it.
      expect(listed[0]!.refused).toEqual({ reason: 'bad_signature', detail: 'wrong', headers: { 'x-a': '1' } });
      expect((await store.events.get(kept[4]!.id))!.refused!.body).toEqual(Buffer.from('body 4'));
      expect(await store.events.count({ logIds: null, sourceId: other })).toBe(1);
    });

    it('lists newest first, filtered by log, source, time and signature, and pages', async () => {
      const base = Date.now() - HOUR;
      const made: EventRecord[] = [];
      for (let i = 0; i < 6; i++) made.push((await accepted(`v${i}`, base + i * 1500)).event);
      await store.events.quarantine(refused('no', base + 20_000), 10);
      const newestFirst = made.map((e) => e.id).reverse();
      expect((await store.events.list(all, 0, 3)).map((e) => e.id)).toEqual([expect.stringMatching(/^evt_/), ...newestFirst.slice(0, 2)]);
      expect((await store.events.list({ ...all, accepted: true }, 2, 2)).map((e) => e.id)).toEqual(newestFirst.slice(2, 4));
      expect(await store.events.count(all)).toBe(7);
      expect(await store.events.count({ ...all, accepted: false })).toBe(1);
      expect(await store.events.count({ logIds: [newId('log')] })).toBe(0);
      expect(await store.events.count({ logIds: [] })).toBe(0);
      expect(await store.events.count({ logIds: [logId], sourceId: newId('iwh') })).toBe(0);
      // Times are exact to the millisecond, across second boundaries.
      const from = base + 1500;
      const to = base + 4500;
      expect((await store.events.list({ ...all, fromMs: from, toMs: to }, 0, 10)).map((e) => e.receivedAt)).toEqual([to, base + 3000, from]);
    });

    it('searches payloads, of accepted events in their messages and of refused ones in their bodies, within the scan', async () => {
      const base = Date.now() - HOUR;
      await accepted('{"x":"needle"}', base);
      await accepted('{"x":"hay"}', base + 1);
      await store.events.quarantine(refused('a needle too', base + 2), 10);
      const search = (text: string, scan = 100, scanBytes = 1000) => ({ logIds: null, search: { bytes: Buffer.from(text), scan, scanBytes } });
      expect(await store.events.count(search('needle'))).toBe(2);
      expect((await store.events.list(search('needle'), 0, 10)).map((e) => e.offset)).toEqual([null, 0]);
      expect(await store.events.count(search('absent'))).toBe(0);
      // Only the newest `scan` are looked at, and no further back than `scanBytes` (each record here is 3 bytes).
      expect(await store.events.count(search('needle', 2))).toBe(1);
      expect(await store.events.count(search('needle', 100, 7))).toBe(2);
      expect(await store.events.count(search('needle', 100, 6))).toBe(1);
      expect(await store.events.count(search('needle', 100, 1))).toBe(1);
      expect(await store.events.count(search('needle', 100, 0))).toBe(0);
    });

    it('describes messages by offset: headers and attributes of those the log holds', async () => {
      const [outcome] = await store.messages.append(
        [
          {
            logId,
            messages: [
              { key: null, value: Buffer.from('a'), headers: { 'x-a': '1' }, attributes: { eventType: 'push' } },
              { key: null, value: Buffer.from('b') },
            ],
          },
        ],
        Date.now() * 1000,
      );
      expect(outcome).toEqual({ nextOffset: 2 });
      const described = await store.messages.describe(logId, [0, 1, 7]);
      expect([...described.entries()].sort(([a], [b]) => a - b)).toEqual([
        [0, { headers: { 'x-a': '1' }, attributes: { eventType: 'push' } }],
        [1, {}],
      ]);
      expect((await store.messages.describe(newId('log'), [0])).size).toBe(0);
      expect((await store.messages.describe(logId, [])).size).toBe(0);
    });

    it('deletes an event with its message and deliveries; the offset is never given again', async () => {
      const { event } = await accepted('gone');
      await accepted('stays');
      const deleted = await store.events.delete(event.id);
      expect(deleted).toMatchObject({ id: event.id, offset: 0 });
      expect(await store.events.get(event.id)).toBeUndefined();
      expect((await store.messages.read(logId, 0, 10)).map((m) => m.offset)).toEqual([1]);
      expect(await store.events.delete(event.id)).toBeUndefined();
      const [next] = await store.messages.append([{ logId, messages: [{ key: null, value: Buffer.from('next') }] }], Date.now() * 1000);
      expect(next).toEqual({ nextOffset: 3 });
      expect((await store.logs.get(logId))!.nextOffset).toBe(3);
    });

    it('purges accepted records past the history and refused ones past the quarantine, and those of deleted logs', async () => {
      const now = Date.now();
      const old = await accepted('old', now - 10 * HOUR);
      const young = await accepted('young', now);
      const oldRefused = refused('old', now - 3 * HOUR);
      await store.events.quarantine(oldRefused, 10);
      const youngRefused = refused('young', now - HOUR);
      await store.events.quarantine(youngRefused, 10);
      expect(await store.retention.purgeEvents(now - 5 * HOUR, now - 2 * HOUR, 100)).toBe(2);
      expect(await store.events.get(old.event.id)).toBeUndefined();
      expect(await store.events.get(oldRefused.id)).toBeUndefined();
      expect(await store.events.get(young.event.id)).toBeDefined();
      expect(await store.events.get(youngRefused.id)).toBeDefined();
      await store.logs.delete(logId);
      // Gone for every read at once; purged later, in steps.
      expect(await store.events.count(all)).toBe(0);
      expect(await store.events.get(young.event.id)).toBeUndefined();
      while ((await store.retention.purgeDeleted(100)) > 0);
      expect(await store.events.count({ ...all, accepted: true })).toBe(0);
    });
  });
}
