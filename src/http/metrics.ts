import { hash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { fail } from '../domain/errors.js';
import { type ErrorBody, errorHandler } from './errors.js';
import { registerRoutes, route } from './router.js';

export const METRICS_PATH = '/metrics';

export interface MetricsEndpointOptions {
  /** The metrics in Prometheus' text format. */
  scrape: () => Promise<{ contentType: string; body: string }>;
  /** The bearer a scrape must send; empty: none is needed. */
  token: string;
  errorBody: ErrorBody;
  /** The API whose document lists the URL. */
  dialect: string;
}

/**
 * `GET /metrics` for Prometheus. It is not behind the API's tokens and ACLs:
 * Prometheus has its own bearer, when one is configured. Takes all it needs
 * as options, so that any listener can serve it.
 */
export async function metricsEndpoint(app: FastifyInstance, { scrape, token, errorBody, dialect }: MetricsEndpointOptions): Promise<void> {
  app.setErrorHandler(errorHandler({ body: errorBody }));
  // A listener without the API (a worker's health port) has no route table of its own.
  if (!app.hasDecorator('routeTable')) app.decorate('routeTable', []);
  const expected = token === '' ? null : digest(token);
  registerRoutes(app, { dialect }, [
    route({
      method: 'GET',
      url: METRICS_PATH,
      summary: 'the metrics, in Prometheus’ text format; with metrics_token set, that bearer is required',
      schema: {},
      public: true,
      handler: async (request, reply) => {
        if (expected) {
          const given = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
          // Digests of equal length, so that the comparison takes the same time whatever was sent.
          if (given === undefined || !timingSafeEqual(digest(given), expected)) {
            fail('metrics_token_invalid', 'send Authorization: Bearer with the configured metrics_token');
          }
        }
        const { contentType, body } = await scrape();
        return reply.type(contentType).send(body);
      },
    }),
  ]);
}

function digest(text: string): Buffer {
  return hash('sha256', text, 'buffer');
}

/** Where each request's dialect, route, status and time go: the metrics. */
export interface RequestRecorder {
  request(dialect: string, route: string, statusCode: number, seconds: number): void;
}

/**
 * Times every request the app answers, labelled by its route's pattern
 * (`/log/:log_id`), never the URL, and `unmatched` for a URL no route has.
 * `dialectOf` names the API a URL belongs to.
 */
export function measureRequests(app: FastifyInstance, recorder: RequestRecorder, dialectOf: (url: string) => string): void {
  const dialects = new Map<string, string>();
  const remember = (pattern: string) => {
    const dialect = dialectOf(pattern);
    dialects.set(pattern, dialect);
    return dialect;
  };
  app.addHook('onResponse', (request, reply, done) => {
    const pattern = request.routeOptions.url;
    if (pattern === METRICS_PATH) return done();
    const dialect = pattern === undefined ? dialectOf(request.url) : (dialects.get(pattern) ?? remember(pattern));
    recorder.request(dialect, pattern ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
}
