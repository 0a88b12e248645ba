import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { randomBase62 } from '../domain/ids.js';

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

/**
 * One `info` line per finished request: its id (echoed to the client in
 * X-Request-Id, errors included), the route's pattern, the method, status and
 * duration, the dialect, and the id of the token it was made with (`admin`
 * for the configured admin_token). Never the URL as sent (its query may carry
 * a secret, as Svix's `?token=` does), a header or a body. The dialect comes
 * from the route table, so the routes of a plugin added later are named too.
 */
export function logRequests(app: FastifyInstance, logger: Logger): void {
  const dialects = new Map<string, string>();
  app.addHook('onReady', (done) => {
    for (const entry of app.routeTable) dialects.set(entry.url, entry.dialect);
    done();
  });
  // Callback-style hooks, as in app.ts: they run on every request.
  // On send rather than on request: an earlier hook's error (shutting_down, a bad token) is answered with the id too.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    if (logger.isLevelEnabled('info')) logger.info(requestLine(request, reply, dialects), 'request');
    done();
  });
}

function requestLine(request: FastifyRequest, reply: FastifyReply, dialects: Map<string, string>) {
  // Undefined for a URL no route matched (a 404): its path is the client's text, not a pattern.
  const route = request.routeOptions.url ?? null;
  const principal = request.principal;
  return {
    reqId: request.id,
    method: request.method,
    route,
    status: reply.statusCode,
    ms: Math.round(reply.elapsedTime * 100) / 100,
    dialect: (route !== null && dialects.get(route)) || null,
    tokenId: principal ? (principal.tokenId ?? 'admin') : null,
  };
}
