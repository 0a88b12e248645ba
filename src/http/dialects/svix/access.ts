import type { FastifyRequest } from 'fastify';
import { demand } from '../../../auth/principal.js';
import { type AclAction, allows, type Permission } from '../../../domain/acl.js';
import { fail } from '../../../domain/errors.js';
import type { Application } from '../../../domain/types.js';
import type { Endpoint } from '../../../egress/endpoints.js';
import type { ApplicationInput } from '../../../log/applications.js';
import { svixIds } from '../../../protocols/svix/ids.js';
import type { AppDeps } from '../../deps.js';

type Request = FastifyRequest & { params: { app_id: string; endpoint_id?: string } };

/**
 * How a Svix path's `{app_id}` and `{endpoint_id}` become objects, with the
 * token's rights checked on each: an application the token may not see is
 * not found, as one that does not exist (a token for one application learns
 * nothing of the others); an action it may not take on one it sees is
 * refused.
 */
export function svixAccess({ applications, endpoints }: Pick<AppDeps, 'applications' | 'endpoints'>) {
  async function application(request: Request, action: AclAction = 'get'): Promise<Application> {
    const name = request.params.app_id;
    const app = await applications.find(svixIds.logOf(name), name);
    const rules = request.principal!.rules;
    if (!app || !allows(rules, { subject: 'logs', action: 'get', objectId: app.logId })) {
      fail('application_not_found', `application '${name}' does not exist`);
    }
    if (action !== 'get') demand(request.principal!, { subject: 'logs', action, objectId: app.logId });
    return app;
  }

  async function endpoint(request: Request, action: AclAction = 'get'): Promise<{ app: Application; endpoint: Endpoint }> {
    const app = await application(request);
    const name = request.params.endpoint_id!;
    const found = await endpoints.find(app.logId, svixIds.webhookOf(name), name);
    if (!found) fail('endpoint_not_found', `endpoint '${name}' does not exist in application '${request.params.app_id}'`);
    demand(request.principal!, onEndpoint(action, app.logId, found.webhook.id));
    return { app, endpoint: found };
  }

  /**
   * The path's application; a uid that names none is made into a new one
   * with `input` (an inline `application`, a PUT), if the token may create
   * logs. An `app_` id is never made up by a client: one unknown is 404.
   */
  async function applicationOrNew(request: Request, input: ApplicationInput, action: AclAction = 'get'): Promise<{ app: Application; created: boolean }> {
    const name = request.params.app_id;
    if (svixIds.logOf(name) !== undefined || (await applications.find(undefined, name))) return { app: await application(request, action), created: false };
    demand(request.principal!, { subject: 'logs', action: 'create' });
    const { application: made, created } = await applications.getOrCreate({ ...input, uid: name });
    // Another request made it first: it is looked at as any existing one.
    return created ? { app: made, created } : { app: await application(request, action), created };
  }

  return { application, endpoint, applicationOrNew };
}

/** A right over one endpoint, or over the endpoints of an application when `webhookId` is left out (list, create). */
export function onEndpoint(action: AclAction, logId: string, webhookId?: string): Permission {
  return { subject: 'egress_webhooks', action, objectId: webhookId ?? logId, parentId: logId };
}

export type SvixAccess = ReturnType<typeof svixAccess>;
