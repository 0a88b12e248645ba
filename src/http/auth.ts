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

/** The request decorations that authentication fills in; done once for the whole app. */
export function decorateAuth(app: FastifyInstance): void {
  app.decorateRequest('principal', null);
  // A route registered without authentication has nothing to check again with: it must not pass silently.
  app.decorateRequest('reauthorize', async () => {
    throw new HooklogError('internal', 'this route cannot re-check its token');
  });
}

/**
 * The onRequest hook of an authenticated route: the bearer becomes a
 * principal, whose ACL must allow what the route names. It runs before the
 * body is read, so a bad token is refused before its body is parsed. Rights
 * over other objects a call reaches (the log of a webhook it creates) are the
 * services' to check, for every dialect alike.
 */
export function authorizer(tokens: Tokens, permissions: ((request: FastifyRequest) => Permission[]) | undefined) {
  const authorize = async (request: FastifyRequest) => {
    const principal = await tokens.authenticate(request.headers.authorization);
    for (const needed of permissions?.(request) ?? []) demand(principal, needed);
    request.principal = principal;
  };
  return async (request: FastifyRequest) => {
    await authorize(request);
    request.reauthorize = () => authorize(request);
  };
}
