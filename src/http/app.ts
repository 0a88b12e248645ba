import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { HooklogError } from '../domain/errors.js';
import type { AppDeps } from './deps.js';
import { registerKlevApi } from './dialects/klev/index.js';
import { ingressEndpoint } from './ingress.js';

export interface AppOptions {
  maxBodyBytes: number;
  logger: FastifyBaseLogger;
}

/** Builds the HTTP application. It never listens: main does, and tests may. */
export function buildApp(deps: AppDeps, options: AppOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit: options.maxBodyBytes,
    // Per-request log lines would dominate the log at webhook rates; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    // Idle keep-alive sockets would otherwise hold a graceful shutdown open.
    forceCloseConnections: 'idle',
    return503OnClosing: false,
  });

  // Our own JSON parser so that bad JSON gets a coded error like every other bad input.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(new HooklogError('json_invalid', (err as Error).message), undefined);
    }
  });

  // Callback-style hooks: they run on every request, and an async hook costs a promise each time.
  app.addHook('onRequest', (_request, _reply, done) => {
    done(deps.isClosing() ? new HooklogError('shutting_down', 'retry against another node or after the restart') : undefined);
  });
  // While closing, every answer ends its connection: a keep-alive socket that was
  // busy when shutdown began would otherwise stay open and hold the close up.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (deps.isClosing()) reply.header('connection', 'close');
    done(null, payload);
  });
  registerKlevApi(app, deps);
  // After the klev API, so it inherits that error handler and error body.
  app.register(ingressEndpoint, { ingress: deps.ingress });
  return app;
}
