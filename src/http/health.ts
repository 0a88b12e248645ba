import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { HooklogError } from '../domain/errors.js';
import type { Readiness } from '../domain/types.js';
import { type AppOptions, buildApp } from './app.js';
import type { AppDeps } from './deps.js';
import { type ErrorBody, errorHandler } from './errors.js';
import { registerRoutes, route } from './router.js';

/** The route table's name for these routes: no API document lists them. */
export const HEALTH = 'health';

export interface HealthOptions {
  /** Whether the node can serve: it is not shutting down, and its database answers in time with every migration applied. */
  readiness: () => Promise<Readiness>;
  errorBody: ErrorBody;
}

/**
 * `GET /healthz` (liveness: the process serves) and `GET /readyz`
 * (readiness: 503 with the reason when the node should get no traffic). No
 * token, since load balancers and orchestrators hold none, and nothing is
 * shown beyond a reason code and a fixed sentence: the cause is logged. Both
 * answer while the server shuts down, so that a balancer sees the node go
 * unready rather than a refused request.
 */
export async function healthChecks(app: FastifyInstance, { readiness, errorBody }: HealthOptions): Promise<void> {
  app.setErrorHandler(errorHandler({ body: errorBody }));
  registerRoutes(app, { dialect: HEALTH }, [
    route({
      method: 'GET',
      url: '/healthz',
      summary: 'liveness: 200 while the process serves requests',
      schema: { response: Type.Object({ status: Type.Literal('ok') }) },
      public: true,
      whileClosing: true,
      handler: async () => ({ status: 'ok' }),
    }),
    route({
      method: 'GET',
      url: '/readyz',
      summary:
        'readiness: 200 when the database answers within 1 s with its migrations applied and the node is not shutting down; 503 with a reason code otherwise',
      schema: { response: Type.Object({ status: Type.Literal('ready') }) },
      public: true,
      whileClosing: true,
      handler: async (_request, reply) => {
        const found = await readiness();
        if (found.ready) return { status: 'ready' };
        return reply.code(503).send({ status: 'unavailable', reason: found.reason, detail: found.detail });
      },
    }),
  ]);
}

/**
 * The listener of health_port: the shared app (limits, timeouts, request
 * ids) with the health checks and nothing else, until the caller registers
 * more plugins on it; its other paths answer 404 in the API's error body.
 */
export function healthListener(deps: Pick<AppDeps, 'isClosing'>, options: AppOptions & HealthOptions): FastifyInstance {
  const app = buildApp(deps, options);
  app.setErrorHandler(errorHandler({ body: options.errorBody }));
  app.setNotFoundHandler((request) => {
    throw new HooklogError('path_not_found', `'${request.url.split('?')[0]}' is not served on the health port; try /healthz or /readyz`);
  });
  app.register(healthChecks, options);
  return app;
}

export interface ReadinessLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * `readiness`, with each change of its answer logged once (not once per
 * probe: a balancer asks every few seconds): why the node became unready, with
 * the underlying error, and when it is ready again.
 */
export function loggedReadiness(readiness: () => Promise<Readiness>, logger: ReadinessLogger): () => Promise<Readiness> {
  let last: string = 'ready';
  return async () => {
    const found = await readiness();
    const now = found.ready ? 'ready' : found.reason;
    if (now !== last) {
      if (found.ready) logger.info({ was: last }, 'ready again');
      else if (found.reason === 'shutting_down') logger.info({ reason: found.reason }, 'not ready: shutting down');
      else logger.warn({ reason: found.reason, err: found.cause }, `not ready: ${found.detail}`);
      last = now;
    }
    return found;
  };
}
