import { Ajv } from 'ajv';
import { expect } from 'vitest';
import { eventually, type RequestOptions, type TestServer } from './server.js';

/**
 * The klev dialect's authenticated routes, each with the exact rights it needs and a valid
 * request to make against a fixture: the ACL matrix checks the rights, and
 * the fuzzer starts from these requests to spoil one field at a time.
 */
/** Objects made afresh for each route, so a route that deletes or changes one never affects another's check. */
export interface Fixture {
  log: string;
  otherLog: string;
  offset: string;
  egress: string;
  ingress: string;
  /** A resend task of `egress`, and the attempt it made. */
  task: string;
  attempt: string;
  /** A token with rights over `log` only. */
  token: string;
  /** A Kaiman Webhooks Proxy channel, with its log and ingress webhook. */
  channel: { name: string; log: string; ingress: string };
}

export interface Entry {
  /** Exactly the ACL entries the call needs: over its own object, the objects it reaches, and the rights of a token it hands out or touches. */
  rights: (f: Fixture) => string[];
  request: (f: Fixture) => { path: string } & RequestOptions;
}

const entry = (rights: Entry['rights'], request: Entry['request']): Entry => ({ rights, request });
const DESTINATION = 'http://127.0.0.1:9/matrix';
const IDENTITY = 'export function handler(webhook) { return webhook }';

/**
 * The ACL matrix: one entry for every authenticated route of the klev
 * dialect (the Svix dialect's are in svix-routes.ts). For each, a token
 * with exactly the listed rights gets a 2xx, and a token lacking any one of
 * them gets 403 and changes nothing stored. A route the server registers
 * without an entry here fails the test.
 */
