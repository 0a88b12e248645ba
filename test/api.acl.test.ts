import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';

describe('ACL rules', () => {
  let s: TestServer;
  let logA: string;
  let logB: string;
  const tokenWith = async (acl: string[]) => (await s.request('POST', '/tokens', { body: { acl } })).body.bearer as string;

  beforeEach(async () => {
    s = await startTestServer();
    logA = (await s.request('POST', '/logs', { body: { metadata: 'a' } })).body.log_id;
    logB = (await s.request('POST', '/logs', { body: { metadata: 'b' } })).body.log_id;
  });
  afterEach(async () => {
    await s.close();
  });

  it('a token without ACL has full access', async () => {
    const token = await tokenWith([]);
    expect((await s.request('GET', '/logs', { token })).status).toBe(200);
    expect((await s.request('POST', '/tokens', { token, body: {} })).status).toBe(200);
  });

  it('a subject alone allows every action on every object', async () => {
    const token = await tokenWith(['logs']);
    expect((await s.request('GET', '/logs', { token })).status).toBe(200);
    expect((await s.request('POST', '/logs', { token, body: {} })).status).toBe(200);
    expect((await s.request('DELETE', `/log/${logB}`, { token })).status).toBe(200);
    const refused = await s.request('GET', '/tokens', { token });
    expect(refused).toMatchObject({ status: 403, body: { error: 'ERR_KLEV_API_0014', details: expect.stringContaining('tokens:list') } });
  });

  it('subject:action allows that action on every object only', async () => {
    const token = await tokenWith(['logs:get']);
    expect((await s.request('GET', `/log/${logA}`, { token })).status).toBe(200);
    expect((await s.request('GET', `/log/${logB}`, { token })).status).toBe(200);
    expect((await s.request('GET', '/logs', { token })).status).toBe(403);
    expect((await s.request('DELETE', `/log/${logA}`, { token })).status).toBe(403);
    expect((await s.request('GET', `/log/${logA}`)).status).toBe(200);
  });

  it('subject:action:object allows that action on that object only', async () => {
    const token = await tokenWith([`messages:publish:${logA}`, `messages:consume:${logA}`]);
    expect((await s.request('POST', `/message/${logA}`, { token, body: { value: 'x' } })).status).toBe(200);
    const refused = await s.request('POST', `/message/${logB}`, { token, body: { value: 'x' } });
    expect(refused).toMatchObject({ status: 403, body: { details: expect.stringContaining(`messages:publish:${logB}`) } });
    expect((await s.request('GET', `/messages/${logA}`, { token, query: { offset: -2 } })).body.messages).toHaveLength(1);
    expect((await s.request('GET', `/message/${logA}`, { token, query: { offset: 0 } })).status).toBe(200);
    expect((await s.request('GET', `/message/${logA}/key`, { token })).body.value).toBe('x');
    expect((await s.request('GET', `/messages/${logB}`, { token })).status).toBe(403);
    // Nothing was published to B by the refused request.
    expect((await s.request('GET', `/messages/${logB}`, { query: { offset: -2 } })).body.messages).toEqual([]);
  });

  it('consuming with offset_id also needs offsets:get on that offset', async () => {
    const offset = (await s.request('POST', '/offsets', { body: { log_id: logA } })).body.offset_id;
    const consumeOnly = await tokenWith([`messages:consume:${logA}`]);
    expect((await s.request('GET', `/messages/${logA}`, { token: consumeOnly, query: { offset_id: offset } })).status).toBe(403);
    const both = await tokenWith([`messages:consume:${logA}`, `offsets:get:${offset}`]);
    expect((await s.request('GET', `/messages/${logA}`, { token: both, query: { offset_id: offset } })).status).toBe(200);
  });

  it('covers tokens and offsets subjects', async () => {
    const token = await tokenWith(['offsets:create', 'offsets:list', 'tokens:get', `messages:consume:${logA}`]);
    const created = await s.request('POST', '/offsets', { token, body: { log_id: logA } });
    expect(created.status).toBe(200);
    expect((await s.request('GET', '/offsets', { token })).status).toBe(200);
    expect((await s.request('POST', `/offset/${created.body.offset_id}`, { token, body: { value: 3 } })).status).toBe(403);
    expect((await s.request('DELETE', `/offset/${created.body.offset_id}`, { token })).status).toBe(403);
    expect((await s.request('DELETE', `/token/tok_${'0'.repeat(27)}`, { token })).status).toBe(403);
    expect((await s.request('GET', `/offset/${created.body.offset_id}`)).body.value).toBe(-1);
  });

  it('refuses before touching the request body', async () => {
    const token = await tokenWith(['logs:list']);
    const res = await s.request('POST', '/logs', { token, rawBody: '{broken' });
    expect(res.status).toBe(403);
  });
});
