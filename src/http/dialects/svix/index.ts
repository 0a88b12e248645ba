import type { FastifyInstance } from 'fastify';
import type { IdempotencyKeys } from '../../../auth/idempotency-keys.js';
import { HooklogError } from '../../../domain/errors.js';
import { svixErrorBody } from '../../../protocols/svix/errors.js';
import type { AppDeps } from '../../deps.js';
import { errorHandler, type WireErrors } from '../../errors.js';
import { documentRoute } from '../../openapi.js';
import { type Route, registerRoutes, route } from '../../router.js';
import { svixAccess } from './access.js';
import { applicationRoutes } from './applications.js';
import { attemptRoutes } from './attempts.js';
import { authRoutes } from './auth.js';
import { endpointRoutes } from './endpoints.js';
import { eventTypeRoutes } from './event-types.js';
import { messageRoutes } from './messages.js';
import * as schemas from './schemas.js';

/** The dialect's name in the route table: the document of `GET /api/v1/openapi.json` lists its routes. */
export const SVIX = 'svix';
/** Where the dialect is mounted, as Svix's SDKs address it. */
export const SVIX_PREFIX = '/api/v1';
/** Svix's error bodies, and its 422 for bad input. */
export const SVIX_ERRORS: WireErrors = { body: svixErrorBody, statuses: { invalid_input: 422 } };
/** Message creation keeps its idempotency key with the message itself (see Events.publish), in the append's own transaction. */
const KEYED_BY_ITSELF = '/app/:app_id/msg';
/**
 * Answers that hold a bearer, which hooklog stores only as a hash: they are
 * not kept for repeats. A repeat makes another token, as a retry would.
 */
const HOLD_BEARERS = new Set(['/auth/app-portal-access/:app_id', '/auth/dashboard-access/:app_id', '/app/:app_id/integration/:integ_id/key/rotate']);

/**
 * The Svix API v1, so that Svix's SDKs work against hooklog: applications
 * are logs, endpoints egress webhooks, messages a log's messages, attempts
 * the delivery attempts. Errors are Svix's bodies; bad input is a 422.
 */
export async function svixApi(app: FastifyInstance, { deps, version }: { deps: AppDeps; version: string }): Promise<void> {
  app.setErrorHandler(errorHandler(SVIX_ERRORS));
  app.setNotFoundHandler((request) => {
    throw new HooklogError('path_not_found', `'${request.url.split('?')[0]}' is not a path of the Svix API`);
  });
  const access = svixAccess(deps);
  const routes = [
    route({
      method: 'GET',
      url: '/health',
      summary: 'whether the server is up',
      schema: { status: 204 },
      public: true,
      handler: async () => undefined,
    }),
    documentRoute(app, SVIX, { title: 'hooklog: Svix API v1', version, description: 'The Svix API v1, served by hooklog.', error: schemas.error }),
    ...eventTypeRoutes(deps),
    ...applicationRoutes(deps, access),
    ...endpointRoutes(deps, access),
    ...messageRoutes(deps, access),
    ...attemptRoutes(deps, access),
    ...authRoutes(deps, access),
  ];
  registerRoutes(
    app,
    { dialect: SVIX, tokens: deps.tokens },
    routes.map((one) => idempotent(one, deps.idempotencyKeys)),
  );
}

/**
 * A POST answered once per Idempotency-Key (the SDK sends one with every
 * POST): a repeat within 12 hours gets the first 2xx answer, status and
 * body, without running again. Keys are scoped to the token and the path.
 */
function idempotent(definition: Route, keys: IdempotencyKeys): Route {
  if (definition.method !== 'POST' || definition.public || definition.url === KEYED_BY_ITSELF || HOLD_BEARERS.has(definition.url)) return definition;
  return {
    ...definition,
    handler: async (request, reply) => {
      const key = request.headers['idempotency-key'];
      if (typeof key !== 'string') return definition.handler(request, reply);
      const scope = `${request.principal!.tokenId ?? 'admin'} ${request.url.split('?')[0]}`;
      const { answer } = await keys.once(scope, key, async () => {
        const body = await definition.handler(request, reply);
        return { status: reply.statusCode, body: body === undefined ? '' : JSON.stringify(body) };
      });
      reply.code(answer.status);
      return answer.body === '' ? undefined : JSON.parse(answer.body);
    },
  };
}
