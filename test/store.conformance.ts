import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../src/domain/ids.js';
import type {
  DeliveryAttempt,
  DeliveryState,
  DeliveryTask,
  EgressSigning,
  EndpointFields,
  NewMessage,
  RetentionSettings,
  StoredDeliveryStatus,
} from '../src/domain/types.js';
import { type DeliveryRecord, FORGET_NODES_AFTER_MS, type Store } from '../src/store/store.js';

/** What a backend supplies to run the suite: a fresh, empty store per test. */
export interface StoreHarness {
  make(): Promise<Store>;
}

const NO_RETENTION: RetentionSettings = { compacting: false, trimBytes: 0, trimSeconds: 0, compactSeconds: 0, expireSeconds: 0 };
const bytes = (text: string) => Buffer.from(text);
const msg = (key: string | null, value: string | null, time?: number): NewMessage => ({
  key: key === null ? null : bytes(key),
  value: value === null ? null : bytes(value),
  ...(time !== undefined && { time }),
});

/** Runs the suite against one backend; `available` false skips it (the backend's server is not reachable). */
export function describeStoreConformance(backend: string, harness: StoreHarness, available = true): void {
  describe.runIf(available)(`store conformance: ${backend}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await harness.make();
    });
    afterEach(async () => {
      await store.close();
    });

    const newIngressWebhook = (logId: string, metadata = '', id = newId('iwh')) => ({
      id,
      logId,
      metadata,
      type: 'github',
      secret: 's',
      header: '',
      algorithm: 'sha256' as const,
      encoding: 'hex' as const,
      prefix: '',
      deduplicate: true,
      keepRejected: true,
    });
    const makeLog = (settings: Partial<RetentionSettings> = {}, metadata = '') =>
      store.logs.create({ id: newId('log'), metadata, ...NO_RETENTION, ...settings });
    const append = async (logId: string, messages: NewMessage[], now = 1_000) => {
      const [outcome] = await store.messages.append([{ logId, messages }], now);
      return outcome;
    };

    describe('change feed', () => {
      it('announces, after each commit, grown logs and changed webhooks, also those a log takes with it', async () => {
        const heard: string[] = [];
        await store.watch((change) =>
          heard.push(change.kind === 'log_grown' ? `grown ${change.logId}` : change.kind === 'resync' ? 'resync' : `${change.kind} ${change.webhookId}`),
        );
        const log = await makeLog();
        await append(log.id, [msg(null, 'a')]);
        expect(heard).toEqual([`grown ${log.id}`]);
        await append(log.id, []);
        expect(heard).toHaveLength(1);
        const egress = newId('ewh');
        await store.egress.create({
          id: egress,
          logId: log.id,
          metadata: '',
          destination: 'http://x',
          payload: 'message',
          mode: 'ordered',
          signing: 'klev',
          headers: {},
          filter: { eventTypes: [], channels: [] },
          rateLimit: null,
          secret: 's',
          startOffset: 0,
          nowMs: 1,
        });
        const ingress = newId('iwh');
        await store.ingress.create(newIngressWebhook(log.id, '', ingress));
        await store.ingress.update(ingress, { metadata: 'x' });
        expect(heard.slice(1)).toEqual([`egress_changed ${egress}`, `ingress_changed ${ingress}`]);
        heard.length = 0;
        await store.logs.delete(log.id);
        expect(heard.sort()).toEqual([`egress_changed ${egress}`, `ingress_changed ${ingress}`]);
      });
    });

    describe('tokens', () => {
      it('creates, gets, lists by metadata and deletes', async () => {
        const a = { id: newId('tok'), metadata: 'a', acl: ['logs:get'], secretHash: 'aa' };
        const b = { id: newId('tok'), metadata: 'b', acl: [], secretHash: 'bb' };
        await store.tokens.create(a);
        await store.tokens.create(b);
        expect(await store.tokens.get(a.id)).toEqual(a);
        expect(await store.tokens.list({})).toHaveLength(2);
        expect(await store.tokens.list({ metadata: 'b' })).toEqual([b]);
        expect(await store.tokens.delete(a.id)).toEqual(a);
        expect(await store.tokens.get(a.id)).toBeUndefined();
        expect(await store.tokens.delete(a.id)).toBeUndefined();
      });

      it("keeps a token's application and expiry, absent when it has none, and deletes an application's tokens at once", async () => {
        const app = { id: newId('tok'), metadata: '', acl: [], secretHash: 'aa', application: 'log_a', expiresAt: 9_000 };
        const alsoApp = { id: newId('tok'), metadata: '', acl: [], secretHash: 'bb', application: 'log_a' };
        const other = { id: newId('tok'), metadata: '', acl: [], secretHash: 'cc', application: 'log_b' };
        const plain = { id: newId('tok'), metadata: '', acl: [], secretHash: 'dd' };
        for (const token of [app, alsoApp, other, plain]) await store.tokens.create(token);
        expect(await store.tokens.get(app.id)).toEqual(app);
        expect(await store.tokens.get(alsoApp.id)).not.toHaveProperty('expiresAt');
        expect(await store.tokens.get(plain.id)).toStrictEqual(plain);
        expect(await store.tokens.deleteForApplication('log_a')).toBe(2);
        expect((await store.tokens.list({})).map((t) => t.id)).toEqual([other.id, plain.id]);
        expect(await store.tokens.deleteForApplication('log_a')).toBe(0);
      });

      it('purges tokens that expired, a step at a time, and no other', async () => {
        const expiring = (expiresAt: number) => ({ id: newId('tok'), metadata: '', acl: [], secretHash: 'ee', application: 'log_a', expiresAt });
        const old = [expiring(1_000), expiring(2_000), expiring(3_000)];
        const live = expiring(9_000);
        const forever = { id: newId('tok'), metadata: '', acl: [], secretHash: 'ff' };
        for (const token of [...old, live, forever]) await store.tokens.create(token);
        expect(await store.tokens.purgeExpired(5_000, 2)).toBe(2);
        expect(await store.tokens.purgeExpired(5_000, 2)).toBe(1);
        expect(await store.tokens.purgeExpired(5_000, 2)).toBe(0);
        expect((await store.tokens.list({})).map((t) => t.id).sort()).toEqual([live.id, forever.id].sort());
      });

      it('creates the bootstrap admin token only once per database', async () => {
        const first = { id: newId('tok'), metadata: 'admin', acl: [], secretHash: '11' };
        const second = { id: newId('tok'), metadata: 'admin', acl: [], secretHash: '22' };
        expect(await store.createBootstrapToken(first)).toBe(true);
        expect(await store.createBootstrapToken(second)).toBe(false);
        expect(await store.tokens.list({})).toEqual([first]);
      });
    });

    describe('logs', () => {
      it('creates with settings, gets, lists by metadata and deletes', async () => {
        const log = await makeLog({ compacting: true, trimBytes: 10, trimSeconds: 20, compactSeconds: 30, expireSeconds: 40 }, 'm');
        expect(log).toMatchObject({ metadata: 'm', compacting: true, trimBytes: 10, trimSeconds: 20, compactSeconds: 30, expireSeconds: 40, nextOffset: 0 });
        await makeLog({}, 'other');
        expect(await store.logs.get(log.id)).toEqual(log);
        expect((await store.logs.list({ metadata: 'm' })).map((l) => l.id)).toEqual([log.id]);
        expect(await store.logs.list({})).toHaveLength(2);
        expect(await store.logs.delete(log.id)).toEqual(log);
        expect(await store.logs.get(log.id)).toBeUndefined();
      });

      it('deleting a log hides its messages and removes its offsets', async () => {
        const log = await makeLog();
        await append(log.id, [msg('k', 'v')]);
        await store.offsets.create({ id: newId('off'), logId: log.id, metadata: '', value: -1, valueMetadata: '' });
        await store.logs.delete(log.id);
        expect(await store.messages.read(log.id, 0, 10)).toEqual([]);
        expect(await store.offsets.list({ logId: log.id })).toEqual([]);
      });
    });

    describe('messages', () => {
      it('assigns gap-free offsets across requests in one group, per log', async () => {
        const a = await makeLog();
        const b = await makeLog();
        const outcomes = await store.messages.append(
          [
            { logId: a.id, messages: [msg(null, '1'), msg(null, '2')] },
            { logId: b.id, messages: [msg(null, 'x')] },
            { logId: a.id, messages: [msg(null, '3')] },
          ],
          5,
        );
        expect(outcomes).toEqual([{ nextOffset: 2 }, { nextOffset: 1 }, { nextOffset: 3 }]);
        const read = await store.messages.read(a.id, 0, 10);
        expect(read.map((m) => [m.offset, m.value?.toString()])).toEqual([
          [0, '1'],
          [1, '2'],
          [2, '3'],
        ]);
        expect((await store.logs.get(a.id))?.nextOffset).toBe(3);
      });

      it('keeps offsets gap-free and in commit order under concurrent groups', async () => {
        const [a, b] = [await makeLog(), await makeLog()];
        // Groups naming the logs in opposite orders must not deadlock.
        const groups = Array.from({ length: 12 }, (_, i) => {
          const logs = i % 2 === 0 ? [a.id, b.id] : [b.id, a.id];
          return store.messages.append(
            logs.map((logId) => ({ logId, messages: [msg(null, `g${i}`), msg(null, `g${i}`)] })),
            5,
          );
        });
        await Promise.all(groups);
        for (const log of [a, b]) {
          const read = await store.messages.read(log.id, 0, 100);
          expect(read.map((m) => m.offset)).toEqual(Array.from({ length: 24 }, (_, i) => i));
          // The two messages of each request sit together.
          for (let i = 0; i < 24; i += 2) expect(read[i]!.value).toEqual(read[i + 1]!.value);
        }
      });

      it('reports a missing log for that request alone', async () => {
        const a = await makeLog();
        const outcomes = await store.messages.append(
          [
            { logId: newId('log'), messages: [msg(null, 'lost')] },
            { logId: a.id, messages: [msg(null, 'kept')] },
          ],
          5,
        );
        expect(outcomes).toEqual([{ logMissing: true }, { nextOffset: 1 }]);
      });

      it('keeps the given time and fills in the append time otherwise', async () => {
        const log = await makeLog();
        await append(log.id, [msg(null, 'a', 42), msg(null, 'b')], 7_000);
        expect((await store.messages.read(log.id, 0, 10)).map((m) => m.time)).toEqual([42, 7_000]);
      });

      it('keeps nil and empty keys and values apart', async () => {
        const log = await makeLog();
        await append(log.id, [msg(null, null), msg('', ''), msg(null, ''), msg('', null)]);
        const read = await store.messages.read(log.id, 0, 10);
        expect(read.map((m) => [m.key, m.value])).toEqual([
          [null, null],
          [Buffer.alloc(0), Buffer.alloc(0)],
          [null, Buffer.alloc(0)],
          [Buffer.alloc(0), null],
        ]);
      });

      it('stores arbitrary bytes exactly', async () => {
        const log = await makeLog();
        const value = Buffer.from([0, 255, 10, 13, 0xc3, 0x28, 32]);
        await append(log.id, [{ key: Buffer.from([1, 0]), value }]);
        const [message] = await store.messages.read(log.id, 0, 1);
        expect(message?.value).toEqual(value);
        expect(message?.key).toEqual(Buffer.from([1, 0]));
      });

      it('reads as text exactly as Buffer#toString decodes, nil staying nil', async () => {
        const log = await makeLog();
        const tricky = [
          Buffer.from('plain'),
          Buffer.from([0x68, 0x00, 0x69]), // an embedded NUL
          Buffer.from([0xc3, 0x28, 0xff, 0xfe]), // invalid UTF-8
          Buffer.from('\u00e9\u{1f600}'),
          Buffer.alloc(0),
        ];
        await append(log.id, [...tricky.map((value) => ({ key: value, value })), msg(null, null)]);
        const text = await store.messages.readText(log.id, 0, 10);
        expect(text.map((m) => m.value)).toEqual([...tricky.map((b) => b.toString('utf8')), null]);
        expect(text.map((m) => m.key)).toEqual([...tricky.map((b) => b.toString('utf8')), null]);
        expect(text.map((m) => m.offset)).toEqual([0, 1, 2, 3, 4, 5]);
      });

      it('reads from an offset with a limit, in offset order', async () => {
        const log = await makeLog();
        await append(
          log.id,
          Array.from({ length: 20 }, (_, i) => msg(null, String(i))),
        );
        const read = await store.messages.read(log.id, 5, 3);
        expect(read.map((m) => m.offset)).toEqual([5, 6, 7]);
        expect(await store.messages.read(log.id, 20, 3)).toEqual([]);
      });

      it('stops a read at maxBytes of key, value and headers, reading the first message whatever its size', async () => {
        const log = await makeLog();
        const value = (n: number) => 'x'.repeat(n);
        await append(log.id, [msg('k', value(99)), msg(null, value(100)), msg(null, value(300)), msg(null, value(10))]);
        const offsets = async (from: number, maxBytes: number) => (await store.messages.read(log.id, from, 10, { maxBytes })).map((m) => m.offset);
        expect(await offsets(0, 200)).toEqual([0, 1]);
        expect(await offsets(0, 199)).toEqual([0]);
        expect(await offsets(2, 50)).toEqual([2]);
        expect(await offsets(2, 310)).toEqual([2, 3]);
        // A limit that a whole page of the log's largest message fits: read without counting.
        expect(await offsets(0, 3000)).toEqual([0, 1, 2, 3]);
        expect(await offsets(0, 2999)).toEqual([0, 1, 2, 3]);
        // The largest message is remembered across appends: a smaller one later does not lower it.
        const shrinking = await makeLog();
        await append(shrinking.id, [msg(null, value(300))]);
        await append(shrinking.id, [msg(null, value(10))]);
        expect((await store.messages.read(shrinking.id, 0, 10, { maxBytes: 200 })).map((m) => m.offset)).toEqual([0]);
        expect((await store.messages.readText(log.id, 0, 10, { maxBytes: 250 })).map((m) => m.offset)).toEqual([0, 1]);
        expect(await store.messages.read(log.id, 0, 10)).toHaveLength(4);
        // Headers count too.
        const withHeaders = await makeLog();
        await store.messages.append(
          [
            {
              logId: withHeaders.id,
              messages: [
                { key: null, value: bytes('a'), headers: { h: value(100) } },
                { key: null, value: bytes('b') },
              ],
            },
          ],
          1,
        );
        expect((await store.messages.read(withHeaders.id, 0, 10, { maxBytes: 50 })).map((m) => m.offset)).toEqual([0]);
      });

      it('reads backward below an offset, newest first, as text, with a limit and the byte limit of forward reads', async () => {
        const log = await makeLog();
        await append(
          log.id,
          Array.from({ length: 10 }, (_, i) => msg(`k${i}`, String(i))),
        );
        const back = await store.messages.readBackward(log.id, 10, 3);
        expect(back.map((m) => [m.offset, m.key, m.value])).toEqual([
          [9, 'k9', '9'],
          [8, 'k8', '8'],
          [7, 'k7', '7'],
        ]);
        expect((await store.messages.readBackward(log.id, 2, 5)).map((m) => m.offset)).toEqual([1, 0]);
        expect((await store.messages.readBackward(log.id, 100, 2)).map((m) => m.offset)).toEqual([9, 8]);
        expect(await store.messages.readBackward(log.id, 0, 5)).toEqual([]);
        expect(await store.messages.readBackward(newId('log'), 10, 5)).toEqual([]);
        // The byte limit counts from the newest message, which is read whatever its size.
        const sized = await makeLog();
        await append(sized.id, [msg(null, 'x'.repeat(100)), msg(null, 'x'.repeat(100)), msg(null, 'x'.repeat(300))]);
        const offsets = async (maxBytes: number) => (await store.messages.readBackward(sized.id, 3, 10, { maxBytes })).map((m) => m.offset);
        expect(await offsets(50)).toEqual([2]);
        expect(await offsets(400)).toEqual([2, 1]);
        expect(await offsets(10_000)).toEqual([2, 1, 0]);
        expect((await store.messages.readBackward(sized.id, 2, 10, { maxBytes: 150 })).map((m) => m.offset)).toEqual([1]);
        // Headers only when asked, as forward.
        const withHeaders = await makeLog();
        await append(withHeaders.id, [{ key: null, value: bytes('v'), headers: { 'x-event': 'push' } }]);
        expect((await store.messages.readBackward(withHeaders.id, 1, 1, { headers: true }))[0]?.headers).toEqual({ 'x-event': 'push' });
        expect((await store.messages.readBackward(withHeaders.id, 1, 1))[0]).not.toHaveProperty('headers');
      });

      it("expunges a message's value to nil, keeping its key and the log's size true", async () => {
        const log = await makeLog({ trimBytes: 10 });
        // 4 bytes each (key 1 + value 3): 12 bytes in all, over the limit of 10.
        await append(log.id, [msg('a', '111'), msg('b', '222'), msg('c', '333')]);
        expect(await store.messages.expungeValue(log.id, 0)).toBe(true);
        const [expunged, kept] = await store.messages.read(log.id, 0, 2);
        expect(expunged).toMatchObject({ offset: 0, key: bytes('a'), value: null });
        expect(kept?.value).toEqual(bytes('222'));
        expect(await store.messages.expungeValue(log.id, 0)).toBe(true);
        // 9 bytes now: trimming by size finds nothing to do.
        expect(await store.retention.trimBySize(log.id, 10, 100)).toBe(0);
        expect(await store.messages.expungeValue(log.id, 3)).toBe(false);
        expect(await store.messages.expungeValue(newId('log'), 0)).toBe(false);
      });

      it('finds the newest message by key, and by nil key', async () => {
        const log = await makeLog();
        await append(log.id, [msg('k', '1'), msg(null, 'n1'), msg('k', '2'), msg('', 'empty'), msg(null, 'n2'), msg('other', 'o')]);
        expect((await store.messages.getByKey(log.id, bytes('k')))?.value?.toString()).toBe('2');
        expect((await store.messages.getByKey(log.id, null))?.value?.toString()).toBe('n2');
        expect((await store.messages.getByKey(log.id, Buffer.alloc(0)))?.value?.toString()).toBe('empty');
        expect(await store.messages.getByKey(log.id, bytes('missing'))).toBeUndefined();
      });

      // SQLite files its key index by generations of 65,536 offsets (migration 013); a lookup crosses them.
      it('finds the newest message by key across many thousands of messages', async () => {
        const log = await makeLog();
        const filler = (n: number, tag: string) => Array.from({ length: n }, (_, i) => msg(`${tag}-${i}`, 'f'));
        await append(log.id, [msg('old', 'only-once'), msg('both', 'first'), ...filler(39_998, 'a')]);
        await append(log.id, [...filler(40_000, 'b'), msg('both', 'second'), msg('late', 'last')]);
        expect((await store.messages.getByKey(log.id, bytes('old')))?.offset).toBe(0);
        expect(await store.messages.getByKey(log.id, bytes('both'))).toMatchObject({ offset: 80_000, value: bytes('second') });
        expect((await store.messages.getByKey(log.id, bytes('late')))?.offset).toBe(80_001);
        expect((await store.messages.getByKey(log.id, bytes('b-39999')))?.offset).toBe(79_999);
        expect(await store.messages.getByKey(log.id, bytes('missing'))).toBeUndefined();
      });
    });

    describe('idempotent appends and headers', () => {
      it('appends once per key within the window, and again after it', async () => {
        const log = await makeLog();
        const once = (key: string, now: number, value: string) =>
          store.messages.append([{ logId: log.id, messages: [msg(null, value)], claims: [{ scope: 's', key, since: now - 1000, now }] }], now);
        expect(await once('a', 10_000, '1')).toEqual([{ nextOffset: 1 }]);
        expect(await once('a', 10_500, '2')).toEqual([{ duplicate: true, claim: 0, offset: 0 }]);
        expect(await once('b', 10_500, '3')).toEqual([{ nextOffset: 2 }]);
        // Past the window (created 10_000, window 1000 ms), the key is new again.
        expect(await once('a', 11_500, '4')).toEqual([{ nextOffset: 3 }]);
        // Within one group, the second copy is the duplicate.
        const group = await store.messages.append(
          [
            { logId: log.id, messages: [msg(null, '5')], claims: [{ scope: 's', key: 'c', since: 0, now: 12_000 }] },
            { logId: log.id, messages: [msg(null, '6')], claims: [{ scope: 's', key: 'c', since: 0, now: 12_000 }] },
          ],
          12_000,
        );
        expect(group).toEqual([{ nextOffset: 4 }, { duplicate: true, claim: 0, offset: 3 }]);
        expect((await store.messages.read(log.id, 0, 10)).map((m) => m.value?.toString())).toEqual(['1', '3', '4', '5']);
        expect(await store.retention.purgeIdempotencyKeys(12_000, 10)).toBe(2);
      });

      it("takes all of a request's claims or none; a duplicate names the first claim held and the offset it was taken at", async () => {
        const log = await makeLog();
        const request = (claimed: string[], values = ['v'], now = 10_000) => ({
          logId: log.id,
          messages: values.map((value) => msg(null, value)),
          claims: claimed.map((key) => ({ scope: 's', key, since: now - 1000, now })),
        });
        expect(await store.messages.append([request(['a'], ['1', '2'])], 1)).toEqual([{ nextOffset: 2 }]);
        expect(await store.messages.claimedOffset('s', 'a', 9_000)).toBe(0);
        // The second claim is held: nothing lands, and the first claim is not kept.
        expect(await store.messages.append([request(['b', 'a'])], 1)).toEqual([{ duplicate: true, claim: 1, offset: 0 }]);
        expect(await store.messages.claimedOffset('s', 'b', 0)).toBeUndefined();
        expect(await store.messages.append([request(['b', 'c'])], 1)).toEqual([{ nextOffset: 3 }]);
        expect(await store.messages.claimedOffset('s', 'c', 0)).toBe(2);
        expect(await store.messages.append([request(['x', 'c', 'b'])], 1)).toEqual([{ duplicate: true, claim: 1, offset: 2 }]);
        // The same within a group: a request refused for its second claim leaves its first to a later request.
        const group = await store.messages.append([request(['d', 'a']), request(['d']), request(['e', 'd'])], 1);
        expect(group).toEqual([{ duplicate: true, claim: 1, offset: 0 }, { nextOffset: 4 }, { duplicate: true, claim: 1, offset: 3 }]);
        expect(await store.messages.claimedOffset('s', 'e', 0)).toBeUndefined();
        // A key given twice in one request is claimed once; an append of no messages has no offset to remember.
        expect(await store.messages.append([request(['f', 'f'])], 1)).toEqual([{ nextOffset: 5 }]);
        expect(await store.messages.append([request(['g'], [])], 1)).toEqual([{ nextOffset: 5 }]);
        expect(await store.messages.append([request(['g'])], 1)).toEqual([{ duplicate: true, claim: 0, offset: null }]);
        expect(await store.messages.claimedOffset('s', 'g', 0)).toBeUndefined();
        // Past its window a claim is taken again, and remembers its new offset.
        expect(await store.messages.claimedOffset('s', 'a', 10_001)).toBeUndefined();
        expect(await store.messages.append([request(['a'], ['again'], 20_000)], 1)).toEqual([{ nextOffset: 6 }]);
        expect(await store.messages.claimedOffset('s', 'a', 19_000)).toBe(5);
        expect((await store.messages.read(log.id, 0, 10)).map((m) => m.value?.toString())).toEqual(['1', '2', 'v', 'v', 'v', 'again']);
      });

      it('lets one of concurrent appends claiming the same key land, and keeps no claim of the others', async () => {
        // Appends to different logs: nothing but their claims orders them.
        const logs = await Promise.all(Array.from({ length: 8 }, () => makeLog()));
        const outcomes = await Promise.all(
          logs.map((log, i) =>
            store.messages.append(
              [{ logId: log.id, messages: [msg(null, String(i))], claims: [`own-${i}`, 'shared'].map((key) => ({ scope: 's', key, since: 0, now: 1 })) }],
              1,
            ),
          ),
        );
        const landed = outcomes.flatMap((outcome, i) => ('nextOffset' in outcome[0]! ? [i] : []));
        expect(landed).toHaveLength(1);
        expect(outcomes.flat().filter((outcome) => 'duplicate' in outcome)).toEqual(Array(7).fill({ duplicate: true, claim: 1, offset: 0 }));
        for (const [i, log] of logs.entries()) {
          const winner = i === landed[0];
          expect(await store.messages.claimedOffset('s', `own-${i}`, 0)).toBe(winner ? 0 : undefined);
          expect(await store.messages.read(log.id, 0, 10)).toHaveLength(winner ? 1 : 0);
        }
      });

      it('keeps headers with a message and returns them only when asked', async () => {
        const log = await makeLog();
        await append(log.id, [{ key: null, value: bytes('v'), headers: { 'x-event': 'push', 'content-type': 'application/json' } }, msg(null, 'plain')]);
        const [withHeaders, without] = await store.messages.read(log.id, 0, 10, { headers: true });
        expect(withHeaders?.headers).toEqual({ 'x-event': 'push', 'content-type': 'application/json' });
        expect(without).not.toHaveProperty('headers');
        expect((await store.messages.readText(log.id, 0, 1, { headers: true }))[0]?.headers).toEqual(withHeaders?.headers);
        expect((await store.messages.read(log.id, 0, 1))[0]).not.toHaveProperty('headers');
      });
    });

    describe('message attributes', () => {
      const attributes = { eventType: 'user.signup', eventId: 'evt_1', channels: ['project_1', 'group-2'], tags: ['a'] };

      it('keeps attributes with a message and returns them on every read, headers or not', async () => {
        const log = await makeLog();
        await append(log.id, [
          { key: bytes('k'), value: bytes('v'), attributes, headers: { 'x-event': 'push' } },
          { key: bytes('k2'), value: bytes('only type'), attributes: { eventType: 'orders/create' } },
          msg('k3', 'plain'),
        ]);
        const [full, onlyType, plain] = await store.messages.read(log.id, 0, 10);
        expect(full).toEqual({ offset: 0, time: 1_000, key: bytes('k'), value: bytes('v'), attributes });
        expect(onlyType?.attributes).toEqual({ eventType: 'orders/create' });
        expect(plain).not.toHaveProperty('attributes');
        const text = await store.messages.readText(log.id, 0, 10);
        expect(text.map((m) => m.attributes)).toEqual([attributes, { eventType: 'orders/create' }, undefined]);
        expect(text[2]).not.toHaveProperty('attributes');
        const [withHeaders] = await store.messages.read(log.id, 0, 1, { headers: true });
        expect(withHeaders).toMatchObject({ attributes, headers: { 'x-event': 'push' } });
        expect((await store.messages.getByKey(log.id, bytes('k')))?.attributes).toEqual(attributes);
        expect(await store.messages.getByKey(log.id, bytes('k3'))).not.toHaveProperty('attributes');
      });

      it('stores only the attributes present: an empty list is absent, and nothing present is no attributes', async () => {
        const log = await makeLog();
        await append(log.id, [
          { key: null, value: bytes('1'), attributes: { channels: [], tags: [] } },
          { key: null, value: bytes('2'), attributes: { eventId: 'x', channels: [] } },
          { key: null, value: bytes('3'), attributes: {} },
        ]);
        const [none, idOnly, empty] = await store.messages.read(log.id, 0, 10);
        expect(none).not.toHaveProperty('attributes');
        expect(idOnly?.attributes).toEqual({ eventId: 'x' });
        expect(empty).not.toHaveProperty('attributes');
      });

      it('counts attributes in the byte limit of a read, and in the largest message of the log', async () => {
        const log = await makeLog();
        const long = { eventType: 't'.repeat(200) };
        await append(log.id, [
          { key: null, value: bytes('a'), attributes: long },
          { key: null, value: bytes('b'), attributes: long },
          { key: null, value: bytes('c') },
        ]);
        // Were attributes not counted, the largest message would be 1 byte and 10 of them would fit in 100.
        expect((await store.messages.read(log.id, 0, 10, { maxBytes: 100 })).map((m) => m.offset)).toEqual([0]);
        expect((await store.messages.readText(log.id, 1, 10, { maxBytes: 250 })).map((m) => m.offset)).toEqual([1, 2]);
        expect((await store.messages.read(log.id, 0, 10, { maxBytes: 10_000 })).map((m) => m.offset)).toEqual([0, 1, 2]);
      });
    });

    describe('ingress webhooks', () => {
      it('creates, gets, lists, updates and deletes', async () => {
        const log = await makeLog();
        const webhook = newIngressWebhook(log.id, 'm');
        await store.ingress.create(webhook);
        await store.ingress.create(newIngressWebhook(log.id, 'other'));
        expect(await store.ingress.get(webhook.id)).toEqual(webhook);
        expect((await store.ingress.list({ metadata: 'm' })).map((w) => w.id)).toEqual([webhook.id]);
        expect(await store.ingress.update(webhook.id, { secret: 't', deduplicate: false })).toEqual({ ...webhook, secret: 't', deduplicate: false });
        expect(await store.ingress.update(newId('iwh'), { secret: 't' })).toBeUndefined();
        expect((await store.ingress.delete(webhook.id))?.id).toBe(webhook.id);
        expect(await store.ingress.get(webhook.id)).toBeUndefined();
      });

      it('adds to counters, which go with the webhook and its log', async () => {
        const log = await makeLog();
        const webhook = newIngressWebhook(log.id);
        await store.ingress.create(webhook);
        await store.ingress.count([
          { webhookId: webhook.id, name: 'received', by: 2 },
          { webhookId: webhook.id, name: 'accepted', by: 1 },
        ]);
        await store.ingress.count([{ webhookId: webhook.id, name: 'received', by: 1 }]);
        expect(await store.ingress.counters(webhook.id)).toEqual({ received: 3, accepted: 1 });
        await store.logs.delete(log.id);
        expect(await store.ingress.get(webhook.id)).toBeUndefined();
        expect(await store.ingress.counters(webhook.id)).toEqual({});
      });
    });

    describe('offsets', () => {
      it('creates, gets, lists by log and metadata, sets and deletes', async () => {
        const a = await makeLog();
        const b = await makeLog();
        const one = { id: newId('off'), logId: a.id, metadata: 'x', value: -1, valueMetadata: '' };
        const two = { id: newId('off'), logId: b.id, metadata: 'x', value: -1, valueMetadata: '' };
        await store.offsets.create(one);
        await store.offsets.create(two);
        expect(await store.offsets.get(one.id)).toEqual(one);
        expect(await store.offsets.list({ logId: a.id })).toEqual([one]);
        expect(await store.offsets.list({ metadata: 'x' })).toHaveLength(2);
        expect(await store.offsets.list({ logId: b.id, metadata: 'y' })).toEqual([]);
        expect(await store.offsets.set(one.id, 10, 'done')).toEqual({ ...one, value: 10, valueMetadata: 'done' });
        expect(await store.offsets.set(newId('off'), 1, '')).toBeUndefined();
        expect(await store.offsets.delete(one.id)).toEqual({ ...one, value: 10, valueMetadata: 'done' });
        expect(await store.offsets.get(one.id)).toBeUndefined();
      });
    });

    describe('egress webhooks', () => {
      const newWebhook = async (
        logId: string,
        extra: {
          metadata?: string;
          mode?: 'ordered' | 'parallel';
          signing?: EgressSigning;
          headers?: Record<string, string>;
          id?: string;
          endpoint?: EndpointFields;
        } = {},
      ) =>
        store.egress.create({
          id: extra.id ?? newId('ewh'),
          ...(extra.endpoint && { endpoint: extra.endpoint }),
          logId,
          metadata: extra.metadata ?? '',
          destination: 'https://example.com/hook',
          payload: 'message',
          mode: extra.mode ?? 'ordered',
          signing: extra.signing ?? 'klev',
          headers: extra.headers ?? {},
          filter: { eventTypes: [], channels: [] },
          rateLimit: null,
          secret: 'ewhsec_first',
          startOffset: 7,
          nowMs: 1_000,
        });
      const attempt = (webhookId: string, offset: number) => ({
        webhookId,
        offset,
        attempt: 1,
        time: 2_000,
        statusCode: 200,
        durationMs: 3,
        response: 'ok',
        error: '',
        trigger: 'scheduled' as const,
      });
      const record = (tried: DeliveryAttempt, state?: DeliveryState, status: StoredDeliveryStatus = 'success'): DeliveryRecord => ({
        webhookId: tried.webhookId,
        attempt: tried,
        delivery: { offset: tried.offset, status, nextAttemptAt: null, statusCode: tried.statusCode, at: tried.time },
        state,
      });
      const withoutIds = (attempts: DeliveryAttempt[]) => attempts.map(({ id, ...rest }) => rest);
      const task = (webhookId: string, changes: Partial<DeliveryTask> = {}): DeliveryTask => ({
        id: newId('tsk'),
        webhookId,
        kind: 'replay',
        offsets: null,
        status: 'running',
        since: 0,
        until: null,
        byTime: false,
        position: 0,
        endOffset: 10,
        total: 10,
        sent: 0,
        succeeded: 0,
        failed: 0,
        error: '',
        createdAt: 1_000,
        updatedAt: 1_000,
        ...changes,
      });

      it('keeps filters and a rate limit; an update changes what it names', async () => {
        const log = await makeLog();
        const webhook = await newWebhook(log.id);
        expect(webhook).toMatchObject({ filter: { eventTypes: [], channels: [] }, rateLimit: null });
        const filter = { eventTypes: ['user.created'], channels: ['eu'] };
        expect(await store.egress.update(webhook.id, { filter, rateLimit: 10 })).toMatchObject({ filter, rateLimit: 10 });
        expect(await store.egress.update(webhook.id, { metadata: 'x' })).toMatchObject({ filter, rateLimit: 10 });
        expect(await store.egress.update(webhook.id, { rateLimit: null })).toMatchObject({ filter, rateLimit: null });
        expect(await store.egress.get(webhook.id)).toMatchObject({ filter, rateLimit: null });
      });

      it('lists attempts newest first by filter and cursor, and gets one by id', async () => {
        const log = await makeLog();
        const webhook = await newWebhook(log.id);
        const other = await newWebhook(log.id);
        await store.egress.claim('node-a', 1_000, 9_000, 10);
        const codes = [200, 500, null, 404, 200];
        for (const [i, statusCode] of codes.entries()) {
          await store.egress.recordAttempt(record({ ...attempt(webhook.id, 7 + (i % 2)), statusCode, time: 2_000 + i }), 'node-a');
        }
        await store.egress.recordAttempt(record(attempt(other.id, 7)), 'node-a');
        const all = await store.egress.attempts(webhook.id, { limit: 10 });
        expect(all.map((a) => a.statusCode)).toEqual([200, 404, null, 500, 200]);
        expect(new Set(all.map((a) => a.id)).size).toBe(5);
        const ids = all.map((a) => a.id!);
        expect(ids).toEqual([...ids].sort((a, b) => b - a));
        expect((await store.egress.attempts(webhook.id, { offset: 8, limit: 10 })).map((a) => a.statusCode)).toEqual([404, 500]);
        expect((await store.egress.attempts(webhook.id, { succeeded: true, limit: 10 })).map((a) => a.time)).toEqual([2_004, 2_000]);
        expect((await store.egress.attempts(webhook.id, { succeeded: false, limit: 10 })).map((a) => a.time)).toEqual([2_003, 2_002, 2_001]);
        expect((await store.egress.attempts(webhook.id, { codeClass: 0, limit: 10 })).map((a) => a.time)).toEqual([2_002]);
        expect((await store.egress.attempts(webhook.id, { codeClass: 4, limit: 10 })).map((a) => a.time)).toEqual([2_003]);
        expect((await store.egress.attempts(webhook.id, { after: 2_001, before: 2_003, limit: 10 })).map((a) => a.time)).toEqual([2_002, 2_001]);
        expect((await store.egress.attempts(webhook.id, { belowId: ids[1], limit: 2 })).map((a) => a.id)).toEqual(ids.slice(2, 4));
        expect(await store.egress.attempt(webhook.id, ids[0]!)).toEqual(all[0]);
        expect(await store.egress.attempt(other.id, ids[0]!)).toBeUndefined();
      });

      it('keeps one delivery state per message; a failed manual attempt leaves a pending or delivered one as it is', async () => {
        const log = await makeLog();
        const webhook = await newWebhook(log.id);
        await store.egress.claim('node-a', 1_000, 9_000, 10);
        const pending = (offset: number): DeliveryRecord => ({
          webhookId: webhook.id,
          attempt: { ...attempt(webhook.id, offset), statusCode: 500 },
          delivery: { offset, status: 'pending', nextAttemptAt: 9_999, statusCode: 500, at: 2_000 },
        });
        await store.egress.recordAttempt(pending(1), 'node-a');
        await store.egress.recordAttempt(pending(2), 'node-a');
        const manualFailure = record({ ...attempt(webhook.id, 1), trigger: 'manual', statusCode: 502 }, undefined, 'failed');
        await store.egress.recordAttempt({ ...manualFailure, delivery: { ...manualFailure.delivery, tentative: true } }, 'node-a');
        await store.egress.recordAttempt(record({ ...attempt(webhook.id, 2), trigger: 'manual', time: 3_000 }), 'node-a');
        const replayFailed = record({ ...attempt(webhook.id, 2), trigger: 'manual', statusCode: 503 }, undefined, 'failed');
        await store.egress.recordAttempt({ ...replayFailed, delivery: { ...replayFailed.delivery, tentative: true } }, 'node-a');
        await store.egress.recordAttempt(record({ ...attempt(webhook.id, 3), statusCode: 500, time: 4_000 }, undefined, 'failed'), 'node-a');
        await store.egress.recordAttempt(
          { webhookId: webhook.id, delivery: { offset: 4, status: 'skipped', nextAttemptAt: null, statusCode: null, at: 5_000 } },
          'node-a',
        );
        expect(await store.egress.deliveryCounts(webhook.id, 10)).toEqual({ pending: 1, success: 1, failed: 1, skipped: 1 });
        expect(await store.egress.deliveryCounts(webhook.id, 2)).toEqual({ pending: 1, success: 0, failed: 0, skipped: 0 });
        expect(await store.egress.failedSince(webhook.id, 4_000, 0, 10, 10)).toEqual([3]);
        expect(await store.egress.failedSince(webhook.id, 4_001, 0, 10, 10)).toEqual([]);
        expect(await store.egress.countFailedSince(webhook.id, 0, 10)).toBe(1);
        expect(await store.egress.countFailedSince(webhook.id, 0, 3)).toBe(0);
        expect(await store.egress.attempts(webhook.id, { offset: 1, limit: 10 })).toHaveLength(2);
        expect(await store.egress.attempts(webhook.id, { offset: 2, limit: 10 })).toHaveLength(3);
        // Not while another node holds the lease.
        await store.egress.recordAttempt(record(attempt(webhook.id, 3)), 'node-b');
        expect(await store.egress.failedSince(webhook.id, 0, 0, 10, 10)).toEqual([3]);
      });

      it('applies a group of records of one message in order: a failed manual attempt after a settled one leaves it failed', async () => {
        const log = await makeLog();
        const webhook = await newWebhook(log.id);
        await store.egress.claim('node-a', 1_000, 9_000, 10);
        const at = (offset: number, status: StoredDeliveryStatus, tentative = false): DeliveryRecord => ({
          webhookId: webhook.id,
          attempt: { ...attempt(webhook.id, offset), statusCode: 500, trigger: tentative ? 'manual' : 'scheduled' },
          delivery: { offset, status, nextAttemptAt: status === 'pending' ? 9_000 : null, statusCode: 500, at: 2_000, tentative },
        });
        await store.egress.recordAttempt(at(1, 'pending'), 'node-a');
        await store.egress.recordAttempt(at(2, 'pending'), 'node-a');
        // One group each: settled then a manual failure; a retry scheduled then a manual failure.
        await Promise.all([store.egress.recordAttempt(at(1, 'failed'), 'node-a'), store.egress.recordAttempt(at(1, 'failed', true), 'node-a')]);
        await Promise.all([store.egress.recordAttempt(at(2, 'pending'), 'node-a'), store.egress.recordAttempt(at(2, 'failed', true), 'node-a')]);
        expect(await store.egress.failedSince(webhook.id, 0, 0, 10, 10)).toEqual([1]);
        expect(await store.egress.deliveryCounts(webhook.id, 10)).toEqual({ pending: 1, success: 0, failed: 1, skipped: 0 });
        expect(await store.egress.attempts(webhook.id, { offset: 1, limit: 10 })).toHaveLength(3);
      });

      it('bounds how far back a filtered page looks', async () => {
        const log = await makeLog();
        const webhook = await newWebhook(log.id);
        await store.egress.claim('node-a', 1_000, 9_000, 10);
        for (let offset = 0; offset < 5; offset++) await store.egress.recordAttempt(record(attempt(webhook.id, offset)), 'node-a');
        const ids = (await store.egress.attempts(webhook.id, { limit: 10 })).map((a) => a.id!);
        expect(await store.egress.attemptFloor(webhook.id, undefined, 2)).toBe(ids[1]);
        expect(await store.egress.attemptFloor(webhook.id, ids[1], 2)).toBe(ids[3]);
        expect(await store.egress.attemptFloor(webhook.id, undefined, 6)).toBeUndefined();
        expect((await store.egress.attempts(webhook.id, { fromId: ids[2], limit: 10 })).map((a) => a.id)).toEqual(ids.slice(0, 3));
      });

      it('stores tasks, lists the running ones, and saves progress only under the lease', async () => {
        const log = await makeLog();
        const webhook = await newWebhook(log.id);
        const first = task(webhook.id);
        const second = task(webhook.id, { createdAt: 2_000 });
        await store.egress.createTask(first);
        await store.egress.createTask(second);
        expect(await store.egress.task(first.id)).toEqual(first);
        expect((await store.egress.runningTasks(webhook.id)).map((t) => t.id)).toEqual([first.id, second.id]);
        expect(await store.egress.saveTask({ ...first, position: 5 }, 'node-a')).toBe(false);
        await store.egress.claim('node-a', 1_000, 9_000, 10);
        const done = { ...first, status: 'finished' as const, position: 10, sent: 10, succeeded: 9, failed: 1, updatedAt: 3_000 };
        expect(await store.egress.saveTask(done, 'node-a')).toBe(true);
        expect(await store.egress.task(first.id)).toEqual(done);
        // Once another node holds the lease, this one's progress is refused.
        await store.egress.release('node-a', [webhook.id]);
        expect(await store.egress.claim('node-b', 1_000, 9_000, 10)).toEqual([webhook.id]);
        expect(await store.egress.saveTask({ ...second, position: 3 }, 'node-a')).toBe(false);
        expect((await store.egress.task(second.id))?.position).toBe(0);
        expect((await store.egress.runningTasks(webhook.id)).map((t) => t.id)).toEqual([second.id]);
        await store.egress.delete(webhook.id);
        const ended = await store.egress.task(second.id);
        expect(ended).toMatchObject({ status: 'failed', error: 'the egress webhook was deleted' });
        // Dated now, so that retention keeps it readable for the retention period.
        expect(ended!.updatedAt).toBeGreaterThan(Date.now() - 60_000);
      });

      it('forgets delivery history by age, but never pending deliveries or running tasks', async () => {
        const log = await makeLog();
        const webhook = await newWebhook(log.id);
        await store.egress.claim('node-a', 1_000, 9_000, 10);
        await store.egress.recordAttempt(record({ ...attempt(webhook.id, 1), time: 1_000 }), 'node-a');
        await store.egress.recordAttempt(record({ ...attempt(webhook.id, 2), time: 1_000 }, undefined, 'pending'), 'node-a');
        await store.egress.recordAttempt(record({ ...attempt(webhook.id, 3), time: 8_000 }), 'node-a');
        const ended = task(webhook.id, { status: 'finished', updatedAt: 1_000 });
        const running = task(webhook.id, { updatedAt: 1_000 });
        await store.egress.createTask(ended);
        await store.egress.createTask(running);
        // Two attempts, one settled delivery, one ended task.
        expect(await store.retention.purgeDeliveryHistory(5_000, 1_000)).toBe(4);
        expect((await store.egress.attempts(webhook.id, { limit: 10 })).map((a) => a.offset)).toEqual([3]);
        expect(await store.egress.deliveryCounts(webhook.id, 10)).toEqual({ pending: 1, success: 1, failed: 0, skipped: 0 });
        expect(await store.egress.task(ended.id)).toBeUndefined();
        expect(await store.egress.task(running.id)).toEqual(running);
        expect(await store.retention.purgeDeliveryHistory(5_000, 1_000)).toBe(0);
      });

      it('creates at the start offset, active, and gets, lists, updates and deletes', async () => {
        const log = await makeLog();
        const webhook = await newWebhook(log.id, { metadata: 'm' });
        expect(webhook).toMatchObject({ logId: log.id, metadata: 'm', payload: 'message', mode: 'ordered' });
        expect(webhook.state).toEqual({
          active: true,
          inactiveReason: '',
          nextOffset: 7,
          failures: 0,
          nextAttemptAt: 1_000,
          lastOffset: null,
          lastTime: null,
          lastResponse: '',
          lastError: '',
        });
        await newWebhook(log.id, { metadata: 'other' });
        expect(await store.egress.get(webhook.id)).toEqual(webhook);
        expect((await store.egress.list({ metadata: 'm' })).map((w) => w.id)).toEqual([webhook.id]);
        const updated = await store.egress.update(webhook.id, { destination: 'https://example.org/' });
        expect(updated).toMatchObject({ metadata: 'm', destination: 'https://example.org/' });
        expect(await store.egress.update(newId('ewh'), { metadata: 'x' })).toBeUndefined();
        expect(updated?.headers).toEqual({});
        expect((await store.egress.delete(webhook.id))?.id).toBe(webhook.id);
        expect(await store.egress.get(webhook.id)).toBeUndefined();
      });

      it('keeps how a webhook signs and its custom headers; an update replaces the headers or leaves them', async () => {
        const log = await makeLog();
        const webhook = await newWebhook(log.id, { mode: 'parallel', signing: 'standard-webhooks', headers: { 'x-team': 'a', 'user-agent': 'ü' } });
        expect(webhook).toMatchObject({ mode: 'parallel', signing: 'standard-webhooks', headers: { 'x-team': 'a', 'user-agent': 'ü' } });
        expect(await store.egress.get(webhook.id)).toEqual(webhook);
        expect((await store.egress.update(webhook.id, { metadata: 'm' }))?.headers).toEqual({ 'x-team': 'a', 'user-agent': 'ü' });
        expect((await store.egress.update(webhook.id, { headers: { 'x-other': 'b' } }))?.headers).toEqual({ 'x-other': 'b' });
        expect((await store.egress.update(webhook.id, { headers: {} }))?.headers).toEqual({});
        expect((await store.egress.get(webhook.id))?.signing).toBe('standard-webhooks');
      });

      it('records attempts with the new state, counts active ones, and re-activates', async () => {
        const log = await makeLog();
        const webhook = await newWebhook(log.id);
        expect(await store.egress.claim('node-a', 1_000, 9_000, 10)).toEqual([webhook.id]);
        const failed = { ...webhook.state, active: false, inactiveReason: 'gave up', failures: 3, lastOffset: 7, lastTime: 2_000, lastError: 'HTTP 500' };
        await store.egress.recordAttempt(record({ ...attempt(webhook.id, 7), statusCode: 500, error: 'HTTP 500' }, failed), 'node-a');
        expect((await store.egress.get(webhook.id))?.state).toEqual(failed);
        expect(await store.egress.countActive()).toBe(0);
        expect(withoutIds(await store.egress.attempts(webhook.id, { limit: 5 }))).toEqual([{ ...attempt(webhook.id, 7), statusCode: 500, error: 'HTTP 500' }]);
        const reactivated = await store.egress.update(webhook.id, { reactivateAt: 5_000 });
        expect(reactivated?.state).toMatchObject({ active: true, inactiveReason: '', failures: 0, nextAttemptAt: 5_000, nextOffset: 7 });
        expect(await store.egress.countActive()).toBe(1);
      });

      it("leaves a deleted webhook's attempts to the purge, which removes them in steps", async () => {
        const log = await makeLog();
        const webhook = await newWebhook(log.id);
        await store.egress.claim('node-a', 1_000, 9_000, 10);
        await Promise.all([7, 8, 9].map((offset) => store.egress.recordAttempt(record(attempt(webhook.id, offset), webhook.state), 'node-a')));
        await store.egress.delete(webhook.id);
        // Three attempts and the three messages' delivery states.
        expect(await store.retention.purgeDeleted(4)).toBe(4);
        expect(await store.retention.purgeDeleted(4)).toBe(2);
        expect(await store.retention.purgeDeleted(4)).toBe(0);
        expect(await store.egress.attempts(webhook.id, { limit: 10 })).toEqual([]);
      });

      it('keeps the last state of a group of attempts, and every attempt, in order', async () => {
        const log = await makeLog();
        const webhook = await newWebhook(log.id);
        await store.egress.claim('node-a', 1_000, 9_000, 10);
        const states = [8, 9, 10].map((nextOffset) => ({ ...webhook.state, nextOffset, lastOffset: nextOffset - 1 }));
        await Promise.all(states.map((state, i) => store.egress.recordAttempt(record(attempt(webhook.id, 7 + i), state), 'node-a')));
        expect((await store.egress.get(webhook.id))?.state.nextOffset).toBe(10);
        expect((await store.egress.attempts(webhook.id, { limit: 5 })).map((a) => a.offset)).toEqual([9, 8, 7]);
      });

      it('keeps no attempt for a webhook deleted, or leased to another node, while it was in flight', async () => {
        const log = await makeLog();
        const deleted = await newWebhook(log.id);
        const taken = await newWebhook(log.id);
        await store.egress.claim('node-a', 1_000, 2_000, 10);
        await store.egress.delete(deleted.id);
        expect(await store.egress.claim('node-b', 2_000, 9_000, 10)).toEqual([taken.id]);
        await store.egress.recordAttempt(record(attempt(deleted.id, 7), deleted.state), 'node-a');
        await store.egress.recordAttempt(record(attempt(taken.id, 7), { ...taken.state, nextOffset: 8 }), 'node-a');
        expect(await store.egress.attempts(deleted.id, { limit: 5 })).toEqual([]);
        expect(await store.egress.attempts(taken.id, { limit: 5 })).toEqual([]);
        expect((await store.egress.get(taken.id))?.state.nextOffset).toBe(7);
      });

      it('claims each active webhook for one owner at a time, until its lease expires', async () => {
        const log = await makeLog();
        const [a, b, c] = [await newWebhook(log.id), await newWebhook(log.id), await newWebhook(log.id)];
        const inactive = await newWebhook(log.id);
        await store.egress.claim('node-x', 0, 1, 10);
        await store.egress.recordAttempt(record(attempt(inactive.id, 7), { ...inactive.state, active: false }), 'node-x');
        await store.egress.release('node-x', [a.id, b.id, c.id]);

        expect(await store.egress.claim('node-a', 1_000, 5_000, 2)).toEqual([a.id, b.id]);
        expect(await store.egress.claim('node-b', 1_000, 5_000, 10)).toEqual([c.id]);
        expect(await store.egress.claim('node-b', 2_000, 5_000, 10)).toEqual([]);
        // Renewing keeps a lease; a lease not renewed expires and passes on.
        expect(await store.egress.renew('node-a', [a.id, c.id], 8_000)).toEqual([a.id]);
        expect(await store.egress.renew('node-b', [c.id], 9_000)).toEqual([c.id]);
        expect(await store.egress.claim('node-b', 5_000, 9_000, 10)).toEqual([b.id]);
        // An owner's lease from before a restart is claimed again at once; one just renewed is not.
        expect(await store.egress.claim('node-a', 5_000, 8_000, 10)).toEqual([]);
        expect(await store.egress.claim('node-a', 5_000, 8_500, 10)).toEqual([a.id]);
        await store.egress.release('node-b', [a.id, b.id]);
        expect(await store.egress.claim('node-c', 5_000, 9_000, 10)).toEqual([b.id]);
      });

      it('never hands one webhook to two concurrent claims', async () => {
        const log = await makeLog();
        const ids = [];
        for (let i = 0; i < 20; i++) ids.push((await newWebhook(log.id)).id);
        const claims = await Promise.all(['a', 'b', 'c', 'd'].map((owner) => store.egress.claim(owner, 1_000, 5_000, 8)));
        const all = claims.flat();
        expect(new Set(all).size).toBe(all.length);
        expect(all.sort()).toEqual([...ids].sort());
      });

      it('rotates secrets: the old one stays valid until it expires, the current one first', async () => {
        const log = await makeLog();
        const webhook = await newWebhook(log.id);
        await store.egress.rotateSecret(webhook.id, 'ewhsec_second', 10_000, 5_000, 10);
        expect(await store.egress.secrets(webhook.id, 5_000)).toEqual([
          { secret: 'ewhsec_second', expiresAt: null },
          { secret: 'ewhsec_first', expiresAt: 10_000 },
        ]);
        expect(await store.egress.secrets(webhook.id, 10_000)).toEqual([{ secret: 'ewhsec_second', expiresAt: null }]);
        // Ending the old secret at once ends every earlier one too, 'first' included: that is how a leaked secret is revoked.
        await store.egress.rotateSecret(webhook.id, 'ewhsec_fourth', 20_000, 6_000, 10);
        await store.egress.rotateSecret(webhook.id, 'ewhsec_third', 6_000, 6_000, 10);
        expect((await store.egress.secrets(webhook.id, 6_000)).map((s) => s.secret)).toEqual(['ewhsec_third']);
        expect(await store.egress.rotateSecret(newId('ewh'), 'x', 0, 0, 10)).toBeUndefined();
      });

      it('keeps at most `keep` secrets valid on rotation, ending those that would expire first', async () => {
        const log = await makeLog();
        const webhook = await newWebhook(log.id);
        await store.egress.rotateSecret(webhook.id, 'ewhsec_second', 10_000, 1_000, 3);
        await store.egress.rotateSecret(webhook.id, 'ewhsec_third', 20_000, 1_000, 3);
        expect((await store.egress.secrets(webhook.id, 1_000)).map((s) => s.secret)).toEqual(['ewhsec_third', 'ewhsec_second', 'ewhsec_first']);
        await store.egress.rotateSecret(webhook.id, 'ewhsec_fourth', 30_000, 1_000, 3);
        expect(await store.egress.secrets(webhook.id, 1_000)).toEqual([
          { secret: 'ewhsec_fourth', expiresAt: null },
          { secret: 'ewhsec_third', expiresAt: 30_000 },
          { secret: 'ewhsec_second', expiresAt: 20_000 },
        ]);
        await store.egress.rotateSecret(webhook.id, 'ewhsec_fifth', 40_000, 1_000, 1);
        expect(await store.egress.secrets(webhook.id, 1_000)).toEqual([{ secret: 'ewhsec_fifth', expiresAt: null }]);
      });

      it('stores, replaces and removes a transformation, announces each change, and drops it with its webhook and its log', async () => {
        const log = await makeLog();
        const webhook = await newWebhook(log.id);
        const heard: string[] = [];
        await store.watch((change) => change.kind === 'egress_changed' && heard.push(change.webhookId));
        expect(await store.egress.transformation(webhook.id)).toBeUndefined();
        const first = { code: 'export const handler = (w) => w;\n// ünïcode', enabled: true, updatedAt: 2 ** 41 };
        expect(await store.egress.setTransformation(webhook.id, first)).toBe(true);
        expect(await store.egress.transformation(webhook.id)).toEqual(first);
        const second = { code: 'function handler(w) { return w }', enabled: false, updatedAt: 2 ** 41 + 1 };
        await store.egress.setTransformation(webhook.id, second);
        expect(await store.egress.transformation(webhook.id)).toEqual(second);
        expect(heard).toEqual([webhook.id, webhook.id]);
        expect(await store.egress.setTransformation(webhook.id, null)).toBe(true);
        expect(await store.egress.transformation(webhook.id)).toBeUndefined();
        // No webhook, nothing stored.
        const missing = newId('ewh');
        expect(await store.egress.setTransformation(missing, first)).toBe(false);
        expect(await store.egress.transformation(missing)).toBeUndefined();
        // A webhook made again under an old id would not inherit it: deletion removes it.
        await store.egress.setTransformation(webhook.id, first);
        await store.egress.delete(webhook.id);
        expect(await store.egress.transformation(webhook.id)).toBeUndefined();
        const other = await newWebhook(log.id);
        await store.egress.setTransformation(other.id, first);
        await store.logs.delete(log.id);
        expect(await store.egress.transformation(other.id)).toBeUndefined();
      });

      it('creates an endpoint with its webhook, in one transaction', async () => {
        const log = await makeLog();
        const endpoint = (webhookId: string): EndpointFields => ({
          webhookId,
          logId: log.id,
          uid: 'orders',
          description: 'the orders service',
          version: 1,
          metadata: { team: 'a' },
          createdAt: 1_000,
          updatedAt: 1_000,
        });
        const id = newId('ewh');
        const webhook = await newWebhook(log.id, { id, signing: 'svix', endpoint: endpoint(id) });
        expect(webhook.signing).toBe('svix');
        expect(await store.endpoints.get(id)).toEqual(endpoint(id));
        // A second endpoint with the same uid fails as a whole: no webhook is left without its endpoint.
        const taken = newId('ewh');
        await expect(newWebhook(log.id, { id: taken, endpoint: endpoint(taken) })).rejects.toThrow();
        expect(await store.egress.get(taken)).toBeUndefined();
        expect(await store.egress.list({})).toHaveLength(1);
      });

      it('deactivates with a reason, announced, winning over a re-activation asked at once', async () => {
        const log = await makeLog();
        const webhook = await newWebhook(log.id);
        const heard: string[] = [];
        await store.watch((change) => heard.push(change.kind === 'egress_changed' ? change.webhookId : change.kind));
        const disabled = await store.egress.update(webhook.id, { deactivate: 'disabled by the user' });
        expect(disabled?.state).toMatchObject({ active: false, inactiveReason: 'disabled by the user', nextOffset: 7 });
        expect(heard).toEqual([webhook.id]);
        expect(await store.egress.countActive()).toBe(0);
        expect(await store.egress.claim('node-a', 1_000, 9_000, 10)).toEqual([]);
        expect((await store.egress.update(webhook.id, { reactivateAt: 5_000, deactivate: 'still off' }))?.state).toMatchObject({
          active: false,
          inactiveReason: 'still off',
          nextAttemptAt: 1_000,
        });
        expect((await store.egress.update(webhook.id, { reactivateAt: 5_000 }))?.state).toMatchObject({
          active: true,
          inactiveReason: '',
          nextAttemptAt: 5_000,
        });
      });

      it('is not re-activated by an attempt that was in flight when it was deactivated', async () => {
        const log = await makeLog();
        const webhook = await newWebhook(log.id);
        await store.egress.claim('node-a', 1_000, 9_000, 10);
        await store.egress.update(webhook.id, { deactivate: 'disabled by the user' });
        await store.egress.recordAttempt(record(attempt(webhook.id, 7), { ...webhook.state, nextOffset: 8, lastOffset: 7 }), 'node-a');
        expect((await store.egress.get(webhook.id))?.state).toMatchObject({ active: false, inactiveReason: 'disabled by the user', nextOffset: 8 });
        expect(await store.egress.attempts(webhook.id, { limit: 5 })).toHaveLength(1);
      });

      it('lists tasks newest first, below an id', async () => {
        const [a, b] = [await makeLog(), await makeLog()];
        const [first, second] = [await newWebhook(a.id), await newWebhook(a.id)];
        const other = await newWebhook(b.id);
        const tasks = [task(first.id), task(second.id), task(first.id), task(other.id)];
        for (const one of tasks) await store.egress.createTask(one);
        const newestFirst = tasks.map((t) => t.id).sort((x, y) => (x < y ? 1 : -1));
        expect(await store.egress.listTasks({ limit: 10 })).toEqual(newestFirst.map((id) => tasks.find((t) => t.id === id)));
        expect((await store.egress.listTasks({ limit: 2 })).map((t) => t.id)).toEqual(newestFirst.slice(0, 2));
        expect((await store.egress.listTasks({ belowId: newestFirst[0], limit: 10 })).map((t) => t.id)).toEqual(newestFirst.slice(1));
        expect(await store.egress.listTasks({ belowId: newestFirst.at(-1), limit: 10 })).toEqual([]);
      });

      it("expunges an attempt's response, and the webhook's copy of it as its last response", async () => {
        const log = await makeLog();
        const webhook = await newWebhook(log.id);
        const other = await newWebhook(log.id);
        await store.egress.claim('node-a', 1_000, 9_000, 10);
        const last = { ...webhook.state, nextOffset: 8, lastOffset: 7, lastTime: 2_000, lastResponse: 'card 4242' };
        await store.egress.recordAttempt(record({ ...attempt(webhook.id, 7), response: 'card 4242' }, last), 'node-a');
        await store.egress.recordAttempt(record({ ...attempt(other.id, 7), response: 'kept' }), 'node-a');
        const [tried] = await store.egress.attempts(webhook.id, { limit: 1 });
        const [kept] = await store.egress.attempts(other.id, { limit: 1 });
        expect(await store.egress.expungeResponse(other.id, tried!.id!)).toBe(false);
        expect(await store.egress.expungeResponse(webhook.id, tried!.id!)).toBe(true);
        expect(await store.egress.attempt(webhook.id, tried!.id!)).toEqual({ ...tried, response: '' });
        expect((await store.egress.get(webhook.id))?.state).toEqual({ ...last, lastResponse: '' });
        expect((await store.egress.attempt(other.id, kept!.id!))?.response).toBe('kept');
        expect(await store.egress.expungeResponse(webhook.id, tried!.id! + 1_000)).toBe(false);
      });

      it('tells which of some offsets a webhook has a delivery state for', async () => {
        const log = await makeLog();
        const webhook = await newWebhook(log.id);
        const other = await newWebhook(log.id);
        await store.egress.claim('node-a', 1_000, 9_000, 10);
        await store.egress.recordAttempt(record(attempt(webhook.id, 1)), 'node-a');
        await store.egress.recordAttempt(record(attempt(webhook.id, 2), undefined, 'failed'), 'node-a');
        await store.egress.recordAttempt(
          { webhookId: webhook.id, delivery: { offset: 4, status: 'skipped', nextAttemptAt: null, statusCode: null, at: 5_000 } },
          'node-a',
        );
        await store.egress.recordAttempt(record(attempt(other.id, 3)), 'node-a');
        const states = await store.egress.deliveryStates(webhook.id, [0, 1, 2, 3, 4, 5]);
        expect([...states.keys()].sort()).toEqual([1, 2, 4]);
        expect(states.get(1)).toMatchObject({ offset: 1, status: expect.any(String), attempts: expect.any(Number) });
        expect(await store.egress.deliveryStates(webhook.id, [])).toEqual(new Map());
        expect(await store.egress.deliveryStates(other.id, [1, 2])).toEqual(new Map());
      });

      it('parks retries with their attempts, and returns the one due first', async () => {
        const log = await makeLog();
        const webhook = await newWebhook(log.id, { mode: 'parallel' });
        await store.egress.claim('node-a', 1_000, 9_000, 10);
        const failed = (offset: number, retry: DeliveryRecord['retry']): DeliveryRecord => ({
          ...record({ ...attempt(webhook.id, offset), statusCode: 500, error: 'HTTP 500' }, undefined, 'pending'),
          retry,
        });
        await store.egress.recordAttempt(failed(3, { offset: 3, failures: 1, nextAttemptAt: 900 }), 'node-a');
        await store.egress.recordAttempt(failed(1, { offset: 1, failures: 2, nextAttemptAt: 500 }), 'node-a');
        expect(await store.egress.nextParked(webhook.id)).toEqual({ offset: 1, failures: 2, nextAttemptAt: 500 });
        expect((await store.egress.attempts(webhook.id, { limit: 10 })).map((a) => a.offset)).toEqual([1, 3]);
        await store.egress.recordAttempt(failed(1, { offset: 1, failures: 3, nextAttemptAt: 950 }), 'node-a');
        expect(await store.egress.nextParked(webhook.id)).toEqual({ offset: 3, failures: 1, nextAttemptAt: 900 });
        expect(await store.egress.parked(webhook.id)).toEqual({ count: 2, firstOffset: 1 });
        // Only the lease holder changes the retry set.
        await store.egress.recordAttempt({ ...record(attempt(webhook.id, 3)), retry: null }, 'node-b');
        expect(await store.egress.nextParked(webhook.id)).toEqual({ offset: 3, failures: 1, nextAttemptAt: 900 });
        // In one group, a message's last change wins: parked again, then delivered.
        await Promise.all([
          store.egress.recordAttempt(failed(3, { offset: 3, failures: 2, nextAttemptAt: 800 }), 'node-a'),
          store.egress.recordAttempt({ ...record(attempt(webhook.id, 3)), retry: null }, 'node-a'),
        ]);
        expect(await store.egress.nextParked(webhook.id)).toEqual({ offset: 1, failures: 3, nextAttemptAt: 950 });
        await store.egress.unpark(webhook.id, 1);
        expect(await store.egress.nextParked(webhook.id)).toBeUndefined();
        expect(await store.egress.parked(webhook.id)).toEqual({ count: 0, firstOffset: null });
      });

      it('is deleted with its log', async () => {
        const log = await makeLog();
        const webhook = await newWebhook(log.id);
        await store.logs.delete(log.id);
        expect(await store.egress.get(webhook.id)).toBeUndefined();
        expect(await store.egress.secrets(webhook.id, 0)).toEqual([]);
      });
    });

    describe('cluster', () => {
      it('counts workers seen alive, itself included, and forgets one that leaves with its leases', async () => {
        expect(await store.cluster.heartbeat('node-a', 1_000, 0)).toBe(1);
        expect(await store.cluster.heartbeat('node-b', 2_000, 0)).toBe(2);
        expect(await store.cluster.heartbeat('node-a', 5_000, 1_500)).toBe(2);
        expect(await store.cluster.heartbeat('node-a', 6_000, 2_500)).toBe(1);
        const log = await makeLog();
        const webhook = await store.egress.create({
          id: newId('ewh'),
          logId: log.id,
          metadata: '',
          destination: 'https://example.com/',
          payload: 'message',
          mode: 'ordered',
          signing: 'klev',
          headers: {},
          filter: { eventTypes: [], channels: [] },
          rateLimit: null,
          secret: 'ewhsec_x',
          startOffset: 0,
          nowMs: 0,
        });
        expect(await store.egress.claim('node-b', 6_000, 99_000, 10)).toEqual([webhook.id]);
        expect(await store.cluster.lead('retention', 'node-b', 6_000, 99_000)).toBe(true);
        await store.cluster.leave('node-b');
        expect(await store.egress.claim('node-a', 6_000, 9_000, 10)).toEqual([webhook.id]);
        expect(await store.cluster.lead('retention', 'node-a', 6_000, 9_000)).toBe(true);
        // Nodes not seen for a day are forgotten, whatever the window asked about.
        expect(await store.cluster.heartbeat('node-c', 6_001 + FORGET_NODES_AFTER_MS, 0)).toBe(1);
      });

      it('gives a named lease to one owner until it expires', async () => {
        expect(await store.cluster.lead('retention', 'node-a', 1_000, 5_000)).toBe(true);
        expect(await store.cluster.lead('retention', 'node-b', 2_000, 6_000)).toBe(false);
        expect(await store.cluster.lead('retention', 'node-a', 4_000, 8_000)).toBe(true);
        expect(await store.cluster.lead('retention', 'node-b', 7_999, 9_000)).toBe(false);
        expect(await store.cluster.lead('retention', 'node-b', 8_000, 12_000)).toBe(true);
        expect(await store.cluster.lead('other', 'node-a', 8_000, 12_000)).toBe(true);
        const both = await Promise.all(['x', 'y', 'z'].map((owner) => store.cluster.lead('race', owner, 0, 1_000)));
        expect(both.filter(Boolean)).toHaveLength(1);
      });
    });

    describe('retention', () => {
      const offsetsOf = async (logId: string) => (await store.messages.read(logId, 0, 1000)).map((m) => m.offset);

      it('lists only logs with a retention setting', async () => {
        await makeLog();
        const trimmed = await makeLog({ trimSeconds: 5 });
        const compacting = await makeLog({ compacting: true });
        expect((await store.retention.logsWithRetention()).map((l) => l.id).sort()).toEqual([trimmed.id, compacting.id].sort());
      });

      it('trims by age from the start of the log, in steps', async () => {
        const log = await makeLog({ trimSeconds: 1 });
        await append(log.id, [msg(null, 'a', 10), msg(null, 'b', 20), msg(null, 'c', 30), msg(null, 'd', 40)]);
        expect(await store.retention.trimByAge(log.id, 35, 2)).toBe(2);
        expect(await store.retention.trimByAge(log.id, 35, 2)).toBe(1);
        expect(await offsetsOf(log.id)).toEqual([3]);
        expect(await store.retention.trimByAge(log.id, 35, 2)).toBe(0);
      });

      it('trims by age the old messages after young ones: those appended late, in their own and in later groups', async () => {
        const log = await makeLog({ trimSeconds: 1 });
        await append(log.id, [msg(null, 'a', 10), msg(null, 'young', 50), msg(null, 'late', 20), msg(null, 'future', 90)]);
        await append(log.id, [msg(null, 'late-2', 30), msg(null, 'young-2', 95)]);
        expect(await store.retention.trimByAge(log.id, 40, 1)).toBe(1);
        expect(await store.retention.trimByAge(log.id, 40, 100)).toBe(2);
        expect(await offsetsOf(log.id)).toEqual([1, 3, 5]);
        expect(await store.retention.trimByAge(log.id, 40, 100)).toBe(0);
        // A late message is late for good: once the young ones before it are gone, it still goes by its own time.
        expect(await store.retention.trimByAge(log.id, 92, 100)).toBe(2);
        expect(await offsetsOf(log.id)).toEqual([5]);
      });

      it('trims by size down to the limit, oldest first', async () => {
        const log = await makeLog({ trimBytes: 10 });
        // 4 bytes each (key 1 + value 3): 16 bytes in all.
        await append(log.id, [msg('a', '111'), msg('b', '222'), msg('c', '333'), msg('d', '444')]);
        expect(await store.retention.trimBySize(log.id, 10, 100)).toBe(2);
        expect(await offsetsOf(log.id)).toEqual([2, 3]);
        expect(await store.retention.trimBySize(log.id, 10, 100)).toBe(0);
        // The size the store tracks follows deletions: two more messages push it over again.
        await append(log.id, [msg('e', '555')]);
        expect(await store.retention.trimBySize(log.id, 10, 100)).toBe(1);
        expect(await offsetsOf(log.id)).toEqual([3, 4]);
      });

      it('compacts overwritten keys once old enough, keeping the newest per key', async () => {
        const log = await makeLog({ compacting: true });
        await append(log.id, [msg('k', '1', 10), msg('j', '1', 10), msg('k', '2', 20), msg(null, 'nil-key', 20), msg('k', '3', 50)]);
        expect(await store.retention.compact(log.id, 15, 100)).toBe(1);
        expect(await offsetsOf(log.id)).toEqual([1, 2, 3, 4]);
        expect(await store.retention.compact(log.id, 100, 100)).toBe(1);
        expect(await offsetsOf(log.id)).toEqual([1, 3, 4]);
      });

      it('compacts keys overwritten many thousands of messages later, a limited step at a time', async () => {
        const log = await makeLog({ compacting: true });
        const keyed = (tag: string, n: number) => Array.from({ length: n }, (_, i) => msg(`${tag}-${i}`, 'v', 10));
        // Keys r-0..r-149 at offsets 0..149, written again at 80,000..80,149; the rest are never overwritten.
        await append(log.id, [...keyed('r', 150), ...keyed('u', 79_850)]);
        await append(log.id, keyed('r', 150));
        expect(await store.retention.compact(log.id, 100, 100)).toBe(100);
        expect(await store.retention.compact(log.id, 100, 100)).toBe(50);
        expect(await store.retention.compact(log.id, 100, 100)).toBe(0);
        const first = await store.messages.read(log.id, 0, 1);
        expect(first[0]?.offset).toBe(150);
        expect((await store.messages.getByKey(log.id, bytes('r-7')))?.offset).toBe(80_007);
        expect((await store.messages.getByKey(log.id, bytes('u-7')))?.offset).toBe(157);
      });

      it('expires messages with a key and nil value once old enough', async () => {
        const log = await makeLog({ expireSeconds: 1 });
        await append(log.id, [msg('k', null, 10), msg(null, null, 10), msg('j', 'v', 10), msg('k', null, 50)]);
        expect(await store.retention.expire(log.id, 20, 100)).toBe(1);
        expect(await offsetsOf(log.id)).toEqual([1, 2, 3]);
      });

      it("purges a deleted ingress webhook's delivery ids, then its log's messages are gone", async () => {
        const log = await makeLog();
        const scope = newId('iwh');
        await store.ingress.create(newIngressWebhook(log.id, '', scope));
        const once = (key: string) => store.messages.append([{ logId: log.id, messages: [msg(null, key)], claims: [{ scope, key, since: 0, now: 10 }] }], 1);
        for (const key of ['a', 'b', 'c']) await once(key);
        await store.ingress.delete(scope);
        // The log's three messages stay; only the delivery ids go with the webhook.
        expect(await store.retention.purgeDeleted(10)).toBe(3);
        expect(await offsetsOf(log.id)).toEqual([0, 1, 2]);
        expect(await once('a')).toEqual([{ nextOffset: 4 }]);
      });

      it('purges the messages of deleted logs in steps', async () => {
        const log = await makeLog();
        const kept = await makeLog();
        await append(log.id, [msg(null, '1'), msg(null, '2'), msg(null, '3')]);
        await append(kept.id, [msg(null, 'k')]);
        await store.logs.delete(log.id);
        expect(await store.retention.purgeDeleted(2)).toBe(2);
        expect(await store.retention.purgeDeleted(2)).toBe(1);
        expect(await store.retention.purgeDeleted(2)).toBe(0);
        expect(await offsetsOf(kept.id)).toEqual([0]);
      });
    });
  });
}
