import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';

describe('tokens API', () => {
  let s: TestServer;
  beforeEach(async () => {
    s = await startTestServer();
  });
  afterEach(async () => {
    await s.close();
  });

  it('GET / lists the resources and tests the token', async () => {
    const ok = await s.request('GET', '/');
    expect(ok.status).toBe(200);
    expect(ok.body['/logs']).toBe('list/create logs');
    expect(ok.body['/tokens']).toBe('list/create tokens');
    const bad = await s.request('GET', '/', { token: 'nope' });
    expect(bad.status).toBe(401);
  });

  it('creates a token whose bearer works and is shown only at creation', async () => {
    const created = await s.request('POST', '/tokens', { body: { metadata: 'ci', acl: ['logs:list'] } });
    expect(created.status).toBe(200);
    const { token_id, bearer } = created.body;
    expect(token_id).toMatch(/^tok_[0-9A-Za-z]{27}$/);
    expect(bearer).toMatch(new RegExp(`^${token_id.slice(4)}_[0-9A-Za-z]{32}$`));
    expect(created.body).toEqual({ token_id, metadata: 'ci', acl: ['logs:list'], bearer });

    const got = await s.request('GET', `/token/${token_id}`);
    expect(got.body).toEqual({ token_id, metadata: 'ci', acl: ['logs:list'] });
    const listed = await s.request('GET', '/tokens');
    expect(listed.body.tokens).toContainEqual({ token_id, metadata: 'ci', acl: ['logs:list'] });
    expect(JSON.stringify(listed.body)).not.toContain(bearer.split('_')[1]);

    expect((await s.request('GET', '/logs', { token: bearer })).status).toBe(200);
  });

  it('stores only a hash of the secret', async () => {
    const { bearer } = (await s.request('POST', '/tokens', { body: {} })).body;
    const secret = bearer.split('_')[1];
    await s.close();
    const { readFileSync, readdirSync } = await import('node:fs');
    const files = readdirSync(s.dataDir).map((f) => readFileSync(`${s.dataDir}/${f}`).toString('latin1'));
    expect(files.some((content) => content.includes(secret))).toBe(false);
    s = await startTestServer({}, s.dataDir);
  });

  it('filters the list by metadata', async () => {
    await s.request('POST', '/tokens', { body: { metadata: 'a' } });
    const b = (await s.request('POST', '/tokens', { body: { metadata: 'b' } })).body;
    const listed = await s.request('GET', '/tokens', { query: { metadata: 'b' } });
    expect(listed.body.tokens).toEqual([{ token_id: b.token_id, metadata: 'b' }]);
  });

  it('deletes a token, which then stops working', async () => {
    const { token_id, bearer } = (await s.request('POST', '/tokens', { body: { metadata: 'gone' } })).body;
    const deleted = await s.request('DELETE', `/token/${token_id}`);
    expect(deleted.body).toEqual({ token_id, metadata: 'gone' });
    expect((await s.request('GET', `/token/${token_id}`)).status).toBe(404);
    const refused = await s.request('GET', '/logs', { token: bearer });
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe('ERR_KLEV_API_0036');
  });

  it('refuses a wrong secret for an existing token id', async () => {
    const { bearer } = (await s.request('POST', '/tokens', { body: {} })).body;
    const wrong = `${bearer.split('_')[0]}_${'x'.repeat(32)}`;
    const refused = await s.request('GET', '/logs', { token: wrong });
    expect(refused).toMatchObject({ status: 401, body: { error: 'ERR_KLEV_API_0036' } });
  });

  it('distinguishes a missing header, a malformed bearer and a failed authentication', async () => {
    expect((await s.request('GET', '/logs', { token: null })).body.error).toBe('ERR_KLEV_API_0002');
    expect((await s.request('GET', '/logs', { token: 'no-separator' })).body.error).toBe('ERR_KLEV_API_0003');
    expect((await s.request('GET', '/logs', { token: `${'A'.repeat(27)}_secret` })).body.error).toBe('ERR_KLEV_API_0036');
  });

  it('rejects invalid ACL entries without creating a token', async () => {
    for (const acl of [['nothing'], ['logs:fly'], ['logs:get:'], ['logs:get:x:y'], 'logs', [1]]) {
      const res = await s.request('POST', '/tokens', { body: { metadata: 'bad', acl } });
      expect(res.status, JSON.stringify(acl)).toBe(400);
      expect(['ERR_KLEV_API_0111', 'ERR_KLEV_API_0102']).toContain(res.body.error);
    }
    expect((await s.request('GET', '/tokens', { query: { metadata: 'bad' } })).body.tokens).toEqual([]);
  });
});
