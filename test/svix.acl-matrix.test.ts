import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SVIX } from '../src/http/dialects/svix/index.js';
import { routesOf, undocumented } from './helpers/routes.js';
import { ADMIN, startTestServer, type TestServer } from './helpers/server.js';
import { snapshotStore } from './helpers/snapshot.js';
import { makeSvixFixture, SVIX_MATRIX, type SvixEntry, type SvixFixture } from './helpers/svix-routes.js';

/**
 * The Svix dialect's ACL matrix (test/helpers/svix-routes.ts), checked route
 * by route through the real server. An application the token may not see is
 * answered 404, as one that does not exist; any other right lacking is a 403.
 */
describe('Svix ACL matrix', () => {
  let s: TestServer;
  beforeAll(async () => {
    // Retries an hour apart: the fixture's failed attempt is the only one while a route is checked.
    s = await startTestServer({ allowPrivateDestinations: true, retrySchedule: [0, 3600] });
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
  const declared = (route: string) => s.server.app!.routeTable.find((one) => `${one.method} ${one.url}` === route)!.schema;
  /** The rights whose lack hides what the request names, with the code of its 404. */
  const hidingOf = (route: string, e: SvixEntry, f: SvixFixture): Record<string, string> => ({
    ...(route.includes(':app_id') && { [`logs:get:${f.log}`]: 'application_not_found' }),
    ...e.hiding?.(f),
  });

  /** Sends the route's request with `token`; the answer must be `status` with Svix's error body of `code`, and change nothing stored. */
  const refused = async (route: string, e: SvixEntry, f: SvixFixture, token: string | null, status: number, code: string, why: string) => {
    const { path, ...options } = e.request(f);
    const before = await snapshotStore(s);
    const res = await s.request(route.split(' ')[0]!, path, { ...options, token });
    expect(res.status, `${why}: ${JSON.stringify(res.body)}`).toBe(status);
    expect(res.body, why).toEqual({ code, detail: expect.any(String) });
    expect(await snapshotStore(s), `${why}: the ${status} changed stored data`).toEqual(before);
  };

  /** Sends the route's request with `token`: a 2xx, of the status and body the route declares (and the API document shows). */
  const served = async (route: string, e: SvixEntry, f: SvixFixture, token: string, why: string) => {
    const { path, ...options } = e.request(f);
    const res = await s.request(route.split(' ')[0]!, path, { ...options, token });
    const schema = declared(route);
    expect(res.status, `${why}: ${JSON.stringify(res.body)}`).toBe(schema.status ?? 200);
    if (schema.response) expect(undocumented(s, route, res.body), JSON.stringify(res.body)).toEqual([]);
    else expect(res.body ?? {}, `${route} declares no answer`).toEqual({});
  };

  it('has an entry for every authenticated route of the Svix dialect, and no other', () => {
    const registered = routesOf(s, { authenticated: true, dialect: SVIX });
    expect([...registered].sort()).toEqual(Object.keys(SVIX_MATRIX).sort());
  });

  it("compares the Svix dialect's tables and the tokens' new columns in its snapshots", async () => {
    const f = await makeSvixFixture(s);
    const snapshot = await snapshotStore(s);
    for (const table of ['applications', 'endpoints', 'event_types', 'integrations', 'idempotent_responses']) expect(snapshot).toHaveProperty(table);
    // The app portal token of the fixture: made for its application, and expiring.
    const portal = snapshot.tokens!.filter((row) => row.includes(`["application","${f.log}"]`));
    expect(
      portal.some((row) => /\["expires_at",\d+\]/.test(row)),
      JSON.stringify(portal),
    ).toBe(true);
  });

  const supported = Object.entries(SVIX_MATRIX).filter(([, e]) => !e.unsupported);
  const unsupported = Object.entries(SVIX_MATRIX).filter(([, e]) => e.unsupported);

  it.each(supported)(
    '%s: exactly its rights get a 2xx, answered as documented; lacking any one gets 403 (404 if it hides the object) and changes nothing',
    async (route, e) => {
      const f = await makeSvixFixture(s);
      const needed = e.rights(f);
      const hiding = hidingOf(route, e, f);
      // An empty ACL is full access: a route that needs only a valid token gets a token with an unrelated right.
      const unrelated = `logs:get:${f.otherLog}`;
      for (const missing of needed) {
        const token = await bearer(needed.filter((right) => right !== missing).concat(unrelated));
        const hidden = hiding[missing];
        await refused(route, e, f, token, hidden ? 404 : 403, hidden ?? 'acl_insufficient', `without ${missing}`);
      }
      const exactly = await bearer(needed.length > 0 ? needed : [unrelated]);
      if (e.bearer) await refused(route, e, f, exactly, 403, 'acl_insufficient', 'with a token not made for an application');
      await served(route, e, f, e.bearer?.(f) ?? exactly, `with exactly ${needed.join(', ') || 'a valid token'}`);
    },
  );

  it.each(unsupported)('%s: not supported: no token gets 401; a token gets 400 operation_unsupported; nothing changes', async (route, e) => {
    const f = await makeSvixFixture(s);
    await refused(route, e, f, null, 401, 'authorization_header_invalid', 'without a token');
    await refused(route, e, f, `${f.portalBearer}x`, 401, 'authentication_failed', 'with a wrong bearer');
    await refused(route, e, f, await bearer([`logs:get:${f.otherLog}`]), 400, 'operation_unsupported', 'with a token');
    await refused(route, e, f, ADMIN, 400, 'operation_unsupported', 'with the admin token');
  });

  // An endpoint's rights may name its application's log instead (see acl.ts): they then cover every endpoint of it.
  const perEndpoint = supported.filter(([, e]) => e.rights(PROBE).some((right) => right.startsWith('egress_webhooks:') && right.endsWith(PROBE.webhook)));
  it.each(perEndpoint)('%s: the endpoint rights may name the application instead', async (route, e) => {
    const f = await makeSvixFixture(s);
    const needed = e.rights(f).map((right) => (right.startsWith('egress_webhooks:') ? right.replace(f.webhook, f.log) : right));
    await served(route, e, f, await bearer(needed), `with ${needed.join(', ')}`);
  });
});

/** A fixture of names only, to read which rights an entry names. */
const PROBE: SvixFixture = {
  app: 'app_probe',
  uid: 'probe',
  log: 'log_probe',
  otherLog: 'log_other',
  endpoint: 'ep_probe',
  endpointUid: 'ep-probe',
  webhook: 'ewh_probe',
  msg: 'msg_probe0',
  eventId: 'probe',
  attempt: 'atmpt_probe1',
  eventType: 'probe',
  task: 'tsk_probe',
  integration: 'integ_probe',
  portalBearer: 'probe',
};
