import { Type } from 'typebox';
import type { AppDeps } from '../../deps.js';
import { type Route, route } from '../../router.js';
import { field } from '../../schema.js';
import * as schemas from './schemas.js';
import { klevToken } from './shapes.js';

export function tokenRoutes({ tokens }: AppDeps): Route[] {
  return [
    route({
      method: 'GET',
      url: '/tokens',
      summary: 'list the tokens whose rights are a subset of the caller’s',
      schema: { querystring: schemas.metadataFilter, response: Type.Object({ tokens: Type.Array(schemas.token) }) },
      permissions: () => [{ subject: 'tokens', action: 'list' }],
      handler: async (request) => ({ tokens: (await tokens.list(request.principal!, { metadata: request.query.metadata })).map(klevToken) }),
    }),
    route({
      method: 'POST',
      url: '/tokens',
      summary: 'create a token; its bearer is shown only now',
      schema: {
        body: field.object({
          metadata: Type.Optional(field.text()),
          acl: Type.Optional(field.strings('entries subject[:action[:object_id]]; none means full access')),
        }),
        response: schemas.createdToken,
      },
      permissions: () => [{ subject: 'tokens', action: 'create' }],
      handler: async (request) => {
        const { token, bearer } = await tokens.create(request.principal!, request.body.metadata ?? '', request.body.acl ?? []);
        return { ...klevToken(token), bearer };
      },
    }),
    route({
      method: 'GET',
      url: '/token/:token_id',
      summary: 'get a token',
      schema: { params: schemas.params.token, response: schemas.token },
      permissions: (request) => [{ subject: 'tokens', action: 'get', objectId: request.params.token_id }],
      handler: async (request) => klevToken(await tokens.get(request.principal!, request.params.token_id)),
    }),
    route({
      method: 'DELETE',
      url: '/token/:token_id',
      summary: 'delete a token',
      schema: { params: schemas.params.token, response: schemas.token },
      permissions: (request) => [{ subject: 'tokens', action: 'delete', objectId: request.params.token_id }],
      handler: async (request) => klevToken(await tokens.delete(request.principal!, request.params.token_id)),
    }),
  ];
}
