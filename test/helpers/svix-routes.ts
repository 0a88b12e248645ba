import { expect } from 'vitest';
import { applicationAcl } from '../../src/domain/acl.js';
import { svixIds } from '../../src/protocols/svix/ids.js';
import { eventually, type RequestOptions, type TestServer } from './server.js';

/**
 * The Svix dialect's authenticated routes, each with the exact rights it
 * needs and a valid request to make against a fixture: the Svix ACL matrix
 * checks the rights, and the fuzzer starts from these requests to spoil one
 * field at a time.
 */
export const SVIX_PREFIX = '/api/v1';

/** Objects made afresh for each route, so that a route that deletes or changes one never affects another's check. */
export interface SvixFixture {
  /** The application (app_…), with a uid, and its log. */
  app: string;
  uid: string;
  log: string;
  /** Another application's log: a right over it is unrelated to every request. */
  otherLog: string;
  /** An endpoint of `app` (ep_…), with a uid, and its egress webhook. */
  endpoint: string;
  endpointUid: string;
  webhook: string;
  /** A message of `app` (msg_…), with an eventId, of event type `eventType`. */
  msg: string;
  eventId: string;
  /** The attempt the endpoint made at `msg` (atmpt_…): nothing listens there, so it failed. */
  attempt: string;
  /** An event type with an example in its schemas. */
  eventType: string;
  /** A recover task of the endpoint. */
  task: string;
  /** An integration of `app` (integ_…). */
  integration: string;
  /** The bearer of an app portal token of `app`. */
  portalBearer: string;
}

export interface SvixEntry {
  /** Exactly the ACL entries the call needs: over its own object, the objects it reaches, and the rights of a token it hands out. */
  rights: (f: SvixFixture) => string[];
  request: (f: SvixFixture) => { path: string } & RequestOptions;
  /**
   * Rights whose lack hides the object the call names: answered 404 with
   * this code, as if it did not exist, rather than 403. The application's
   * `logs:get` always hides it (application_not_found).
   */
  hiding?: (f: SvixFixture) => Record<string, string>;
  /** The bearer the call needs besides its rights (one made for an application): a token made with `rights` alone gets 403. */
  bearer?: (f: SvixFixture) => string;
  /** The route answers 400 operation_unsupported to every authenticated call: only authentication is checked. */
  unsupported?: true;
}

const entry = (rights: SvixEntry['rights'], request: SvixEntry['request'], more: Partial<SvixEntry> = {}): SvixEntry => ({ rights, request, ...more });
const unsupported = (request: SvixEntry['request']): SvixEntry => ({ rights: () => [], request, unsupported: true });
const DESTINATION = 'http://127.0.0.1:9/svix-matrix';

const app = (f: SvixFixture) => `${SVIX_PREFIX}/app/${f.app}`;
const endpoint = (f: SvixFixture) => `${app(f)}/endpoint/${f.endpoint}`;
const msg = (f: SvixFixture) => `${app(f)}/msg/${f.msg}`;
/** Seeing the application: without it, every call that names it answers 404. */
const sees = (f: SvixFixture) => `logs:get:${f.log}`;
/** Reading the application's messages. */
const reads = (f: SvixFixture) => `messages:consume:${f.log}`;
/** A right over the fixture's endpoint. */
const onEndpoint = (action: string) => (f: SvixFixture) => `egress_webhooks:${action}:${f.webhook}`;
/** A right over every endpoint of the application (list, create): an entry that names the log. */
const onEndpoints = (action: string) => (f: SvixFixture) => `egress_webhooks:${action}:${f.log}`;
/** What a token made for the application holds (see applicationAcl): a token handing one out must hold it all. */
const appRights = (f: SvixFixture) => applicationAcl(f.log);
const union = (...lists: string[][]) => [...new Set(lists.flat())];

/**
 * The Svix ACL matrix: one entry for every authenticated route of the Svix
 * dialect. For each, a token with exactly the listed rights gets a 2xx, and
 * a token lacking any one of them gets 403 (404 when the right hides the
 * object) and changes nothing stored. A route the server registers without
 * an entry here fails the test.
 */
