import { hash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { fail } from '../domain/errors.js';
import { type ErrorBody, errorHandler } from './errors.js';
import { registerRoutes, route } from './router.js';

const METRICS_PATH = '/metrics';
/** The route table's name for it: no API document lists it. */
export const METRICS = 'metrics';

export interface MetricsEndpointOptions {
  /** The metrics in Prometheus' text format. */
  scrape: () => Promise<{ contentType: string; body: string }>;
  /** The bearer a scrape must send; empty: none is needed. */
  token: string;
  errorBody: ErrorBody;
}

/**
 * `GET /metrics` for Prometheus. It is not behind the API's tokens and ACLs:
 * Prometheus has its own bearer, when one is configured. Takes all it needs
 * as options, so that any listener can serve it.
 */
export async function metricsEndpoint(app: FastifyInstance, { scrape, token, errorBody }: MetricsEndpointOptions): Promise<void> {
  app.setErrorHandler(errorHandler({ body: errorBody }));
  const expected = token === '' ? null : digest(token);
  registerRoutes(app, { dialect: METRICS }, [
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
