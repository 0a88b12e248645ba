import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { HooklogError } from '../../../domain/errors.js';
import { klevErrorBody } from '../../../protocols/klev/errors.js';
import type { AppDeps } from '../../deps.js';
import { errorHandler } from '../../errors.js';
import { documentRoute } from '../../openapi.js';
import { ResponseBudget } from '../../response-budget.js';
import { registerRoutes, route } from '../../router.js';
import { channelRoutes } from './channels.js';
import { deliveryRoutes } from './deliveries.js';
import { egressRoutes } from './egress.js';
import { ingressRoutes } from './ingress.js';
import { logRoutes } from './logs.js';
import { messageRoutes } from './messages.js';
import { offsetRoutes } from './offsets.js';
import * as schemas from './schemas.js';
import { tokenRoutes } from './tokens.js';
import { transformationRoutes } from './transformations.js';

/** The resources this server serves, as klev's `GET /` lists them. */
const RESOURCES = {
  '/log': 'get/delete log',
  '/logs': 'list/create logs',
  '/message': 'post/get message',
  '/messages': 'publish/consume messages',
  '/offset': 'get/set/delete offset',
  '/offsets': 'list offsets',
  '/token': 'get/delete token',
  '/tokens': 'list/create tokens',
  '/ingress_webhook': 'get/update/delete ingress webhook, metrics',
  '/ingress_webhooks': 'list/create ingress webhooks',
  '/ingress': 'public URL of an ingress webhook: POST /ingress/{webhook_id}',
  '/egress_webhook': 'get/update/delete egress webhook, status, rotate secret',
  '/egress_webhooks': 'list/create egress webhooks',
  '/channel': 'get/delete Kaiman Webhooks Proxy channel',
  '/channels': 'list/create Kaiman Webhooks Proxy channels, received and read at /api/webhook/{name}',
};

/** The dialect's name in the route table: the document of `GET /openapi.json` lists its routes. */
export const KLEV = 'klev';

/** How many full consume pages may be held in memory while their clients read them. */
const RESPONSES_IN_FLIGHT = 32;

export interface KlevOptions {
  deps: AppDeps;
  /** Largest consume response, in bytes. */
  maxResponseBytes: number;
  /** How long a consume page may wait for its client to read it. */
  requestTimeoutMs: number;
  version: string;
}

/**
 * The native API, shaped after klev, at the root: its routes, the klev error
 * body, its 404, and its OpenAPI document at `GET /openapi.json`, built from
 * the routes' own schemas once they are all registered.
 */
export async function klevApi(app: FastifyInstance, { deps, maxResponseBytes, requestTimeoutMs, version }: KlevOptions): Promise<void> {
  app.setErrorHandler(errorHandler({ body: klevErrorBody }));
  app.setNotFoundHandler((request) => {
    const path = request.url.split('?')[0];
    throw new HooklogError('path_not_found', `'${path}' is not a valid application path`);
  });

  registerRoutes(app, { dialect: KLEV, tokens: deps.tokens }, [
    route({
      method: 'GET',
      url: '/',
      summary: 'the resources this server serves',
      schema: { response: Type.Record(Type.String(), Type.String()) },
      handler: async () => RESOURCES,
    }),
    documentRoute(app, KLEV, { title: 'hooklog', version, description: 'hooklog’s native API, shaped after klev’s.', error: schemas.error }),
    ...tokenRoutes(deps),
    ...logRoutes(deps),
    ...messageRoutes(deps, { maxResponseBytes, responses: new ResponseBudget(RESPONSES_IN_FLIGHT * maxResponseBytes, requestTimeoutMs) }),
    ...offsetRoutes(deps),
    ...egressRoutes(deps),
    ...transformationRoutes(deps),
    ...deliveryRoutes(deps),
    ...ingressRoutes(deps),
    ...channelRoutes(deps),
  ]);
}
