import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { randomBase62 } from '../domain/ids.js';
import { INGRESS, INGRESS_PREFIX } from './ingress.js';
import type { RequestRecorder } from './metrics.js';
import { under } from './router.js';

export const REQUEST_ID_HEADER = 'x-request-id';

/** A client's request id is kept when it is this short and made of token characters (RFC 9110), so it cannot break a log line or a header. */
const SANE_REQUEST_ID = /^[\w!#$%&'*+.^`|~-]{1,128}$/;

/** Generated ids: this process's random prefix and a counter, unique across nodes and restarts without a random draw per request. */
const PROCESS_PREFIX = `${randomBase62(10)}-`;
let generated = 0;

/** Fastify's genReqId: the client's X-Request-Id when it is sane, else one of ours. */
export function requestId(request: { headers: Record<string, string | string[] | undefined> }): string {
  const given = request.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : PROCESS_PREFIX + (++generated).toString(36);
}

export interface RequestDialects {
  /** Where a URL belongs when no route matched it: the dialect whose prefix it starts with, else `root`. */
  prefixes: ReadonlyArray<readonly [prefix: string, dialect: string]>;
  root: string;
  /** The dialects of probes that come every few seconds (health checks, scrapes): their lines are `debug`, so that `info` stays readable. */
  probes: ReadonlySet<string>;
}

/**
 * One hook per finished request, which feeds both its log line and the HTTP
 * histogram, so that the two always name the same dialect and route.
 *
 * The line: its id (echoed to the client in X-Request-Id, errors included),
 * the route's pattern, the method, status and duration, the dialect, and the
 * id of the token it was made with (`admin` for the configured admin_token).
 * Never the URL as sent (its query may carry a secret, as Svix's `?token=`
 * does), a header or a body. `info`, but `debug` for health checks and scrapes.
 *
 * The dialect is the route's in the route table (so the routes of a plugin
 * added later are named too), except that the public ingress URLs, which
 * klev's document lists, are `ingress`: providers' traffic, not API clients'.
 * A URL no route matched is named by its prefix.
 */
export function observeRequests(app: FastifyInstance, logger: Logger, recorder: RequestRecorder, { prefixes, root, probes }: RequestDialects): void {
  const byPrefix = (url: string) => prefixes.find(([prefix]) => under(prefix, url))?.[1] ?? root;
  const byRoute = new Map<string, string>();
  app.addHook('onReady', (done) => {
    for (const entry of app.routeTable) byRoute.set(entry.url, under(INGRESS_PREFIX, entry.url) ? INGRESS : entry.dialect);
    done();
  });
  // Callback-style hooks, as in app.ts: they run on every request.
  // On send rather than on request: an earlier hook's error (shutting_down, a bad token) is answered with the id too.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    // Undefined for a URL no route matched (a 404): its path is the client's text, not a pattern.
    const route = request.routeOptions.url;
    const dialect = (route !== undefined && byRoute.get(route)) || byPrefix(route ?? request.url);
    recorder.request(dialect, route ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    const level = probes.has(dialect) ? 'debug' : 'info';
    if (logger.isLevelEnabled(level)) logger[level](requestLine(request, reply, route ?? null, dialect), 'request');
    done();
  });
}

function requestLine(request: FastifyRequest, reply: FastifyReply, route: string | null, dialect: string) {
  const principal = request.principal;
  return {
    reqId: request.id,
    method: request.method,
    route,
    status: reply.statusCode,
    ms: Math.round(reply.elapsedTime * 100) / 100,
    dialect,
    tokenId: principal ? (principal.tokenId ?? 'admin') : null,
  };
}