export const MATRIX: Record<string, Entry> = {
  'GET /': entry(
    () => [],
    () => ({ path: '/' }),
  ),

  'GET /tokens': entry(
    () => ['tokens:list'],
    () => ({ path: '/tokens' }),
  ),
  'POST /tokens': entry(
    (f) => ['tokens:create', `logs:get:${f.log}`],
    (f) => ({ path: '/tokens', body: { acl: [`logs:get:${f.log}`] } }),
  ),
  'GET /token/:token_id': entry(
    (f) => [`tokens:get:${f.token}`, `logs:get:${f.log}`],
    (f) => ({ path: `/token/${f.token}` }),
  ),
  'DELETE /token/:token_id': entry(
    (f) => [`tokens:delete:${f.token}`, `logs:get:${f.log}`],
    (f) => ({ path: `/token/${f.token}` }),
  ),

  'GET /logs': entry(
    () => ['logs:list'],
    () => ({ path: '/logs' }),
  ),
  'POST /logs': entry(
    () => ['logs:create'],
    () => ({ path: '/logs', body: { metadata: 'new' } }),
  ),
  'GET /log/:log_id': entry(
    (f) => [`logs:get:${f.log}`],
    (f) => ({ path: `/log/${f.log}` }),
  ),
  'DELETE /log/:log_id': entry(
    (f) => [`logs:delete:${f.log}`],
    (f) => ({ path: `/log/${f.log}` }),
  ),

  'POST /messages/:log_id': entry(
    (f) => [`messages:publish:${f.log}`],
    (f) => ({ path: `/messages/${f.log}`, body: { messages: [{ value: 'm' }] } }),
  ),
  'GET /messages/:log_id': entry(
    (f) => [`messages:consume:${f.log}`, `offsets:get:${f.offset}`],
    (f) => ({ path: `/messages/${f.log}`, query: { offset_id: f.offset } }),
  ),
  'POST /message/:log_id': entry(
    (f) => [`messages:publish:${f.log}`],
    (f) => ({ path: `/message/${f.log}`, body: { value: 'm' } }),
  ),
  'GET /message/:log_id': entry(
    (f) => [`messages:consume:${f.log}`],
    (f) => ({ path: `/message/${f.log}`, query: { offset: 0 } }),
  ),
  'GET /message/:log_id/key': entry(
    (f) => [`messages:consume:${f.log}`],
    (f) => ({ path: `/message/${f.log}/key`, query: { key: 'k' } }),
  ),
  'POST /message/:log_id/key': entry(
    (f) => [`messages:consume:${f.log}`],
    (f) => ({ path: `/message/${f.log}/key`, body: { key: 'k' } }),
  ),

  'GET /offsets': entry(
    () => ['offsets:list'],
    (f) => ({ path: '/offsets', query: { log_id: f.log } }),
  ),
  'POST /offsets': entry(
    (f) => ['offsets:create', `messages:consume:${f.log}`],
    (f) => ({ path: '/offsets', body: { log_id: f.log } }),
  ),
  'GET /offset/:offset_id': entry(
    (f) => [`offsets:get:${f.offset}`],
    (f) => ({ path: `/offset/${f.offset}` }),
  ),
  'POST /offset/:offset_id': entry(
    (f) => [`offsets:update:${f.offset}`, `messages:consume:${f.log}`],
    (f) => ({ path: `/offset/${f.offset}`, body: { value: 1 } }),
  ),
  'DELETE /offset/:offset_id': entry(
    (f) => [`offsets:delete:${f.offset}`, `messages:consume:${f.log}`],
    (f) => ({ path: `/offset/${f.offset}` }),
  ),

  'GET /egress_webhooks': entry(
    () => ['egress_webhooks:list'],
    () => ({ path: '/egress_webhooks' }),
  ),
  'POST /egress_webhooks': entry(
    (f) => ['egress_webhooks:create', `messages:consume:${f.log}`],
    (f) => ({ path: '/egress_webhooks', body: { log_id: f.log, destination: DESTINATION } }),
  ),
  'GET /egress_webhook/:webhook_id': entry(
    (f) => [`egress_webhooks:get:${f.egress}`],
    (f) => ({ path: `/egress_webhook/${f.egress}` }),
  ),
  'POST /egress_webhook/:webhook_id': entry(
    (f) => [`egress_webhooks:update:${f.egress}`, `messages:consume:${f.log}`],
    (f) => ({ path: `/egress_webhook/${f.egress}`, body: { destination: `${DESTINATION}/2` } }),
  ),
  'PATCH /egress_webhook/:webhook_id': entry(
    (f) => [`egress_webhooks:update:${f.egress}`, `messages:consume:${f.log}`],
    (f) => ({ path: `/egress_webhook/${f.egress}`, body: { destination: `${DESTINATION}/2` } }),
  ),
  'DELETE /egress_webhook/:webhook_id': entry(
    (f) => [`egress_webhooks:delete:${f.egress}`],
    (f) => ({ path: `/egress_webhook/${f.egress}` }),
  ),
  'GET /egress_webhook/:webhook_id/status': entry(
    (f) => [`egress_webhooks:status:${f.egress}`],
    (f) => ({ path: `/egress_webhook/${f.egress}/status` }),
  ),
  'PATCH /egress_webhook/:webhook_id/secret': entry(
    (f) => [`egress_webhooks:rotate:${f.egress}`],
    (f) => ({ path: `/egress_webhook/${f.egress}/secret`, body: { expire_seconds: 60 } }),
  ),
  'GET /egress_webhook/:webhook_id/transformation': entry(
    (f) => [`egress_webhooks:get:${f.egress}`],
    (f) => ({ path: `/egress_webhook/${f.egress}/transformation` }),
  ),
  'PUT /egress_webhook/:webhook_id/transformation': entry(
    (f) => [`egress_webhooks:update:${f.egress}`, `messages:consume:${f.log}`],
    (f) => ({ path: `/egress_webhook/${f.egress}/transformation`, body: { code: IDENTITY, enabled: false } }),
  ),
  'PATCH /egress_webhook/:webhook_id/transformation': entry(
    (f) => [`egress_webhooks:update:${f.egress}`, `messages:consume:${f.log}`],
    (f) => ({ path: `/egress_webhook/${f.egress}/transformation`, body: { enabled: false } }),
  ),
  'DELETE /egress_webhook/:webhook_id/transformation': entry(
    (f) => [`egress_webhooks:update:${f.egress}`, `messages:consume:${f.log}`],
    (f) => ({ path: `/egress_webhook/${f.egress}/transformation` }),
  ),
  'POST /egress_webhook/:webhook_id/transformation/test': entry(
    (f) => [`egress_webhooks:get:${f.egress}`, `messages:consume:${f.log}`],
    (f) => ({ path: `/egress_webhook/${f.egress}/transformation/test`, body: { offset: 0 } }),
  ),
  'GET /egress_webhook/:webhook_id/attempts': entry(
    (f) => [`egress_webhooks:attempts:${f.egress}`],
    (f) => ({ path: `/egress_webhook/${f.egress}/attempts`, query: { limit: 10, status: 'failed' } }),
  ),
  'GET /egress_webhook/:webhook_id/attempts/:attempt_id': entry(
    (f) => [`egress_webhooks:attempts:${f.egress}`],
    (f) => ({ path: `/egress_webhook/${f.egress}/attempts/${f.attempt}` }),
  ),
  'POST /egress_webhook/:webhook_id/resend': entry(
    (f) => [`egress_webhooks:resend:${f.egress}`],
    (f) => ({ path: `/egress_webhook/${f.egress}/resend`, body: { offset: 1 } }),
  ),
  'POST /egress_webhook/:webhook_id/replay': entry(
    (f) => [`egress_webhooks:replay:${f.egress}`],
    (f) => ({ path: `/egress_webhook/${f.egress}/replay`, body: { since: 0, until: 2 } }),
  ),
  'POST /egress_webhook/:webhook_id/recover': entry(
    (f) => [`egress_webhooks:replay:${f.egress}`],
    (f) => ({ path: `/egress_webhook/${f.egress}/recover`, body: { since: 0 } }),
  ),
  'GET /egress_webhook/:webhook_id/summary': entry(
    (f) => [`egress_webhooks:status:${f.egress}`],
    (f) => ({ path: `/egress_webhook/${f.egress}/summary` }),
  ),
  'GET /tasks/:task_id': entry(
    (f) => [`egress_webhooks:attempts:${f.egress}`],
    (f) => ({ path: `/tasks/${f.task}` }),
  ),

  'GET /ingress_webhooks': entry(
    () => ['ingress_webhooks:list'],
    () => ({ path: '/ingress_webhooks' }),
  ),
  'POST /ingress_webhooks': entry(
    (f) => ['ingress_webhooks:create', `messages:publish:${f.log}`],
    (f) => ({ path: '/ingress_webhooks', body: { log_id: f.log, type: 'none' } }),
  ),
  'GET /ingress_webhook/:webhook_id': entry(
    (f) => [`ingress_webhooks:get:${f.ingress}`],
    (f) => ({ path: `/ingress_webhook/${f.ingress}` }),
  ),
  'PATCH /ingress_webhook/:webhook_id': entry(
    (f) => [`ingress_webhooks:update:${f.ingress}`, `messages:publish:${f.log}`],
    (f) => ({ path: `/ingress_webhook/${f.ingress}`, body: { secret: 'new secret' } }),
  ),
  'POST /ingress_webhook/:webhook_id': entry(
    (f) => [`ingress_webhooks:update:${f.ingress}`, `messages:publish:${f.log}`],
    (f) => ({ path: `/ingress_webhook/${f.ingress}`, body: { secret: 'new secret' } }),
  ),
  'DELETE /ingress_webhook/:webhook_id': entry(
    (f) => [`ingress_webhooks:delete:${f.ingress}`],
    (f) => ({ path: `/ingress_webhook/${f.ingress}` }),
  ),
  'GET /ingress_webhook/:webhook_id/metrics': entry(
    (f) => [`ingress_webhooks:get:${f.ingress}`],
    (f) => ({ path: `/ingress_webhook/${f.ingress}/metrics` }),
  ),

  'GET /channels': entry(
    () => ['logs:list'],
    () => ({ path: '/channels' }),
  ),
  'POST /channels': entry(
    () => ['logs:create', 'ingress_webhooks:create'],
    (f) => ({ path: '/channels', body: { name: `${f.channel.name}-new`, secret_header: 'X-Token', secret: 's' } }),
  ),
  'GET /channel/:name': entry(
    (f) => [`logs:get:${f.channel.log}`],
    (f) => ({ path: `/channel/${f.channel.name}` }),
  ),
  'DELETE /channel/:name': entry(
    (f) => [`logs:delete:${f.channel.log}`, `ingress_webhooks:delete:${f.channel.ingress}`],
    (f) => ({ path: `/channel/${f.channel.name}` }),
  ),
};

