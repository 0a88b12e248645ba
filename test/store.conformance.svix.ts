import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../src/domain/ids.js';
import type { Application, EndpointFields, EventType, Integration, PageQuery, RetentionSettings, Token } from '../src/domain/types.js';
import type { Store } from '../src/store/store.js';
import type { StoreHarness } from './store.conformance.js';

const NO_RETENTION: RetentionSettings = { compacting: false, trimBytes: 0, trimSeconds: 0, compactSeconds: 0, expireSeconds: 0 };

/** Ids made in the same second sort by their random part: a test that pages sorts what it made, as the store must. */
const sorted = (ids: string[]) => [...ids].sort();

/** The stores behind the Svix API (applications, endpoints, event types, idempotency, integrations), on one backend. */
export function describeSvixStoreConformance(backend: string, harness: StoreHarness, available = true): void {
  describe.runIf(available)(`store conformance, Svix objects: ${backend}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await harness.make();
    });
    afterEach(async () => {
      await store.close();
    });

    const newApplication = (fields: Partial<Application> = {}): Application => ({
      logId: newId('log'),
      uid: null,
      name: 'app',
      rateLimit: null,
      metadata: {},
      createdAt: 1,
      updatedAt: 1,
      ...fields,
    });
    const createApplication = (application: Application) => store.applications.create({ id: application.logId, metadata: '', ...NO_RETENTION }, application);
    const makeApplication = async (fields: Partial<Application> = {}) => {
      const application = newApplication(fields);
      expect(await createApplication(application)).toEqual(application);
      return application;
    };
    const makeWebhook = async (logId: string, endpoint?: Partial<EndpointFields>) => {
      const id = newId('ewh');
      const fields: EndpointFields = { webhookId: id, logId, uid: null, description: 'd', version: 1, metadata: {}, createdAt: 2, updatedAt: 2, ...endpoint };
      await store.egress.create({
        id,
        ...(endpoint && { endpoint: fields }),
        logId,
        metadata: '',
        destination: 'http://x',
        payload: 'message',
        mode: 'parallel',
        signing: 'svix',
        headers: {},
        filter: { eventTypes: [], channels: [] },
        rateLimit: null,
        secret: 's',
        startOffset: 0,
        nowMs: 1,
      });
      return fields;
    };
    const makeEndpoint = (logId: string, endpoint: Partial<EndpointFields> = {}) => makeWebhook(logId, endpoint);
    const newToken = (application?: string): Token => ({
      id: newId('tok'),
      metadata: '',
      acl: [],
      secretHash: newId('tok'),
      ...(application && { application }),
    });
    const makeIntegration = async (logId: string, name = 'i') => {
      const token = newToken(logId);
      const integration: Integration = {
        id: newId('integ'),
        logId,
        name,
        featureFlags: ['a'],
        tokenId: token.id,
        key: `key-${token.id}`,
        createdAt: 3,
        updatedAt: 3,
      };
      await store.integrations.create(integration, token);
      return { integration, token };
    };
    /** The pages a list of five returns for each kind of query, as ids. */
    const expectPaging = async (ids: string[], list: (page: PageQuery) => Promise<string[]>) => {
      expect(ids).toHaveLength(5);
      expect(await list({ limit: 10 })).toEqual(ids);
      expect(await list({ limit: 2 })).toEqual(ids.slice(0, 2));
      expect(await list({ after: ids[1], limit: 2 })).toEqual(ids.slice(2, 4));
      expect(await list({ after: ids[3], limit: 2 })).toEqual(ids.slice(4));
      expect(await list({ after: ids[4], limit: 2 })).toEqual([]);
      // Before: the rows just before it, still ascending.
      expect(await list({ before: ids[4], limit: 2 })).toEqual(ids.slice(2, 4));
      expect(await list({ before: ids[1], limit: 5 })).toEqual(ids.slice(0, 1));
      expect(await list({ before: ids[0], limit: 5 })).toEqual([]);
    };

    describe('applications', () => {
      it('creates the application with its log, and gets it by log id and by uid', async () => {
        const application = await makeApplication({ uid: 'customer-1', name: 'Customer', rateLimit: 5, metadata: { plan: 'pro' } });
        expect(await store.logs.get(application.logId)).toMatchObject({ id: application.logId, nextOffset: 0 });
        expect(await store.applications.get(application.logId)).toEqual(application);
        expect(await store.applications.byUid('customer-1')).toEqual(application);
        expect(await store.applications.byUid('customer-2')).toBeUndefined();
        expect(await store.applications.get(newId('log'))).toBeUndefined();
      });

      it('refuses a uid another application has, writing neither the log nor the application; many may have none', async () => {
        const first = await makeApplication({ uid: 'same' });
        const second = newApplication({ uid: 'same' });
        expect(await createApplication(second)).toBe('uid_taken');
        expect(await store.logs.get(second.logId)).toBeUndefined();
        expect(await store.applications.get(second.logId)).toBeUndefined();
        expect(await store.applications.byUid('same')).toEqual(first);
        await makeApplication();
        await makeApplication();
        expect(await store.applications.list({ limit: 10 })).toHaveLength(3);
      });

      it('refuses an id a log or an application has, writing nothing', async () => {
        const first = await makeApplication();
        expect(await createApplication({ ...newApplication({ uid: 'fresh' }), logId: first.logId })).toBe('id_taken');
        expect(await store.applications.byUid('fresh')).toBeUndefined();
        const log = await store.logs.create({ id: newId('log'), metadata: 'klev', ...NO_RETENTION });
        expect(await createApplication(newApplication({ logId: log.id }))).toBe('id_taken');
        expect(await store.applications.get(log.id)).toBeUndefined();
        expect(await store.logs.get(log.id)).toMatchObject({ metadata: 'klev' });
      });

      it('updates the fields the changes name, clears uid and rate limit, and refuses a taken uid', async () => {
        const a = await makeApplication({ uid: 'a', name: 'A', rateLimit: 3, metadata: { k: 'v' } });
        const b = await makeApplication({ uid: 'b' });
        expect(await store.applications.update(a.logId, { name: 'A2', nowMs: 5 })).toEqual({ ...a, name: 'A2', updatedAt: 5 });
        const cleared = { ...a, name: 'A2', uid: null, rateLimit: null, metadata: { n: 'm' }, updatedAt: 6 };
        expect(await store.applications.update(a.logId, { uid: null, rateLimit: null, metadata: { n: 'm' }, nowMs: 6 })).toEqual(cleared);
        expect(await store.applications.byUid('a')).toBeUndefined();
        expect(await store.applications.update(a.logId, { uid: 'b', name: 'lost', nowMs: 7 })).toBe('uid_taken');
        expect(await store.applications.get(a.logId)).toEqual(cleared);
        // The uid a gave up is free.
        expect(await store.applications.update(b.logId, { uid: 'a', nowMs: 8 })).toMatchObject({ uid: 'a', updatedAt: 8 });
        expect(await store.applications.update(newId('log'), { name: 'x', nowMs: 9 })).toBeUndefined();
      });

      it('lists by log id, after or before an id, in ascending order', async () => {
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) ids.push((await makeApplication()).logId);
        await expectPaging(sorted(ids), async (page) => (await store.applications.list(page)).map((a) => a.logId));
      });
    });

    describe('endpoints', () => {
      it('keeps the endpoint fields an egress webhook is created with, found by uid within its application only', async () => {
        const a = await makeApplication();
        const b = await makeApplication();
        const endpoint = await makeEndpoint(a.logId, { uid: 'ep', description: 'orders', version: 2, metadata: { team: 'x' } });
        const plain = await makeWebhook(a.logId);
        expect(await store.endpoints.get(endpoint.webhookId)).toEqual(endpoint);
        expect(await store.endpoints.byUid(a.logId, 'ep')).toEqual(endpoint);
        expect(await store.endpoints.byUid(b.logId, 'ep')).toBeUndefined();
        expect(await store.endpoints.get(plain.webhookId)).toBeUndefined();
        expect(await store.endpoints.list(a.logId, { limit: 10 })).toEqual([endpoint]);
        expect(await store.endpoints.list(b.logId, { limit: 10 })).toEqual([]);
      });

      it('updates the fields the changes name, and refuses a uid another endpoint of the application has', async () => {
        const a = await makeApplication();
        const b = await makeApplication();
        const first = await makeEndpoint(a.logId, { uid: 'one' });
        await makeEndpoint(a.logId, { uid: 'two' });
        const other = await makeEndpoint(b.logId, { uid: 'one' });
        const changed = { ...first, description: 'new', version: 3, metadata: { m: 'n' }, updatedAt: 5 };
        expect(await store.endpoints.update(first.webhookId, { description: 'new', version: 3, metadata: { m: 'n' }, nowMs: 5 })).toEqual(changed);
        expect(await store.endpoints.update(first.webhookId, { uid: 'two', description: 'lost', nowMs: 6 })).toBe('uid_taken');
        expect(await store.endpoints.get(first.webhookId)).toEqual(changed);
        // Another application's uids are its own.
        expect(await store.endpoints.update(other.webhookId, { uid: 'two', nowMs: 7 })).toMatchObject({ uid: 'two', updatedAt: 7 });
        expect(await store.endpoints.update(first.webhookId, { uid: null, nowMs: 8 })).toEqual({ ...changed, uid: null, updatedAt: 8 });
        expect(await store.endpoints.byUid(a.logId, 'one')).toBeUndefined();
        expect(await store.endpoints.update(newId('ewh'), { description: 'x', nowMs: 9 })).toBeUndefined();
      });

      it("lists one application's endpoints by webhook id, after or before an id, in ascending order", async () => {
        const a = await makeApplication();
        const b = await makeApplication();
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) ids.push((await makeEndpoint(a.logId)).webhookId);
        await makeEndpoint(b.logId);
        await expectPaging(sorted(ids), async (page) => (await store.endpoints.list(a.logId, page)).map((e) => e.webhookId));
      });

      it('goes with its egress webhook, and its uid is free again', async () => {
        const a = await makeApplication();
        const endpoint = await makeEndpoint(a.logId, { uid: 'ep' });
        await store.egress.delete(endpoint.webhookId);
        expect(await store.endpoints.get(endpoint.webhookId)).toBeUndefined();
        expect(await store.endpoints.byUid(a.logId, 'ep')).toBeUndefined();
        const again = await makeEndpoint(a.logId, { uid: 'ep' });
        expect(await store.endpoints.byUid(a.logId, 'ep')).toEqual(again);
      });
    });

    describe('deleting a log', () => {
      it("removes its application, endpoints, integrations and the tokens made for it, and nothing of another's", async () => {
        const a = await makeApplication({ uid: 'a' });
        const b = await makeApplication({ uid: 'b' });
        const endpointA = await makeEndpoint(a.logId, { uid: 'ep' });
        const endpointB = await makeEndpoint(b.logId, { uid: 'ep' });
        const integrationA = await makeIntegration(a.logId);
        const integrationB = await makeIntegration(b.logId);
        const portalA = newToken(a.logId);
        const portalB = newToken(b.logId);
        const admin = newToken();
        for (const token of [portalA, portalB, admin]) await store.tokens.create(token);

        expect(await store.logs.delete(a.logId)).toMatchObject({ id: a.logId });
        expect(await store.applications.get(a.logId)).toBeUndefined();
        expect(await store.applications.byUid('a')).toBeUndefined();
        expect(await store.endpoints.get(endpointA.webhookId)).toBeUndefined();
        expect(await store.endpoints.list(a.logId, { limit: 10 })).toEqual([]);
        expect(await store.integrations.get(integrationA.integration.id)).toBeUndefined();
        expect(await store.tokens.get(integrationA.token.id)).toBeUndefined();
        expect(await store.tokens.get(portalA.id)).toBeUndefined();

        expect(await store.applications.get(b.logId)).toEqual(b);
        expect(await store.endpoints.get(endpointB.webhookId)).toEqual(endpointB);
        expect(await store.integrations.get(integrationB.integration.id)).toEqual(integrationB.integration);
        expect((await store.tokens.list({})).map((t) => t.id).sort()).toEqual(sorted([integrationB.token.id, portalB.id, admin.id]));
        // The uid is free for a new application.
        await makeApplication({ uid: 'a' });
      });
    });

    describe('event types', () => {
      const eventType = (name: string, fields: Partial<EventType> = {}): EventType => ({
        name,
        description: `about ${name}`,
        schemas: null,
        archived: false,
        deprecated: false,
        featureFlag: null,
        groupName: null,
        createdAt: 1,
        updatedAt: 1,
        ...fields,
      });

      it('creates once per name, gets, replaces all but name and creation time, and deletes', async () => {
        const schemas = { '1': { type: 'object', properties: { id: { type: 'string' } } } };
        const created = eventType('invoice.paid', { schemas, featureFlag: 'beta', groupName: 'invoice' });
        expect(await store.eventTypes.create(created)).toBe(true);
        expect(await store.eventTypes.create(eventType('invoice.paid', { description: 'other' }))).toBe(false);
        expect(await store.eventTypes.get('invoice.paid')).toEqual(created);

        const replacement = eventType('invoice.paid', { description: 'new', archived: true, deprecated: true, createdAt: 99, updatedAt: 5 });
        expect(await store.eventTypes.replace(replacement)).toBe(true);
        expect(await store.eventTypes.get('invoice.paid')).toEqual({ ...replacement, createdAt: 1 });
        expect(await store.eventTypes.replace(eventType('absent'))).toBe(false);
        expect(await store.eventTypes.get('absent')).toBeUndefined();

        expect(await store.eventTypes.delete('invoice.paid')).toBe(true);
        expect(await store.eventTypes.delete('invoice.paid')).toBe(false);
        expect(await store.eventTypes.get('invoice.paid')).toBeUndefined();
      });

      it('lists by name in byte order, archived ones only when asked, after or before a name', async () => {
        // Upper case sorts before lower case byte by byte, whatever the database's collation.
        for (const name of ['b.two', 'Z.upper', 'a.one', 'd.four', 'e.five']) await store.eventTypes.create(eventType(name));
        await store.eventTypes.create(eventType('c.archived', { archived: true }));
        const names = async (page: PageQuery & { includeArchived: boolean }) => (await store.eventTypes.list(page)).map((t) => t.name);
        await expectPaging(['Z.upper', 'a.one', 'b.two', 'd.four', 'e.five'], (page) => names({ ...page, includeArchived: false }));
        expect(await names({ limit: 10, includeArchived: true })).toEqual(['Z.upper', 'a.one', 'b.two', 'c.archived', 'd.four', 'e.five']);
        expect(await names({ before: 'd.four', limit: 1, includeArchived: true })).toEqual(['c.archived']);
        expect(await names({ after: 'b.two', limit: 1, includeArchived: false })).toEqual(['d.four']);
      });

      it('tells which of some names are in the catalogue and not archived', async () => {
        await store.eventTypes.create(eventType('a'));
        await store.eventTypes.create(eventType('b', { archived: true }));
        await store.eventTypes.create(eventType('c', { deprecated: true }));
        expect(await store.eventTypes.active(['a', 'b', 'c', 'missing'])).toEqual(new Set(['a', 'c']));
        expect(await store.eventTypes.active([])).toEqual(new Set());
      });
    });

    describe('idempotency', () => {
      it('claims a key once, tells a repeat that it is running, then gives the answer kept', async () => {
        expect(await store.idempotency.claim('tok_1', 'k', 100, 0)).toEqual({ state: 'claimed' });
        expect(await store.idempotency.claim('tok_1', 'k', 110, 0)).toEqual({ state: 'running' });
        // Scopes are apart.
        expect(await store.idempotency.claim('tok_2', 'k', 110, 0)).toEqual({ state: 'claimed' });
        await store.idempotency.complete('tok_1', 'k', 201, '{"id":"x"}');
        expect(await store.idempotency.claim('tok_1', 'k', 120, 0)).toEqual({ state: 'done', status: 201, body: '{"id":"x"}' });
        expect(await store.idempotency.claim('tok_2', 'k', 120, 0)).toEqual({ state: 'running' });
      });

      it('takes over a claim made before the window, answered or not', async () => {
        await store.idempotency.claim('s', 'running', 100, 0);
        await store.idempotency.claim('s', 'done', 100, 0);
        await store.idempotency.complete('s', 'done', 200, 'old');
        expect(await store.idempotency.claim('s', 'running', 200, 100)).toEqual({ state: 'running' });
        expect(await store.idempotency.claim('s', 'running', 300, 101)).toEqual({ state: 'claimed' });
        expect(await store.idempotency.claim('s', 'done', 300, 101)).toEqual({ state: 'claimed' });
        // Taken over afresh: running again, from the new time.
        expect(await store.idempotency.claim('s', 'done', 310, 250)).toEqual({ state: 'running' });
      });

      it('takes over a running claim made before the abandoned time, never an answer kept', async () => {
        await store.idempotency.claim('s', 'dead', 100, 0);
        await store.idempotency.claim('s', 'answered', 100, 0);
        await store.idempotency.complete('s', 'answered', 200, 'kept');
        expect(await store.idempotency.claim('s', 'dead', 150, 0, 100)).toEqual({ state: 'running' });
        expect(await store.idempotency.claim('s', 'dead', 160, 0, 101)).toEqual({ state: 'claimed' });
        expect(await store.idempotency.claim('s', 'answered', 160, 0, 101)).toEqual({ state: 'done', status: 200, body: 'kept' });
      });

      it('releases a running claim so that a retry claims it, but never an answer kept', async () => {
        await store.idempotency.claim('s', 'k', 100, 0);
        await store.idempotency.release('s', 'k');
        expect(await store.idempotency.claim('s', 'k', 110, 0)).toEqual({ state: 'claimed' });
        await store.idempotency.complete('s', 'k', 200, 'body');
        await store.idempotency.release('s', 'k');
        expect(await store.idempotency.claim('s', 'k', 120, 0)).toEqual({ state: 'done', status: 200, body: 'body' });
      });

      it('purges claims made before a time, at most the limit', async () => {
        for (const [key, at] of [
          ['a', 10],
          ['b', 20],
          ['c', 30],
        ] as const)
          await store.idempotency.claim('s', key, at, 0);
        expect(await store.idempotency.purge(25, 1)).toBe(1);
        expect(await store.idempotency.purge(25, 10)).toBe(1);
        expect(await store.idempotency.purge(25, 10)).toBe(0);
        expect(await store.idempotency.claim('s', 'a', 40, 0)).toEqual({ state: 'claimed' });
        expect(await store.idempotency.claim('s', 'b', 40, 0)).toEqual({ state: 'claimed' });
        expect(await store.idempotency.claim('s', 'c', 40, 0)).toEqual({ state: 'running' });
      });

      it('gives a key to exactly one of concurrent claims, new or taken over', async () => {
        const claims = await Promise.all(Array.from({ length: 8 }, () => store.idempotency.claim('s', 'new', 100, 0)));
        expect(claims.filter((c) => c.state === 'claimed')).toHaveLength(1);
        expect(claims.filter((c) => c.state === 'running')).toHaveLength(7);
        await store.idempotency.complete('s', 'new', 200, 'x');
        const takeovers = await Promise.all(Array.from({ length: 8 }, () => store.idempotency.claim('s', 'new', 500, 200)));
        expect(takeovers.filter((c) => c.state === 'claimed')).toHaveLength(1);
        expect(takeovers.filter((c) => c.state === 'running')).toHaveLength(7);
      });
    });

    describe('integrations', () => {
      it('creates an integration with its token, gets it, and updates its name and feature flags', async () => {
        const a = await makeApplication();
        const { integration, token } = await makeIntegration(a.logId, 'Zapier');
        expect(await store.integrations.get(integration.id)).toEqual(integration);
        expect(await store.tokens.get(token.id)).toMatchObject({ id: token.id, secretHash: token.secretHash, application: a.logId });
        const updated = { ...integration, name: 'Make', featureFlags: ['x', 'y'], updatedAt: 7 };
        expect(await store.integrations.update(integration.id, { name: 'Make', featureFlags: ['x', 'y'], nowMs: 7 })).toEqual(updated);
        expect(await store.integrations.get(integration.id)).toEqual(updated);
        expect(await store.integrations.update(newId('integ'), { name: 'x', featureFlags: [], nowMs: 8 })).toBeUndefined();
      });

      it("lists one application's integrations by id, after or before an id, in ascending order", async () => {
        const a = await makeApplication();
        const b = await makeApplication();
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) ids.push((await makeIntegration(a.logId)).integration.id);
        await makeIntegration(b.logId);
        await expectPaging(sorted(ids), async (page) => (await store.integrations.list(a.logId, page)).map((i) => i.id));
      });

      it('rotates the key: the old token is gone, the new one stands in its place', async () => {
        const a = await makeApplication();
        const { integration, token } = await makeIntegration(a.logId);
        const next = newToken(a.logId);
        const rotated = { ...integration, tokenId: next.id, key: 'key-2', updatedAt: 9 };
        expect(await store.integrations.rotate(integration.id, next, 'key-2', 9)).toEqual(rotated);
        expect(await store.integrations.get(integration.id)).toEqual(rotated);
        expect(await store.tokens.get(token.id)).toBeUndefined();
        expect(await store.tokens.get(next.id)).toMatchObject({ id: next.id, secretHash: next.secretHash });
        const unused = newToken(a.logId);
        expect(await store.integrations.rotate(newId('integ'), unused, 'key-3', 10)).toBeUndefined();
        expect(await store.tokens.get(unused.id)).toBeUndefined();
      });

      it('deletes the integration with its token', async () => {
        const a = await makeApplication();
        const { integration, token } = await makeIntegration(a.logId);
        const kept = await makeIntegration(a.logId);
        expect(await store.integrations.delete(integration.id)).toEqual(integration);
        expect(await store.integrations.get(integration.id)).toBeUndefined();
        expect(await store.tokens.get(token.id)).toBeUndefined();
        expect(await store.integrations.delete(integration.id)).toBeUndefined();
        expect(await store.integrations.list(a.logId, { limit: 10 })).toEqual([kept.integration]);
        expect(await store.tokens.get(kept.token.id)).toMatchObject({ id: kept.token.id });
      });
    });
  });
}
