import type { AppDeps } from '../../deps.js';
import { objectBody, optionalString, optionalStringArray, queryParam, requireId } from './input.js';
import type { Params, Route } from './router.js';
import { klevToken } from './shapes.js';

export function tokenRoutes({ tokens }: AppDeps): Route[] {
  const id = (params: unknown) => (params as Params).token_id;
  return [
    {
      method: 'GET',
      url: '/tokens',
      permissions: () => [{ subject: 'tokens', action: 'list' }],
      handler: async (request) => ({
        tokens: (await tokens.list({ metadata: queryParam(request.query, 'metadata') })).map(klevToken),
      }),
    },
    {
      method: 'POST',
      url: '/tokens',
      permissions: () => [{ subject: 'tokens', action: 'create' }],
      handler: async (request) => {
        const body = objectBody(request.body);
        const { token, bearer } = await tokens.create(optionalString(body, 'metadata') ?? '', optionalStringArray(body, 'acl') ?? []);
        return { ...klevToken(token), bearer };
      },
    },
    {
      method: 'GET',
      url: '/token/:token_id',
      permissions: (request) => [{ subject: 'tokens', action: 'get', objectId: id(request.params) }],
      handler: async (request) => klevToken(await tokens.get(requireId('tok', id(request.params), 'token_id'))),
    },
    {
      method: 'DELETE',
      url: '/token/:token_id',
      permissions: (request) => [{ subject: 'tokens', action: 'delete', objectId: id(request.params) }],
      handler: async (request) => klevToken(await tokens.delete(requireId('tok', id(request.params), 'token_id'))),
    },
  ];
}
