import { Svix } from 'svix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startTestServer, type TestServer } from './helpers/server.js';
import { refusal } from './helpers/svix.js';

/** The Svix API through Svix's own SDK, the executable specification of its paths, queries and models. */
describe('Svix API: applications, event types, endpoints, messages', () => {
  let s: TestServer;
  let svix: Svix;

  beforeAll(async () => {
    s = await startTestServer({ allowPrivateDestinations: true });
    svix = new Svix(ADMIN, { serverUrl: s.url });
  });
  afterAll(() => s.close());

  it('answers health', async () => {
    await expect(svix.health.get()).resolves.toBeUndefined();
    expect((await s.request('GET', '/api/v1/health', { token: null })).status).toBe(204);
  });

  it('creates, reads, lists, updates, patches and deletes applications, by id and by uid', async () => {
    const app = await svix.application.create({ name: 'Acme', uid: 'acme-1', metadata: { plan: 'pro' }, rateLimit: 10 });
    expect(app.id).toMatch(/^app_[0-9A-Za-z]{27}$/);
    expect(app).toMatchObject({ name: 'Acme', uid: 'acme-1', metadata: { plan: 'pro' }, rateLimit: 10 });
    expect(app.createdAt).toBeInstanceOf(Date);
    expect(Number.isNaN(app.createdAt.getTime())).toBe(false);
    expect(await svix.application.get('acme-1')).toEqual(app);
    expect(await svix.application.get(app.id)).toEqual(app);

    const renamed = await svix.application.update('acme-1', { name: 'Acme Inc', uid: 'acme-1' });
    expect(renamed).toMatchObject({ id: app.id, name: 'Acme Inc', metadata: {}, rateLimit: null });
    const patched = await svix.application.patch(app.id, { metadata: { tier: 'gold' } });
    expect(patched).toMatchObject({ name: 'Acme Inc', metadata: { tier: 'gold' } });

    // getOrCreate answers the existing one, then creates another.
    expect((await svix.application.getOrCreate({ name: 'ignored', uid: 'acme-1' })).id).toBe(app.id);
    const other = await svix.application.getOrCreate({ name: 'Other', uid: 'other-1' });
    expect(other.id).not.toBe(app.id);

    // PUT creates when absent, with the path as its uid.
    const put = await s.request('PUT', '/api/v1/app/made-by-put', { body: { name: 'Put' } });
    expect(put.status).toBe(201);
    expect(put.body).toMatchObject({ uid: 'made-by-put', name: 'Put' });
    // Again, the same application, still under its uid; an app_ id is never made up by a client.
    const again = await s.request('PUT', '/api/v1/app/made-by-put', { body: { name: 'Put again' } });
    expect(again).toMatchObject({ status: 200, body: { id: put.body.id, uid: 'made-by-put', name: 'Put again' } });
    expect((await s.request('PUT', '/api/v1/app/app_2ZZZZZZZZZZZZZZZZZZZZZZZZZZ', { body: { name: 'x' } })).status).toBe(404);
    const klevLog = (await s.request('POST', '/logs', { body: {} })).body.log_id as string;
    expect((await s.request('PUT', `/api/v1/app/app_${klevLog.slice(4)}`, { body: { name: 'x' } })).status).toBe(404);

    const listed = await svix.application.list({ limit: 250 });
    expect(listed.data.map((one) => one.id)).toEqual(expect.arrayContaining([app.id, other.id, put.body.id]));
    expect(listed.done).toBe(true);

    await svix.application.delete('other-1');
    expect((await refusal(svix.application.get(other.id))).code).toBe(404);
  });

  it('answers 409 for a duplicate uid, 422 for bad input, 404 for unknown ids, and changes nothing', async () => {
    await svix.application.create({ name: 'First', uid: 'dup-uid' });
    const duplicate = await refusal(svix.application.create({ name: 'Second', uid: 'dup-uid' }));
    expect(duplicate).toMatchObject({ code: 409, body: { code: 'uid_taken' } });

    const unsupported = await s.request('POST', '/api/v1/app/dup-uid/msg', { body: { eventType: 'x', payload: {}, deliverAt: '2030-01-01T00:00:00Z' } });
    expect(unsupported).toMatchObject({ status: 400, body: { code: 'operation_unsupported' } });
    const bad = await s.request('POST', '/api/v1/app', { body: { name: 'x', unknownField: 1 } });
    expect(bad.status).toBe(422);
    expect(bad.body.detail[0]).toMatchObject({ loc: ['body'], type: 'value_error.field_invalid' });
    expect(bad.body.detail[0].msg).toContain('unknownField');
    expect((await s.request('POST', '/api/v1/app', { body: { name: 'x', uid: 'has space' } })).status).toBe(422);
    expect((await s.request('POST', '/api/v1/app', { rawBody: '{"name":' })).status).toBe(422);

    const missing = await refusal(svix.application.get('app_2ZZZZZZZZZZZZZZZZZZZZZZZZZZ'));
    expect(missing).toMatchObject({ code: 404, body: { code: 'application_not_found' } });
    expect((await refusal(svix.endpoint.get('dup-uid', 'ep_2ZZZZZZZZZZZZZZZZZZZZZZZZZZ'))).code).toBe(404);
    expect((await svix.application.get('dup-uid')).name).toBe('First');
  });

  it('pages lists with iterator', async () => {
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await svix.application.create({ name: `page-${i}`, uid: `page-${i}` })).id);
    const seen: string[] = [];
    let iterator: string | null = null;
    for (let pages = 0; pages < 100; pages++) {
      const page = await svix.application.list({ limit: 2, iterator });
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((one) => one.id));
      if (page.done) break;
      iterator = page.iterator;
    }
    expect(seen).toEqual(expect.arrayContaining(made));
    expect(new Set(seen).size).toBe(seen.length);
    expect((await s.request('GET', '/api/v1/app', { query: { limit: 251 } })).status).toBe(422);
    expect((await s.request('GET', '/api/v1/app', { query: { limit: 0 } })).status).toBe(422);
  });

  it('keeps an event type catalogue: create, 409, get, update, patch, archive, list, expunge', async () => {
    const created = await svix.eventType.create({ name: 'invoice.paid', description: 'An invoice was paid', schemas: { '1': { type: 'object' } } });
    expect(created).toMatchObject({ name: 'invoice.paid', archived: false, deprecated: false, schemas: { '1': { type: 'object' } } });
    expect((await refusal(svix.eventType.create({ name: 'invoice.paid', description: 'again' }))).code).toBe(409);
    expect(await svix.eventType.get('invoice.paid')).toEqual(created);
    const updated = await svix.eventType.update('invoice.paid', { description: 'Paid', groupName: 'billing' });
    expect(updated).toMatchObject({ description: 'Paid', groupName: 'billing', schemas: null });
    expect((await svix.eventType.patch('invoice.paid', { deprecated: true })).deprecated).toBe(true);

    await svix.eventType.create({ name: 'invoice.void', description: 'Voided' });
    await svix.eventType.delete('invoice.void');
    expect((await svix.eventType.get('invoice.void')).archived).toBe(true);
    const active = await svix.eventType.list({ limit: 250 });
    expect(active.data.map((type) => type.name)).toContain('invoice.paid');
    expect(active.data.map((type) => type.name)).not.toContain('invoice.void');
    const all = await svix.eventType.list({ limit: 250, includeArchived: true, withContent: false });
    expect(all.data.map((type) => type.name)).toContain('invoice.void');
    expect(all.data.find((type) => type.name === 'invoice.paid')?.schemas).toBeNull();

    // Creating an archived type again unarchives it.
    expect((await svix.eventType.create({ name: 'invoice.void', description: 'Back' })).archived).toBe(false);
    await svix.eventType.delete('invoice.void', { expunge: true });
    expect((await refusal(svix.eventType.get('invoice.void'))).code).toBe(404);
  });

  it('creates endpoints with their fields, addresses them by uid, and refuses what it must', async () => {
    const app = await svix.application.create({ name: 'Endpoints', uid: 'ep-app' });
    await svix.eventType.create({ name: 'user.created', description: 'A user' });
    const endpoint = await svix.endpoint.create('ep-app', {
      url: 'https://example.com/hook',
      uid: 'main',
      description: 'the main one',
      version: 2,
      metadata: { team: 'core' },
      filterTypes: ['user.created'],
      channels: ['eu'],
      rateLimit: 5,
      headers: { 'x-tenant': 'acme' },
    });
    expect(endpoint.id).toMatch(/^ep_[0-9A-Za-z]{27}$/);
    expect(endpoint).toMatchObject({
      uid: 'main',
      description: 'the main one',
      version: 2,
      filterTypes: ['user.created'],
      channels: ['eu'],
      rateLimit: 5,
      disabled: false,
    });
    expect(await svix.endpoint.get(app.id, 'main')).toEqual(endpoint);

    expect((await svix.endpoint.getSecret('ep-app', 'main')).key).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(await svix.endpoint.getHeaders('ep-app', 'main')).toEqual({ headers: { 'x-tenant': 'acme' }, sensitive: [] });
    await svix.endpoint.updateHeaders('ep-app', 'main', { headers: { authorization: 'Bearer s3cret', 'x-a': '1' } });
    expect(await svix.endpoint.getHeaders('ep-app', 'main')).toEqual({ headers: { 'x-a': '1' }, sensitive: ['authorization'] });
    await svix.endpoint.patchHeaders('ep-app', 'main', { headers: { 'x-b': '2' }, deleteHeaders: ['x-a'] });
    expect((await svix.endpoint.getHeaders('ep-app', 'main')).headers).toEqual({ 'x-b': '2' });

    // A refused patch changes nothing: the uid is checked before the URL moves.
    await svix.endpoint.create('ep-app', { url: 'https://example.com/holder', uid: 'holder' });
    expect((await refusal(svix.endpoint.patch('ep-app', 'main', { url: 'https://example.com/moved', uid: 'holder' }))).code).toBe(409);
    expect((await svix.endpoint.get('ep-app', 'main')).url).toBe('https://example.com/hook');
    await svix.endpoint.delete('ep-app', 'holder');
    expect((await svix.endpoint.create('ep-app', { url: 'https://example.com/off', disabled: true })).disabled).toBe(true);

    const patched = await svix.endpoint.patch('ep-app', 'main', { description: 'changed', disabled: true, channels: null });
    expect(patched).toMatchObject({ description: 'changed', disabled: true, channels: null, filterTypes: ['user.created'] });
    const replaced = await svix.endpoint.update('ep-app', endpoint.id, { url: 'https://example.com/other' });
    expect(replaced).toMatchObject({ url: 'https://example.com/other', description: '', version: 1, filterTypes: null, disabled: false, uid: null });

    // An endpoint without a rate limit takes its application's.
    await svix.application.create({ name: 'Limited', uid: 'limited', rateLimit: 7 });
    expect((await svix.endpoint.create('limited', { url: 'https://example.com/l' })).rateLimit).toBe(7);

    const listed = await svix.endpoint.list('ep-app');
    expect(listed.data.map((one) => one.id)).toContain(endpoint.id);

    expect((await refusal(svix.endpoint.create('ep-app', { url: 'ftp://example.com' }))).code).toBe(422);
    expect((await refusal(svix.endpoint.create('ep-app', { url: 'https://example.com', filterTypes: ['no.such.type'] }))).code).toBe(422);
    await svix.endpoint.create('ep-app', { url: 'https://example.com/2', uid: 'taken' });
    expect((await refusal(svix.endpoint.create('ep-app', { url: 'https://example.com/3', uid: 'taken' }))).code).toBe(409);

    await svix.endpoint.delete('ep-app', endpoint.id);
    expect((await refusal(svix.endpoint.get('ep-app', endpoint.id))).code).toBe(404);
  });

  it('creates messages once per eventId and per idempotency key, lists them newest first with filters, and expunges content', async () => {
    const app = await svix.application.create({ name: 'Messages', uid: 'msg-app' });
    const first = await svix.message.create('msg-app', { eventType: 'order.created', payload: { n: 1 }, eventId: 'evt-1', channels: ['eu'], tags: ['a'] });
    expect(first.id).toMatch(/^msg_/);
    expect(first).toMatchObject({ eventType: 'order.created', payload: { n: 1 }, eventId: 'evt-1', channels: ['eu'], tags: ['a'] });
    expect(first.timestamp).toBeInstanceOf(Date);

    const repeat = await refusal(svix.message.create('msg-app', { eventType: 'order.created', payload: { n: 2 }, eventId: 'evt-1' }));
    expect(repeat).toMatchObject({ code: 409, body: { code: 'event_id_taken' } });

    const keyed = await svix.message.create('msg-app', { eventType: 'order.updated', payload: { n: 3 } }, { idempotencyKey: 'key-1' });
    const again = await svix.message.create('msg-app', { eventType: 'order.updated', payload: { n: 3 } }, { idempotencyKey: 'key-1' });
    expect(again).toEqual(keyed);
    const third = await svix.message.create('msg-app', { eventType: 'order.deleted', payload: { n: 4 }, channels: ['us'], tags: ['b'] });

    expect(await svix.message.get('msg-app', first.id)).toEqual(first);
    expect(await svix.message.get(app.id, 'evt-1')).toEqual(first);
    const listed = await svix.message.list('msg-app');
    expect(listed.data.map((one) => one.id)).toEqual([third.id, keyed.id, first.id]);
    expect((await svix.message.list('msg-app', { channel: 'eu' })).data.map((one) => one.id)).toEqual([first.id]);
    expect((await svix.message.list('msg-app', { tag: 'b' })).data.map((one) => one.id)).toEqual([third.id]);
    expect((await svix.message.list('msg-app', { eventTypes: ['order.updated', 'order.deleted'] })).data.map((one) => one.id)).toEqual([third.id, keyed.id]);
    const paged = await svix.message.list('msg-app', { limit: 2 });
    expect(paged.done).toBe(false);
    expect((await svix.message.list('msg-app', { limit: 2, iterator: paged.iterator })).data.map((one) => one.id)).toEqual([first.id]);
    expect((await svix.message.list('msg-app', { withContent: false })).data[0]!.payload).toEqual({});
    expect((await s.request('GET', '/api/v1/app/msg-app/msg', { query: { iterator: 'msg_nonsense' } })).status).toBe(422);

    // A key is the token's for one application: the same key elsewhere is another message.
    await svix.application.create({ name: 'Other', uid: 'msg-other' });
    const elsewhere = await svix.message.create('msg-other', { eventType: 'order.updated', payload: { n: 9 } }, { idempotencyKey: 'key-1' });
    expect(elsewhere.payload).toEqual({ n: 9 });
    expect((await svix.message.list('msg-other')).data.map((one) => one.id)).toEqual([elsewhere.id]);

    // The log may hold what klev published, JSON or not.
    await s.request('POST', `/message/log_${app.id.slice('app_'.length)}`, { body: { value: 'not json' } });
    expect((await svix.message.list('msg-app', { limit: 1 })).data[0]).toMatchObject({ payload: 'not json', eventType: '' });

    await svix.message.expungeContent('msg-app', first.id);
    expect((await svix.message.get('msg-app', first.id)).payload).toEqual({});

    // An inline application is created when the path names none.
    const inline = await svix.message.create('inline-app', { eventType: 'x', payload: {}, application: { name: 'Inline', uid: 'inline-app' } });
    expect(inline.id).toMatch(/^msg_/);
    expect((await svix.application.get('inline-app')).name).toBe('Inline');
    // A message refused leaves no application behind.
    const tooManyTags = { eventType: 'x', payload: {}, tags: ['a', 'b', 'c', 'd', 'e', 'f'], application: { name: 'Refused', uid: 'refused-app' } };
    expect((await s.request('POST', '/api/v1/app/refused-app/msg', { body: tooManyTags })).status).toBe(422);
    expect((await refusal(svix.application.get('refused-app'))).code).toBe(404);
  });

  it('answers a repeated POST with an idempotency key with the first answer, and runs it again once it failed', async () => {
    const body = { name: 'Idem', uid: 'idem-app' };
    const first = await svix.application.create(body, { idempotencyKey: 'k-1' });
    // A second create of the same uid would be a 409: the repeat is answered from the first.
    expect(await svix.application.create(body, { idempotencyKey: 'k-1' })).toEqual(first);
    expect((await refusal(svix.application.create(body, { idempotencyKey: 'k-2' }))).code).toBe(409);
    // k-2 failed, so it was given up: with the uid free, the same key runs again.
    await svix.application.delete('idem-app');
    expect((await svix.application.create(body, { idempotencyKey: 'k-2' })).uid).toBe('idem-app');
  });
});
