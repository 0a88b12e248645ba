import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, LogController } from 'fastify';
import { HooklogError } from '../domain/errors.js';
import { decorateAuth } from './auth.js';
import type { AppDeps } from './deps.js';
import { type WireErrors, wireStatus } from './errors.js';
import { parseJsonBody } from './json-body.js';
import { MALFORMED, parseQuery, type Query } from './query.js';
import { REQUEST_ID_HEADER, requestId } from './request-log.js';
import { requireRegisteredRoutes, WHILE_CLOSING } from './router.js';
import { validatorCompiler } from './schema.js';

export interface AppOptions {
  maxBodyBytes: number;
  /** How long a client may take to send a whole request: line, headers and body. */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection waits for its next request. */
  keepAliveTimeoutMs: number;
  /** Connections open at once; Node closes any more as soon as they connect. Unset for an app that never listens (tests that inject). */
  maxConnections?: number;
  logger: FastifyBaseLogger;
  /**
   * How errors raised before a request reaches a dialect (a malformed
   * request, a bad URL) are written: in the wire format of the dialect whose
   * path the URL is, when it is known.
   */
  errorsFor: (url: string | undefined) => WireErrors;
}

/** Longest path parameter routed; ids are far shorter, and a longer one gets the id check's 400. */
const MAX_PARAM_LENGTH = 2048;

/**
 * Builds the HTTP application every dialect shares: body parsing, limits,
 * timeouts, authentication and schema checks. The composition root registers
 * the dialects on it. It never listens: the server does, and tests may.
 */
export function buildApp(deps: Pick<AppDeps, 'isClosing'>, options: AppOptions): FastifyInstance {
  const { requestTimeoutMs: timeoutMs, errorsFor } = options;
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit: options.maxBodyBytes,
    // A client that sends its request slowly (a byte every few seconds) is cut
    // off once the whole request has taken this long. Node times out a slow
    // body only when the timeout is given to the server's constructor (Fastify
    // sets it again afterwards, which alone covers headers only); it checks
    // every connectionsCheckingInterval. Long-polls are not affected: they
    // wait after their request has arrived.
    requestTimeout: timeoutMs,
    // Between requests only: a connection that never sends one is cut by the
    // headers timeout above, and a long-poll waits inside its request.
    keepAliveTimeout: options.keepAliveTimeoutMs,
    // A request without Host is served like any other, rather than answered by Node with an empty 400.
    http: { requestTimeout: timeoutMs, headersTimeout: timeoutMs, connectionsCheckingInterval: Math.min(1000, timeoutMs / 2), requireHostHeader: false },
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH, querystringParser: parseQuery },
    clientErrorHandler: (err, socket) => answerClientError(err, socket, errorsFor(undefined)),
    // A URL the router cannot read (bad percent-escapes, a parameter over the length limit).
    frameworkErrors: (err, request, reply) => {
      const { code, message } = err as FastifyError;
      const coded =
        code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? new HooklogError('path_segment_too_long', `a path id is over ${MAX_PARAM_LENGTH} characters`)
          : new HooklogError('request_invalid', message);
      const wire = errorsFor(request.url);
      // Answered before the hooks of request-log.ts would run: the id is echoed here.
      void (reply as FastifyReply).header(REQUEST_ID_HEADER, request.id).status(wireStatus(wire, coded)).send(wire.body(coded));
    },
    // request-log.ts writes one line of its own per request instead, cheaper and without the URL's query.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: requestId,
    // No child logger per request: its bindings cost more than the rare error
    // line that uses them. Ours name their request themselves; Fastify's own
    // warnings (a reply sent twice, say) go without the request id.
    childLoggerFactory: (logger) => logger,
    // Idle keep-alive sockets would otherwise hold a graceful shutdown open.
    forceCloseConnections: 'idle',
    return503OnClosing: false,
  });

  // Our own JSON parser, so that bad JSON and text that is not UTF-8 get coded
  // errors like every other bad input; the API takes no other body, so
  // Fastify's text/plain parser goes too (415 rather than a string body).
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as Buffer));
    } catch (err) {
      done(err as HooklogError, undefined);
    }
  });

  // Callback-style hooks: they run on every request, and an async hook costs a promise each time.
  app.addHook('onRequest', (request, _reply, done) => {
    if (deps.isClosing() && !(request.routeOptions.config as { [WHILE_CLOSING]?: true })[WHILE_CLOSING]) {
      return done(new HooklogError('shutting_down', 'retry against another node or after the restart'));
    }
    const malformed = (request.query as Query)[MALFORMED];
    if (malformed) return done(new HooklogError('utf8_invalid', `query parameter ${JSON.stringify(malformed[0])} is not percent-encoded UTF-8`));
    done();
  });
  // While closing, every answer ends its connection: a keep-alive socket that was
  // busy when shutdown began would otherwise stay open and hold the close up.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (deps.isClosing()) reply.header('connection', 'close');
    done(null, payload);
  });
  app.decorate('routeTable', []);
  requireRegisteredRoutes(app);
  decorateAuth(app);
  app.setValidatorCompiler(validatorCompiler);
  // Below the process's open-file limit, so that a client holding many idle
  // connections makes Node turn new ones away, rather than accept() failing
  // for every client alike, the log's own file and the database's too.
  if (options.maxConnections !== undefined) app.server.maxConnections = options.maxConnections;
  let dropsLogged = 0;
  app.server.on('drop', () => {
    // One line a minute at most: a flood must not flood the log as well.
    if (Date.now() - dropsLogged < 60_000) return;
    dropsLogged = Date.now();
    options.logger.warn({ maxConnections: options.maxConnections }, 'connections refused: max_connections are open');
  });
  // Node answers an Expect it does not know with an empty 417; give it the API's error body.
  app.server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    const coded = new HooklogError('expectation_unsupported', 'only Expect: 100-continue is supported');
    const wire = errorsFor(request.url);
    const body = JSON.stringify(wire.body(coded));
    response.writeHead(wireStatus(wire, coded), { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
  });
  return app;
}

/**
 * Errors Node raises before a request reaches Fastify: a request that took
 * too long to arrive, headers over Node's limit, bytes that are not HTTP. The
 * client gets the API's error body, then the connection is closed.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Socket & { _httpMessage?: { headersSent: boolean } }, wire: WireErrors): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  // A response already under way on this connection (keep-alive, pipelining)
  // must not get an error answer written into its middle: just close.
  const answering = socket._httpMessage?.headersSent === true;
  const coded =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new HooklogError('request_timeout', 'the request did not arrive in time; the connection is closed')
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? new HooklogError('headers_too_large', 'the request headers are over 16 KiB')
        : new HooklogError('request_invalid', `the request is not valid HTTP (${err.code ?? 'parse error'})`);
  const status = wireStatus(wire, coded);
  const body = JSON.stringify(wire.body(coded));
  if (socket.writable && !answering) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
