import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorKind, type ErrorName, HooklogError } from '../domain/errors.js';

/** The one place where an error's kind becomes an HTTP status. */
export const statusOf: Record<ErrorKind, number> = {
  invalid_input: 400,
  conflict: 409,
  unsupported: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  gone: 410,
  method_not_allowed: 405,
  unsupported_media_type: 415,
  too_large: 413,
  headers_too_large: 431,
  timeout: 408,
  rate_limited: 429,
  expectation_failed: 417,
  uri_too_long: 414,
  unavailable: 503,
  internal: 500,
};

/** A dialect's error body: how it shows a coded error on the wire. */
export type ErrorBody = (error: HooklogError) => unknown;

/** How a dialect answers errors: its body, and the statuses its wire format gives some kinds (Svix answers bad input with 422). */
export interface WireErrors {
  body: ErrorBody;
  statuses?: Partial<Record<ErrorKind, number>>;
}

/** The status an error is answered with in a dialect's wire format. */
export function wireStatus(wire: WireErrors, error: HooklogError): number {
  return wire.statuses?.[error.entry.kind] ?? statusOf[error.entry.kind];
}

/** `type/subtype`, as RFC 9110 spells a media type's start. */
const MEDIA_TYPE = /^[\w!#$%&'*+.^`|~-]+\/[\w!#$%&'*+.^`|~-]+\s*(;|$)/;

/** Fastify's own errors that a client causes, by Fastify's error code. */
const FASTIFY_CLIENT_ERRORS = new Map<string, ErrorName>([
  ['FST_ERR_CTP_BODY_TOO_LARGE', 'body_too_large'],
  ['FST_ERR_CTP_INVALID_MEDIA_TYPE', 'content_type_invalid'],
  ['FST_ERR_CTP_INVALID_TYPE', 'content_type_invalid'],
]);

/** Any error a request ended with, as a coded one. An unexpected error is a 500 that tells the client nothing of its cause. */
export function toHooklogError(err: FastifyError, contentType: string | undefined): HooklogError {
  if (err instanceof HooklogError) return err;
  const known = FASTIFY_CLIENT_ERRORS.get(err.code);
  if (known === 'content_type_invalid') {
    // Only the JSON API turns well-formed types away; a public webhook URL takes any type, and refuses only a header that names none.
    const details = MEDIA_TYPE.test(contentType ?? '')
      ? `send the body as application/json, not ${JSON.stringify(contentType)}`
      : `the Content-Type header ${JSON.stringify(contentType ?? '')} is not a media type`;
    return new HooklogError(known, details);
  }
  if (known) return new HooklogError(known, err.message);
  // Other errors Fastify raises for a malformed request (bad URL, bad content-length…).
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
    return new HooklogError('request_invalid', err.message);
  }
  return new HooklogError('internal', 'the server failed to handle the request; see its log');
}

/** A dialect's error handler: every error answered in its wire format; the cause of a 500 is logged. */
export function errorHandler(wire: WireErrors) {
  return (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const coded = toHooklogError(err, request.headers['content-type']);
    // The route's pattern, not the URL as sent: a query may carry a secret (Svix's ?token=).
    if (coded.entry.kind === 'internal')
      request.log.error({ err, reqId: request.id, method: request.method, route: request.routeOptions.url }, 'request failed');
    // After a 429 the rest of a slow body is not worth reading.
    if (coded.entry.kind === 'rate_limited') reply.header('connection', 'close');
    if (coded.entry.retryAfterSeconds !== undefined) reply.header('retry-after', coded.entry.retryAfterSeconds);
    return reply.status(wireStatus(wire, coded)).send(wire.body(coded));
  };
}
