import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KLEV } from '../src/http/dialects/klev/index.js';
import { MATRIX, makeFixture, routesOf, undocumented } from './helpers/routes.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { snapshotStore } from './helpers/snapshot.js';

/** The klev dialect's ACL matrix (test/helpers/routes.ts), checked route by route through the real server; the Svix dialect's is svix.acl-matrix.test.ts. */
describe('ACL matrix', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ allowPrivateDestinations: true });
  });
  afterAll(async () => {
    await s.close();
  });

  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await s.request(method, path, { body });
    expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBe(200);
    return res.body;
  };
  const bearer = async (acl: string[]) => (await admin('POST', '/tokens', { acl })).bearer as string;

  it('has an entry for every authenticated route of the klev dialect, and no other', () => {
    const registered = routesOf(s, { authenticated: true, dialect: KLEV });
    expect([...registered].sort()).toEqual(Object.keys(MATRIX).sort());
  });

  it.each(Object.entries(MATRIX))(
    '%s: exactly its rights get a 2xx, answered as documented; lacking any one gets 403 and changes nothing',
    async (route, { rights, request }) => {
      const method = route.split(' ')[0]!;
      const f = await makeFixture(s);
      const needed = rights(f);
      // An empty ACL is full access: a route that needs only a valid token gets a token with an unrelated right.
      const unrelated = `logs:get:${f.otherLog}`;
      for (const missing of needed) {
        const token = await bearer(needed.filter((right) => right !== missing).concat(unrelated));
        const { path, ...options } = request(f);
        const before = await snapshotStore(s);
        const res = await s.request(method, path, { ...options, token });
        expect(res.status, `without ${missing}: ${JSON.stringify(res.body)}`).toBe(403);
        expect(res.body.error).toBe('ERR_KLEV_API_0014');
        expect(await snapshotStore(s), `a 403 without ${missing} changed stored data`).toEqual(before);
      }
      const token = await bearer(needed.length > 0 ? needed : [unrelated]);
      const { path, ...options } = request(f);
      const res = await s.request(method, path, { ...options, token });
      expect(res.status, `with exactly ${needed.join(', ')}: ${JSON.stringify(res.body)}`).toBeOneOf([200, 202]);
      // The answer is what the API document says it is, field for field.
      expect(undocumented(s, route, res.body), JSON.stringify(res.body)).toEqual([]);
    },
  );
});