export const SVIX_MATRIX: Record<string, SvixEntry> = {
  // A list shows what the token may see: any token may ask.
  'GET /api/v1/app': entry(
    () => [],
    () => ({ path: `${SVIX_PREFIX}/app` }),
  ),
  'POST /api/v1/app': entry(
    () => ['logs:create'],
    () => ({ path: `${SVIX_PREFIX}/app`, body: { name: 'new' } }),
  ),
  'GET /api/v1/app/:app_id': entry(
    (f) => [sees(f)],
    (f) => ({ path: app(f) }),
  ),
  'PUT /api/v1/app/:app_id': entry(
    (f) => [sees(f), `logs:update:${f.log}`],
    (f) => ({ path: app(f), body: { name: 'replaced', uid: f.uid } }),
  ),
  'PATCH /api/v1/app/:app_id': entry(
    (f) => [sees(f), `logs:update:${f.log}`],
    (f) => ({ path: `${SVIX_PREFIX}/app/${f.uid}`, body: { name: 'patched' } }),
  ),
  'DELETE /api/v1/app/:app_id': entry(
    (f) => [sees(f), `logs:delete:${f.log}`],
    (f) => ({ path: app(f) }),
  ),

  'GET /api/v1/app/:app_id/endpoint': entry(
    (f) => [sees(f), onEndpoints('list')(f)],
    (f) => ({ path: `${app(f)}/endpoint` }),
  ),
  'POST /api/v1/app/:app_id/endpoint': entry(
    (f) => [sees(f), onEndpoints('create')(f), reads(f)],
    (f) => ({ path: `${app(f)}/endpoint`, body: { url: `${DESTINATION}/new`, filterTypes: [f.eventType] } }),
  ),
  'GET /api/v1/app/:app_id/endpoint/:endpoint_id': entry(
    (f) => [sees(f), onEndpoint('get')(f)],
    (f) => ({ path: `${app(f)}/endpoint/${f.endpointUid}` }),
  ),
  'PUT /api/v1/app/:app_id/endpoint/:endpoint_id': entry(
    (f) => [sees(f), onEndpoint('update')(f), reads(f)],
    (f) => ({ path: endpoint(f), body: { url: `${DESTINATION}/2` } }),
  ),
  'PATCH /api/v1/app/:app_id/endpoint/:endpoint_id': entry(
    (f) => [sees(f), onEndpoint('update')(f), reads(f)],
    (f) => ({ path: endpoint(f), body: { url: `${DESTINATION}/2` } }),
  ),
  'DELETE /api/v1/app/:app_id/endpoint/:endpoint_id': entry(
    (f) => [sees(f), onEndpoint('delete')(f)],
    (f) => ({ path: endpoint(f) }),
  ),
  'GET /api/v1/app/:app_id/endpoint/:endpoint_id/secret': entry(
    (f) => [sees(f), onEndpoint('rotate')(f)],
    (f) => ({ path: `${endpoint(f)}/secret` }),
  ),
  'POST /api/v1/app/:app_id/endpoint/:endpoint_id/secret/rotate': entry(
    (f) => [sees(f), onEndpoint('rotate')(f)],
    (f) => ({ path: `${endpoint(f)}/secret/rotate`, body: { key: null } }),
  ),
  'GET /api/v1/app/:app_id/endpoint/:endpoint_id/headers': entry(
    (f) => [sees(f), onEndpoint('get')(f)],
    (f) => ({ path: `${endpoint(f)}/headers` }),
  ),
  'PUT /api/v1/app/:app_id/endpoint/:endpoint_id/headers': entry(
    (f) => [sees(f), onEndpoint('update')(f), reads(f)],
    (f) => ({ path: `${endpoint(f)}/headers`, body: { headers: { 'x-matrix': '1' } } }),
  ),
  'PATCH /api/v1/app/:app_id/endpoint/:endpoint_id/headers': entry(
    (f) => [sees(f), onEndpoint('update')(f), reads(f)],
    (f) => ({ path: `${endpoint(f)}/headers`, body: { headers: { 'x-matrix': '2' }, deleteHeaders: ['x-other'] } }),
  ),
  'GET /api/v1/app/:app_id/endpoint/:endpoint_id/stats': entry(
    (f) => [sees(f), onEndpoint('status')(f)],
    (f) => ({ path: `${endpoint(f)}/stats` }),
  ),
  'POST /api/v1/app/:app_id/endpoint/:endpoint_id/recover': entry(
    (f) => [sees(f), onEndpoint('replay')(f)],
    (f) => ({ path: `${endpoint(f)}/recover`, body: { since: '2020-01-01T00:00:00Z' } }),
  ),
  'POST /api/v1/app/:app_id/endpoint/:endpoint_id/replay-missing': entry(
    (f) => [sees(f), onEndpoint('replay')(f)],
    (f) => ({ path: `${endpoint(f)}/replay-missing`, body: { since: '2020-01-01T00:00:00Z' } }),
  ),
  'POST /api/v1/app/:app_id/endpoint/:endpoint_id/send-example': entry(
    (f) => [sees(f), onEndpoint('resend')(f)],
    (f) => ({ path: `${endpoint(f)}/send-example`, body: { eventType: f.eventType } }),
  ),
  'GET /api/v1/app/:app_id/endpoint/:endpoint_id/transformation': entry(
    (f) => [sees(f), onEndpoint('get')(f)],
    (f) => ({ path: `${endpoint(f)}/transformation` }),
  ),
  'PATCH /api/v1/app/:app_id/endpoint/:endpoint_id/transformation': entry(
    (f) => [sees(f), onEndpoint('update')(f), reads(f)],
    (f) => ({ path: `${endpoint(f)}/transformation`, body: { code: 'function handler(webhook) { return webhook }', enabled: false } }),
  ),
  'POST /api/v1/app/:app_id/endpoint/:endpoint_id/bulk-replay': unsupported((f) => ({ path: `${endpoint(f)}/bulk-replay`, body: {} })),

  'POST /api/v1/app/:app_id/msg': entry(
    (f) => [sees(f), `messages:publish:${f.log}`],
    (f) => ({ path: `${app(f)}/msg`, body: { eventType: f.eventType, payload: { matrix: true }, eventId: 'matrix-new' } }),
  ),
  'GET /api/v1/app/:app_id/msg': entry(
    (f) => [sees(f), reads(f)],
    (f) => ({ path: `${app(f)}/msg`, query: { limit: 10 } }),
  ),
  'GET /api/v1/app/:app_id/msg/:msg_id': entry(
    (f) => [sees(f), reads(f)],
    (f) => ({ path: `${app(f)}/msg/${f.eventId}` }),
  ),
  'DELETE /api/v1/app/:app_id/msg/:msg_id/content': entry(
    (f) => [sees(f), `messages:cleanup:${f.log}`],
    (f) => ({ path: `${msg(f)}/content` }),
  ),
  'POST /api/v1/app/:app_id/msg/expunge-all-contents': unsupported((f) => ({ path: `${app(f)}/msg/expunge-all-contents`, body: {} })),
  'POST /api/v1/app/:app_id/msg/precheck/active': unsupported((f) => ({ path: `${app(f)}/msg/precheck/active`, body: {} })),

  'GET /api/v1/app/:app_id/attempt/endpoint/:endpoint_id': entry(
    (f) => [sees(f), onEndpoint('attempts')(f)],
    (f) => ({ path: `${app(f)}/attempt/endpoint/${f.endpoint}` }),
  ),
  // Naming a message by id or eventId tells that it exists: it needs the right to read the application's messages.
  // The attempts shown are those at the endpoints whose attempts the token may see (none, here).
  'GET /api/v1/app/:app_id/attempt/msg/:msg_id': entry(
    (f) => [sees(f), reads(f)],
    (f) => ({ path: `${app(f)}/attempt/msg/${f.msg}` }),
  ),
  'GET /api/v1/app/:app_id/msg/:msg_id/attempt': entry(
    (f) => [sees(f), reads(f)],
    (f) => ({ path: `${msg(f)}/attempt` }),
  ),
  'GET /api/v1/app/:app_id/msg/:msg_id/endpoint/:endpoint_id/attempt': entry(
    (f) => [sees(f), reads(f)],
    (f) => ({ path: `${msg(f)}/endpoint/${f.endpoint}/attempt` }),
  ),
  'GET /api/v1/app/:app_id/msg/:msg_id/endpoint': entry(
    (f) => [sees(f), reads(f)],
    (f) => ({ path: `${msg(f)}/endpoint` }),
  ),
  'GET /api/v1/app/:app_id/msg/:msg_id/attempt/:attempt_id': entry(
    (f) => [sees(f), reads(f), onEndpoint('attempts')(f)],
    (f) => ({ path: `${msg(f)}/attempt/${f.attempt}` }),
  ),
  'DELETE /api/v1/app/:app_id/msg/:msg_id/attempt/:attempt_id/content': entry(
    (f) => [sees(f), reads(f), onEndpoint('attempts')(f), onEndpoint('update')(f)],
    (f) => ({ path: `${msg(f)}/attempt/${f.attempt}/content` }),
  ),
  // The messages an endpoint was sent, with their payloads: reading a payload is consuming the log, as GET …/msg/:msg_id demands.
  'GET /api/v1/app/:app_id/endpoint/:endpoint_id/msg': entry(
    (f) => [sees(f), onEndpoint('attempts')(f), reads(f)],
    (f) => ({ path: `${endpoint(f)}/msg` }),
  ),
  'POST /api/v1/app/:app_id/msg/:msg_id/endpoint/:endpoint_id/resend': entry(
    (f) => [sees(f), onEndpoint('resend')(f), reads(f)],
    (f) => ({ path: `${msg(f)}/endpoint/${f.endpoint}/resend`, body: {} }),
  ),

  'GET /api/v1/event-type': entry(
    () => ['event_types:list'],
    () => ({ path: `${SVIX_PREFIX}/event-type`, query: { include_archived: 'true' } }),
  ),
  'POST /api/v1/event-type': entry(
    () => ['event_types:create'],
    (f) => ({ path: `${SVIX_PREFIX}/event-type`, body: { name: `${f.eventType}.new`, description: 'new' } }),
  ),
  'GET /api/v1/event-type/:event_type_name': entry(
    () => ['event_types:get'],
    (f) => ({ path: `${SVIX_PREFIX}/event-type/${f.eventType}` }),
  ),
  'PUT /api/v1/event-type/:event_type_name': entry(
    () => ['event_types:update'],
    (f) => ({ path: `${SVIX_PREFIX}/event-type/${f.eventType}`, body: { description: 'replaced' } }),
  ),
  'PATCH /api/v1/event-type/:event_type_name': entry(
    () => ['event_types:update'],
    (f) => ({ path: `${SVIX_PREFIX}/event-type/${f.eventType}`, body: { deprecated: true } }),
  ),
  'DELETE /api/v1/event-type/:event_type_name': entry(
    () => ['event_types:delete'],
    (f) => ({ path: `${SVIX_PREFIX}/event-type/${f.eventType}` }),
  ),

  'POST /api/v1/auth/app-portal-access/:app_id': entry(
    (f) => union([sees(f), 'tokens:create'], appRights(f)),
    (f) => ({ path: `${SVIX_PREFIX}/auth/app-portal-access/${f.app}`, body: { expiry: 60 } }),
  ),
  'POST /api/v1/auth/dashboard-access/:app_id': entry(
    (f) => union([sees(f), 'tokens:create'], appRights(f)),
    (f) => ({ path: `${SVIX_PREFIX}/auth/dashboard-access/${f.uid}`, body: {} }),
  ),
  'POST /api/v1/auth/app/:app_id/expire-all': entry(
    (f) => [sees(f), 'tokens:delete'],
    (f) => ({ path: `${SVIX_PREFIX}/auth/app/${f.app}/expire-all`, body: { expiry: 0 } }),
  ),
  // Only a token made for an application logs out, whatever its rights.
  'POST /api/v1/auth/logout': entry(
    () => [],
    () => ({ path: `${SVIX_PREFIX}/auth/logout`, body: {} }),
    { bearer: (f) => f.portalBearer },
  ),
  'GET /api/v1/background-task': entry(
    () => [],
    () => ({ path: `${SVIX_PREFIX}/background-task` }),
  ),
  // A task is seen with the attempts of its endpoint; to any other token it does not exist.
  'GET /api/v1/background-task/:task_id': entry(
    (f) => [onEndpoint('attempts')(f)],
    (f) => ({ path: `${SVIX_PREFIX}/background-task/${f.task}` }),
    { hiding: (f) => ({ [onEndpoint('attempts')(f)]: 'task_not_found' }) },
  ),

  'GET /api/v1/app/:app_id/integration': entry(
    (f) => [sees(f), 'tokens:list'],
    (f) => ({ path: `${app(f)}/integration` }),
  ),
  'POST /api/v1/app/:app_id/integration': entry(
    (f) => union([sees(f), 'tokens:create'], appRights(f)),
    (f) => ({ path: `${app(f)}/integration`, body: { name: 'new', featureFlags: ['beta'] } }),
  ),
  'GET /api/v1/app/:app_id/integration/:integ_id': entry(
    (f) => [sees(f), 'tokens:get'],
    (f) => ({ path: `${app(f)}/integration/${f.integration}` }),
  ),
  'PUT /api/v1/app/:app_id/integration/:integ_id': entry(
    (f) => [sees(f), 'tokens:update'],
    (f) => ({ path: `${app(f)}/integration/${f.integration}`, body: { name: 'renamed' } }),
  ),
  'DELETE /api/v1/app/:app_id/integration/:integ_id': entry(
    (f) => [sees(f), 'tokens:delete'],
    (f) => ({ path: `${app(f)}/integration/${f.integration}` }),
  ),
  // The key is a bearer with the application's rights: showing it hands them out, as creating it does.
  'GET /api/v1/app/:app_id/integration/:integ_id/key': entry(
    (f) => union([sees(f), 'tokens:get'], appRights(f)),
    (f) => ({ path: `${app(f)}/integration/${f.integration}/key` }),
  ),
  'POST /api/v1/app/:app_id/integration/:integ_id/key/rotate': entry(
    (f) => union([sees(f), 'tokens:create'], appRights(f)),
    (f) => ({ path: `${app(f)}/integration/${f.integration}/key/rotate`, body: {} }),
  ),
};

