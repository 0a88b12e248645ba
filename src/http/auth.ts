import type { FastifyInstance, FastifyRequest } from 'fastify';
import { demand, type Principal } from '../auth/principal.js';
import type { Tokens } from '../auth/tokens.js';
import type { Permission } from '../domain/acl.js';
import { HooklogError } from '../domain/errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    /**
     * Authenticates the bearer and checks the route's rights again. A
     * long-poll calls it before answering with data, so that a token revoked
     * while it waited gets nothing.
     */
    reauthorize: () => Promise<void>;
  }
}

/** Authenticates a request and checks its route's rights, setting its principal. */
export type Authorize = (request: FastifyRequest) => Promise<void>;

/** Where a route's config holds its Authorize, for reauthorize to find. */
export const AUTHORIZE = 'hooklogAuthorize';

/** The request decorations that authentication fills in; done once for the whole app. */
export function decorateAuth(app: FastifyInstance): void {
  app.decorateRequest('principal', null);
  // A method rather than a closure set on each request: only long-polls call it.
  app.decorateRequest('reauthorize', function (this: FastifyRequest) {
    const authorize = (this.routeOptions.config as { [AUTHORIZE]?: Authorize })[AUTHORIZE];
    // A route registered without authentication has nothing to check again with: it must not pass silently.
    if (!authorize) return Promise.reject(new HooklogError('internal', 'this route cannot re-check its token'));
    return authorize(this);
  });
}

/**
 * The onRequest hook of an authenticated route: the bearer becomes a
 * principal, whose ACL must allow what the route names. It runs before the
 * body is read, so a bad token is refused before its body is parsed. Rights
 * over other objects a call reaches (the log of a webhook it creates) are the
 * services' to check, for every dialect alike.
 */
export function authorizer(tokens: Tokens, permissions: ((request: FastifyRequest) => Permission[]) | undefined): Authorize {
  return async (request) => {
    const principal = await tokens.authenticate(request.headers.authorization);
    for (const needed of permissions?.(request) ?? []) demand(principal, needed);
    request.principal = principal;
  };
}