/** Makes the objects one route's request names, through the admin token. */
export async function makeFixture(s: TestServer): Promise<Fixture> {
  const admin = async (path: string, body: unknown) => {
    const res = await s.request('POST', path, { body });
    expect(res.status, `POST ${path}: ${JSON.stringify(res.body)}`).toBeOneOf([200, 202]);
    return res.body;
  };
  const log = (await admin('/logs', { metadata: 'matrix' })).log_id;
  const otherLog = (await admin('/logs', { metadata: 'other' })).log_id;
  await admin(`/messages/${log}`, { messages: [{ key: 'k', value: 'v' }, { value: 'w' }] });
  const egress = (await admin('/egress_webhooks', { log_id: log, destination: DESTINATION })).webhook_id;
  const task = (await admin(`/egress_webhook/${egress}/resend`, { offset: 0 })).task_id;
  // Nothing listens there: the attempt fails at once.
  const attempt = await eventually(async () => {
    const [made] = (await s.request('GET', `/egress_webhook/${egress}/attempts`)).body.attempts;
    expect(made).toBeDefined();
    return made.attempt_id as string;
  });
  // After the attempt: the fixture's webhook has a transformation to read, test and delete, which its deliveries never ran.
  const put = await s.request('PUT', `/egress_webhook/${egress}/transformation`, { body: { code: IDENTITY, enabled: false } });
  expect(put.status, JSON.stringify(put.body)).toBe(200);
  return {
    log,
    otherLog,
    offset: (await admin('/offsets', { log_id: log })).offset_id,
    egress,
    task,
    attempt,
    ingress: (await admin('/ingress_webhooks', { log_id: log, type: 'github', secret: 'matrix secret' })).webhook_id,
    token: (await admin('/tokens', { acl: [`logs:get:${log}`] })).token_id,
    channel: await (async () => {
      const made = await admin('/channels', { name: `matrix-${log.slice(-12)}` });
      return { name: made.name, log: made.log_id, ingress: made.ingress_webhook_id };
    })(),
  };
}

