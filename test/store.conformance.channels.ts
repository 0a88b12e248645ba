import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../src/domain/ids.js';
import type { Channel } from '../src/domain/types.js';
import type { Store } from '../src/store/store.js';
import type { StoreHarness } from './store.conformance.js';

/** The store behind Kaiman Webhooks Proxy channels, on one backend. */
export function describeChannelStoreConformance(backend: string, harness: StoreHarness, available = true): void {
  describe.runIf(available)(`store conformance, channels: ${backend}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await harness.make();
    });
    afterEach(async () => {
      await store.close();
    });

    const makeChannel = async (name: string, tokenHash = `hash-${name}`, fields: Partial<Channel> = {}) => {
      const log = await store.logs.create({
        id: newId('log'),
        metadata: name,
        compacting: false,
        trimBytes: 0,
        trimSeconds: 0,
        compactSeconds: 0,
        expireSeconds: 0,
      });
      const channel: Channel = { name, logId: log.id, sourceId: newId('iwh'), cursor: 0, fromConfig: false, createdAt: 1_700_000_000_000, ...fields };
      expect(await store.channels.create(channel, tokenHash)).toBe(true);
      return channel;
    };

    it('creates, gets by name and by token hash, lists by name and deletes', async () => {
      const b = await makeChannel('b', 'hb', { fromConfig: true, cursor: 3 });
      const a = await makeChannel('a', 'ha');
      expect(await store.channels.get('b')).toEqual(b);
      expect(await store.channels.byTokenHash('ha')).toEqual(a);
      expect(await store.channels.byTokenHash('nope')).toBeUndefined();
      expect(await store.channels.list()).toEqual([a, b]);
      expect(await store.channels.delete('a')).toEqual(a);
      expect(await store.channels.delete('a')).toBeUndefined();
      expect(await store.channels.get('a')).toBeUndefined();
    });

    it('writes nothing when the name or the token hash is taken', async () => {
      const a = await makeChannel('a', 'ha');
      const other = { ...a, logId: newId('log'), sourceId: newId('iwh') };
      expect(await store.channels.create(other, 'other')).toBe(false);
      expect(await store.channels.create({ ...other, name: 'b' }, 'ha')).toBe(false);
      expect(await store.channels.list()).toEqual([a]);
    });

    it('replaces the token hash and the source', async () => {
      const a = await makeChannel('a', 'ha');
      expect(await store.channels.setTokenHash('a', 'ha2')).toEqual(a);
      expect(await store.channels.byTokenHash('ha')).toBeUndefined();
      expect(await store.channels.byTokenHash('ha2')).toEqual(a);
      const source = newId('iwh');
      expect(await store.channels.setSource('a', source)).toEqual({ ...a, sourceId: source });
      expect(await store.channels.setTokenHash('gone', 'x')).toBeUndefined();
      expect(await store.channels.setSource('gone', source)).toBeUndefined();
    });

    it('lets one reader hold a channel at a time, until it releases it or its hold runs out', async () => {
      await makeChannel('a', 'ha', { cursor: 5 });
      expect(await store.channels.hold('a', 'r1', 1000, 2000)).toBe(5);
      expect(await store.channels.hold('a', 'r2', 1500, 2500)).toBeUndefined();
      // Only the holder releases; a release without a cursor leaves it where it was.
      expect(await store.channels.release('a', 'r2', 9)).toBe(false);
      expect(await store.channels.release('a', 'r1', null)).toBe(true);
      expect(await store.channels.release('a', 'r1', 7)).toBe(false);
      expect(await store.channels.hold('a', 'r2', 1500, 2500)).toBe(5);
      expect(await store.channels.release('a', 'r2', 8)).toBe(true);
      expect((await store.channels.get('a'))?.cursor).toBe(8);
      // A hold past its time (the reader's node died) is taken over, and the late holder can no longer move the cursor.
      expect(await store.channels.hold('a', 'r3', 3000, 4000)).toBe(8);
      expect(await store.channels.hold('a', 'r4', 4000, 5000)).toBe(8);
      expect(await store.channels.release('a', 'r3', 20)).toBe(false);
      expect(await store.channels.release('a', 'r4', 10)).toBe(true);
      expect((await store.channels.get('a'))?.cursor).toBe(10);
      expect(await store.channels.hold('gone', 'r1', 0, 1)).toBeUndefined();
    });

    it('of readers racing for a free channel, exactly one holds it', async () => {
      await makeChannel('a');
      const held = await Promise.all(Array.from({ length: 8 }, (_, i) => store.channels.hold('a', `r${i}`, 1000, 2000)));
      expect(held.filter((cursor) => cursor !== undefined)).toEqual([0]);
    });

    it('deleting its log deletes the channel', async () => {
      const a = await makeChannel('a');
      const b = await makeChannel('b');
      await store.logs.delete(a.logId);
      expect(await store.channels.list()).toEqual([b]);
    });
  });
}