let made = 0;

/** Makes the objects one route's request names, through the admin token. */
export async function makeSvixFixture(s: TestServer): Promise<SvixFixture> {
  const admin = async (path: string, body: unknown) => {
    const res = await s.request('POST', `${SVIX_PREFIX}${path}`, { body });
    expect(res.status, `POST ${path}: ${JSON.stringify(res.body)}`).toBeOneOf([200, 201, 202]);
    return res.body;
  };
  const n = ++made;
  const eventType = `matrix.${process.pid}.${n}`;
  await admin('/event-type', { name: eventType, description: 'matrix', schemas: { 1: { type: 'object', examples: [{ example: true }] } } });
  const uid = `matrix-${n}`;
  const app = (await admin('/app', { name: 'matrix', uid })).id as string;
  const other = (await admin('/app', { name: 'other' })).id as string;
  const endpointUid = `ep-matrix-${n}`;
  const endpoint = (await admin(`/app/${app}/endpoint`, { url: DESTINATION, uid: endpointUid })).id as string;
  const eventId = `event-${n}`;
  const msg = (await admin(`/app/${app}/msg`, { eventType, eventId, payload: { hello: 'world' } })).id as string;
  const task = (await admin(`/app/${app}/endpoint/${endpoint}/recover`, { since: '2020-01-01T00:00:00Z' })).id as string;
  const integration = (await admin(`/app/${app}/integration`, { name: 'matrix' })).id as string;
  const portalBearer = (await admin(`/auth/app-portal-access/${app}`, {})).token as string;
  // Nothing listens there: the attempt fails at once (most likely while the objects above were made).
  const attempt = await eventually(async () => {
    const [first] = (await s.request('GET', `${SVIX_PREFIX}/app/${app}/attempt/endpoint/${endpoint}`)).body.data;
    expect(first).toBeDefined();
    return first.id as string;
  });
  return {
    app,
    uid,
    log: svixIds.logOf(app)!,
    otherLog: svixIds.logOf(other)!,
    endpoint,
    endpointUid,
    webhook: svixIds.webhookOf(endpoint)!,
    msg,
    eventId,
    attempt,
    eventType,
    task,
    integration,
    portalBearer,
  };
}
