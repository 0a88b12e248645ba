import { Type } from 'typebox';
import { CHANNEL_NAME_RULE } from '../../../domain/channels.js';
import type { Channel } from '../../../domain/types.js';
import type { AppDeps } from '../../deps.js';
import { type Route, route } from '../../router.js';
import { field } from '../../schema.js';

const channel = Type.Object({
  name: Type.String(),
  log_id: Type.String({ description: 'the log the channel’s webhooks are appended to' }),
  ingress_webhook_id: Type.String({ description: 'the ingress webhook behind the channel’s POSTs' }),
  cursor: Type.Integer({ description: 'the first offset not yet read by the channel’s token' }),
  from_config: Type.Boolean({ description: 'declared in the config file, and set from it at every start' }),
  created_at: Type.Integer({ description: 'ms since the Unix epoch' }),
});
const createdChannel = Type.Object({ ...channel.properties, token: Type.String({ description: 'the reading bearer: shown only now' }) });
const params = Type.Object({ name: Type.String({ description: 'the channel’s name' }) });

/** A channel in the native API's shape: never its token nor its secret. */
function klevChannel(c: Channel) {
  return { name: c.name, log_id: c.logId, ingress_webhook_id: c.sourceId, cursor: c.cursor, from_config: c.fromConfig, created_at: c.createdAt };
}

/**
 * Kaiman Webhooks Proxy channels, managed in the native API. The rights are
 * those of what a channel is: creating one creates a log and an ingress
 * webhook, deleting one deletes them, and seeing one sees a log.
 */
export function channelRoutes({ channels }: AppDeps): Route[] {
  return [
    route({
      method: 'GET',
      url: '/channels',
      summary: 'list Kaiman Webhooks Proxy channels, by name; needs logs:list',
      schema: { response: Type.Object({ items: Type.Array(channel) }) },
      handler: async (request) => ({ items: (await channels.list(request.principal!)).map(klevChannel) }),
    }),
    route({
      method: 'POST',
      url: '/channels',
      summary: 'create a channel: a log, and an ingress webhook at /api/webhook/{name}; needs logs:create and ingress_webhooks:create',
      schema: {
        body: field.object({
          name: field.text(CHANNEL_NAME_RULE),
          secret_header: Type.Optional(field.text('the header every POST must carry the secret in; absent: POSTs are not checked')),
          secret: Type.Optional(field.text('the secret that header must hold; never shown again')),
          token: Type.Optional(field.text('the bearer that reads the channel; absent: one is generated. Shown only in this answer')),
        }),
        response: createdChannel,
      },
      handler: async (request) => {
        const { name, secret_header: secretHeader, secret, token } = request.body;
        const created = await channels.create(request.principal!, { name, secretHeader, secret, token });
        return { ...klevChannel(created.channel), token: created.token };
      },
    }),
    route({
      method: 'GET',
      url: '/channel/:name',
      summary: 'get a channel; needs logs:get on its log',
      schema: { params, response: channel },
      handler: async (request) => klevChannel(await channels.get(request.principal!, request.params.name)),
    }),
    route({
      method: 'DELETE',
      url: '/channel/:name',
      summary: 'delete a channel with its log, its webhooks and its ingress webhook; needs logs:delete and ingress_webhooks:delete on them',
      schema: { params, response: channel },
      handler: async (request) => klevChannel(await channels.delete(request.principal!, request.params.name)),
    }),
  ];
}
