import { Svix, Webhook } from 'svix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_RETRIES } from './helpers/egress.js';
import { type Receiver, startReceiver } from './helpers/receiver.js';
import { ADMIN, eventually, startTestServer, type TestServer } from './helpers/server.js';
import { refusal } from './helpers/svix.js';

/** Retries `check` until it answers something truthy, for effects of background work. */
function until<T>(check: () => Promise<T | false> | T | false, timeoutMs = 10_000): Promise<T> {
  return eventually(async () => {
    const value = await check();
    if (!value) throw new Error('not yet');
    return value;
  }, timeoutMs);
}

/** Svix delivery through Svix's SDK: signatures its Webhook verifies, filters, attempts, resend, recover, and tokens for one application. */
describe('Svix API: delivery, operations and scoped tokens', () => {
  let s: TestServer;
  let svix: Svix;
  let receiver: Receiver;

  beforeAll(async () => {
    s = await startTestServer({ allowPrivateDestinations: true, ...FAST_RETRIES });
    svix = new Svix(ADMIN, { serverUrl: s.url });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await s.close();
    await receiver.close();
  });

  /** The path a request to `${receiver.url}${path}` arrives at. */
  const arriving = (path: string) => new URL(`${receiver.url}${path}`).pathname;
  /** The requests the receiver got at `path` (below its own URL). */
  const at = (path: string) => receiver.received.filter((request) => request.path === arriving(path));

  it('signs deliveries so that the SDK verifies them, before and after a secret rotation', async () => {
    await svix.application.create({ name: 'Signed', uid: 'signed' });
    const endpoint = await svix.endpoint.create('signed', { url: `${receiver.url}/signed` });
    const { key: before } = await svix.endpoint.getSecret('signed', endpoint.id);
    const sent = await svix.message.create('signed', { eventType: 'a.b', payload: { hello: 'world' } });
    const [first] = await until(() => at('/signed').length === 1 && at('/signed'));
    expect(JSON.parse(first!.body.toString())).toEqual({ hello: 'world' });
    expect(first!.headers['svix-id']).toBe(sent.id);
    expect(new Webhook(before).verify(first!.body.toString(), first!.headers as Record<string, string>)).toEqual({ hello: 'world' });

    await svix.endpoint.rotateSecret('signed', endpoint.id, {});
    const { key: after } = await svix.endpoint.getSecret('signed', endpoint.id);
    expect(after).not.toBe(before);
    await svix.message.create('signed', { eventType: 'a.b', payload: { n: 2 } });
    const [, second] = await until(() => at('/signed').length === 2 && at('/signed'));
    // Both secrets sign during the overlap: receivers holding either accept it.
    expect(String(second!.headers['svix-signature']).split(' ')).toHaveLength(2);
    expect(new Webhook(after).verify(second!.body.toString(), second!.headers as Record<string, string>)).toEqual({ n: 2 });
    expect(new Webhook(before).verify(second!.body.toString(), second!.headers as Record<string, string>)).toEqual({ n: 2 });
    const forged = { ...(second!.headers as Record<string, string>), 'svix-signature': 'v1,AAAA' };
    expect(() => new Webhook(after).verify(second!.body.toString(), forged)).toThrow();

    // A given key becomes the secret.
    const key = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;
    await svix.endpoint.rotateSecret('signed', endpoint.id, { key });
    expect((await svix.endpoint.getSecret('signed', endpoint.id)).key).toBe(key);
  });

  it('respects filterTypes and channels, and sends nothing to a disabled endpoint', async () => {
    await svix.application.create({ name: 'Filtered', uid: 'filtered' });
    await svix.eventType.create({ name: 'f.wanted', description: 'wanted' });
    await svix.endpoint.create('filtered', { url: `${receiver.url}/types`, filterTypes: ['f.wanted'] });
    await svix.endpoint.create('filtered', { url: `${receiver.url}/channels`, channels: ['eu'] });
    await svix.endpoint.create('filtered', { url: `${receiver.url}/disabled`, disabled: true });
    await svix.endpoint.create('filtered', { url: `${receiver.url}/all` });
    await svix.message.create('filtered', { eventType: 'f.other', payload: { n: 1 }, channels: ['eu'] });
    await svix.message.create('filtered', { eventType: 'f.wanted', payload: { n: 2 } });
    await svix.message.create('filtered', { eventType: 'f.other', payload: { n: 3 } });
    await until(() => at('/all').length === 3);
    const bodies = (path: string) => at(path).map((request) => JSON.parse(request.body.toString()).n);
    await until(() => bodies('/types').length === 1 && bodies('/channels').length === 1);
    expect(bodies('/types')).toEqual([2]);
    expect(bodies('/channels')).toEqual([1]);
    expect(bodies('/disabled')).toEqual([]);
  });

  it('records failures as status 2, resends as triggerType 1, and recovers what failed', async () => {
    await svix.application.create({ name: 'Failing', uid: 'failing' });
    const endpoint = await svix.endpoint.create('failing', { url: `${receiver.url}/failing` });
    receiver.respond = (request) => (request.path === arriving('/failing') ? { status: 500, body: 'down' } : undefined);
    const message = await svix.message.create('failing', { eventType: 'x', payload: { n: 1 } });
    // FAST_RETRIES: four tries, then the message has failed.
    const failed = await until(async () => {
      const page = await svix.messageAttempt.listByEndpoint('failing', endpoint.id);
      return page.data.length === 4 && page;
    });
    expect(failed.data.every((attempt) => attempt.status === 2 && attempt.triggerType === 0 && attempt.responseStatusCode === 500)).toBe(true);
    expect(failed.data[0]).toMatchObject({ msgId: message.id, endpointId: endpoint.id, response: 'down', statusText: 'fail' });
    expect((await svix.endpoint.getStats('failing', endpoint.id)).fail).toBe(1);
    // Filters: attempts are never pending; by the message's attributes; without their responses.
    expect((await svix.messageAttempt.listByEndpoint('failing', endpoint.id, { status: 1 })).data).toEqual([]);
    expect((await svix.messageAttempt.listByEndpoint('failing', endpoint.id, { channel: 'eu' })).data).toEqual([]);
    expect((await svix.messageAttempt.listByEndpoint('failing', endpoint.id, { eventTypes: ['x'], statusCodeClass: 500 })).data).toHaveLength(4);
    const bare = await svix.messageAttempt.listByEndpoint('failing', endpoint.id, { withContent: false, withMsg: true });
    expect(bare.data[0]).toMatchObject({ response: '', msg: { id: message.id, payload: {} } });

    receiver.respond = undefined;
    await svix.messageAttempt.resend('failing', message.id, endpoint.id);
    const resent = await until(async () => {
      const page = await svix.messageAttempt.listByMsg('failing', message.id);
      return page.data.length === 5 && page.data[0]!;
    });
    expect(resent).toMatchObject({ status: 0, triggerType: 1, responseStatusCode: 200 });
    expect(await svix.messageAttempt.get('failing', message.id, resent.id)).toMatchObject({ id: resent.id, status: 0 });
    expect((await svix.messageAttempt.listByMsg('failing', message.id, { status: 0 })).data.map((attempt) => attempt.id)).toEqual([resent.id]);
    const destinations = await svix.messageAttempt.listAttemptedDestinations('failing', message.id);
    expect(destinations.data).toEqual([expect.objectContaining({ id: endpoint.id, status: 0 })]);
    const attempted = await svix.messageAttempt.listAttemptedMessages('failing', endpoint.id);
    expect(attempted.data).toEqual([expect.objectContaining({ id: message.id, status: 0 })]);
    await svix.messageAttempt.expungeContent('failing', message.id, failed.data[0]!.id);
    expect((await svix.messageAttempt.get('failing', message.id, failed.data[0]!.id)).response).toBe('');

    // Another failure, then recover sends it again.
    receiver.respond = (request) => (request.path === arriving('/failing') ? { status: 503 } : undefined);
    const since = new Date(Date.now() - 1000);
    const second = await svix.message.create('failing', { eventType: 'x', payload: { n: 2 } });
    await until(async () => (await svix.messageAttempt.listByMsg('failing', second.id)).data.length === 4);
    receiver.respond = undefined;
    const task = await svix.endpoint.recover('failing', endpoint.id, { since });
    expect(task).toMatchObject({ status: expect.stringMatching(/running|finished/), task: 'endpoint.recover' });
    await until(async () => (await svix.backgroundTask.get(task.id)).status === 'finished');
    const recovered = await svix.messageAttempt.listByMsg('failing', second.id);
    expect(recovered.data[0]).toMatchObject({ status: 0, triggerType: 1 });
    expect((await svix.backgroundTask.list()).data.map((one) => one.id)).toContain(task.id);
  });

  it('sends an example to one endpoint alone', async () => {
    await svix.application.create({ name: 'Examples', uid: 'examples' });
    await svix.eventType.create({ name: 'ex.made', description: 'with an example', schemas: { '1': { type: 'object', examples: [{ id: 1 }, { id: 2 }] } } });
    await svix.eventType.create({ name: 'ex.bare', description: 'without one' });
    const target = await svix.endpoint.create('examples', { url: `${receiver.url}/example-target` });
    await svix.endpoint.create('examples', { url: `${receiver.url}/example-other` });
    const sent = await svix.endpoint.sendExample('examples', target.id, { eventType: 'ex.made', exampleIndex: 1 });
    expect(sent).toMatchObject({ eventType: 'ex.made', payload: { id: 2 } });
    const [delivered] = await until(() => at('/example-target').length === 1 && at('/example-target'));
    expect(JSON.parse(delivered!.body.toString())).toEqual({ id: 2 });
    await svix.message.create('examples', { eventType: 'ex.made', payload: { id: 3 } });
    await until(() => at('/example-other').length === 1);
    expect(JSON.parse(at('/example-other')[0]!.body.toString())).toEqual({ id: 3 });
    expect((await refusal(svix.endpoint.sendExample('examples', target.id, { eventType: 'ex.bare' }))).code).toBe(422);
    expect((await refusal(svix.endpoint.sendExample('examples', target.id, { eventType: 'ex.none' }))).code).toBe(404);
  });

  it('replays to an endpoint the messages it never had', async () => {
    await svix.application.create({ name: 'Missing', uid: 'missing' });
    const since = new Date(Date.now() - 1000);
    await svix.message.create('missing', { eventType: 'x', payload: { n: 1 } });
    await svix.message.create('missing', { eventType: 'x', payload: { n: 2 } });
    // Made afterwards: its cursor starts past both messages.
    const late = await svix.endpoint.create('missing', { url: `${receiver.url}/late` });
    await svix.message.create('missing', { eventType: 'x', payload: { n: 3 } });
    await until(() => at('/late').length === 1);
    const task = await svix.endpoint.replayMissing('missing', late.id, { since });
    await until(async () => (await svix.backgroundTask.get(task.id)).status === 'finished');
    await until(() => at('/late').length === 3);
    expect(
      at('/late')
        .map((request) => JSON.parse(request.body.toString()).n)
        .sort(),
    ).toEqual([1, 2, 3]);
  });

  it('scopes an app portal token to its application', async () => {
    const mine = await svix.application.create({ name: 'Mine', uid: 'portal-mine' });
    const theirs = await svix.application.create({ name: 'Theirs', uid: 'portal-theirs' });
    const theirEndpoint = await svix.endpoint.create(theirs.id, { url: 'https://example.com/theirs' });
    const access = await svix.authentication.appPortalAccess(mine.id, {});
    expect(access.url).toContain(mine.id);
    const portal = new Svix(access.token, { serverUrl: s.url });

    const endpoint = await portal.endpoint.create(mine.id, { url: 'https://example.com/mine' });
    expect((await portal.endpoint.list(mine.id)).data.map((one) => one.id)).toEqual([endpoint.id]);
    expect((await portal.application.get(mine.id)).name).toBe('Mine');
    expect((await refusal(portal.application.get(theirs.id))).code).toBe(404);
    expect((await refusal(portal.endpoint.list(theirs.id))).code).toBe(404);
    expect((await refusal(portal.endpoint.get(theirs.id, theirEndpoint.id))).code).toBe(404);
    expect((await refusal(portal.endpoint.get(mine.id, theirEndpoint.id))).code).toBe(404);
    expect((await refusal(portal.message.create(theirs.id, { eventType: 'x', payload: {} }))).code).toBe(404);
    expect((await refusal(portal.application.create({ name: 'new' }))).code).toBe(403);
    // Its list shows, and continues from, its own application only.
    const listed = await portal.application.list({ limit: 1 });
    expect(listed).toMatchObject({ data: [{ id: mine.id }], iterator: mine.id, done: true });
    expect((await portal.application.list({ iterator: mine.id })).data).toEqual([]);

    // Logging out ends the token; expire-all ends the others.
    await portal.authentication.logout();
    expect((await refusal(portal.application.get(mine.id))).code).toBe(401);
    const another = new Svix((await svix.authentication.appPortalAccess(mine.id, {})).token, { serverUrl: s.url });
    expect((await another.application.get(mine.id)).id).toBe(mine.id);
    await svix.authentication.expireAll(mine.id, {});
    expect((await refusal(another.application.get(mine.id))).code).toBe(401);
    // The admin token cannot log out.
    expect((await refusal(svix.authentication.logout())).code).toBe(403);
  });

  it('makes integrations whose keys reach their application only, rotated at once', async () => {
    const app = await svix.application.create({ name: 'Integrated', uid: 'integrated' });
    const other = await svix.application.create({ name: 'Other', uid: 'integrated-other' });
    const integration = await svix.integration.create(app.id, { name: 'Zapier' });
    expect(integration).toMatchObject({ name: 'Zapier', featureFlags: [] });
    expect((await svix.integration.list(app.id)).data.map((one) => one.id)).toEqual([integration.id]);
    expect((await svix.integration.update(app.id, integration.id, { name: 'Make' })).name).toBe('Make');
    const { key } = await svix.integration.getKey(app.id, integration.id);
    const keyed = new Svix(key, { serverUrl: s.url });
    expect((await keyed.application.get(app.id)).id).toBe(app.id);
    expect((await refusal(keyed.application.get(other.id))).code).toBe(404);

    const { key: rotated } = await svix.integration.rotateKey(app.id, integration.id);
    expect(rotated).not.toBe(key);
    expect((await refusal(keyed.application.get(app.id))).code).toBe(401);
    expect((await new Svix(rotated, { serverUrl: s.url }).application.get(app.id)).id).toBe(app.id);
    await svix.integration.delete(app.id, integration.id);
    expect((await refusal(svix.integration.get(app.id, integration.id))).code).toBe(404);
    expect((await refusal(new Svix(rotated, { serverUrl: s.url }).application.get(app.id))).code).toBe(401);
  });
});
