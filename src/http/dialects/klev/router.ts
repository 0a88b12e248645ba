import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import type { Principal, Tokens } from '../../../auth/tokens.js';
import { type Permission, allows, describePermission } from '../../../domain/acl.js';
import { fail } from '../../../domain/errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export type Params = Record<string, string>;

export interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  /** What the token must be allowed to do. Omitted: any valid token. */
  permissions?: (request: FastifyRequest) => Permission[];
  handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}

const ALL_METHODS: HTTPMethods[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/**
 * Registers routes behind authentication and ACL checks, which run in
 * onRequest so a bad token is refused before its body is even parsed. Methods
 * a path does not serve answer 405 rather than 404.
 */
export function registerRoutes(app: FastifyInstance, tokens: Tokens, routes: Route[]): void {
  app.decorateRequest('principal', null);
  const methodsByUrl = new Map<string, Set<string>>();

  for (const route of routes) {
    methodsByUrl.set(route.url, (methodsByUrl.get(route.url) ?? new Set()).add(route.method));
    app.route({
      method: route.method,
      url: route.url,
      onRequest: async (request) => {
        request.principal = await tokens.authenticate(request.headers.authorization);
        for (const needed of route.permissions?.(request) ?? []) {
          if (!allows(request.principal.rules, needed)) {
            fail('acl_insufficient', `the token may not ${describePermission(needed)}`);
          }
        }
      },
      handler: route.handler,
    });
  }

  for (const [url, served] of methodsByUrl) {
    const others = ALL_METHODS.filter((method) => !served.has(method));
    app.route({
      method: others,
      url,
      handler: async (request) => fail('method_not_allowed', `${request.method} is not allowed on '${url}'; use ${[...served].join(', ')}`),
    });
  }
}