/** The routes the server registered, as `METHOD /url`: all of them, or only those behind a token, or only one dialect's (klev, svix). */
export function routesOf(s: TestServer, only: { authenticated?: true; dialect?: string } = {}): string[] {
  return s.server
    .app!.routeTable.filter((entry) => (!only.authenticated || entry.authenticated) && (only.dialect === undefined || entry.dialect === only.dialect))
    .map((entry) => `${entry.method} ${entry.url}`);
}

const ajv = new Ajv({ strict: false, allErrors: true });

/** A response schema made strict: every object it describes holds exactly its declared fields, so an undocumented field fails too. */
function strict(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strict);
  if (typeof schema !== 'object' || schema === null) return schema;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    copy[key] = key === 'properties' ? Object.fromEntries(Object.entries(value as object).map(([name, property]) => [name, strict(property)])) : strict(value);
  }
  if (copy.type === 'object' && copy.properties && copy.additionalProperties === undefined) copy.additionalProperties = false;
  return copy;
}

/** How an answer differs from the response schema its route declares (and so the API document shows): [] when it does not. */
export function undocumented(s: TestServer, route: string, body: unknown): string[] {
  const entry = s.server.app!.routeTable.find((candidate) => `${candidate.method} ${candidate.url}` === route);
  if (!entry?.schema.response) return [`${route} declares no answer`];
  const validate = ajv.compile(strict(entry.schema.response) as object);
  return validate(body) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message} ${JSON.stringify(error.params)}`);
}
