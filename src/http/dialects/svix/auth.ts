import { Type } from 'typebox';
import { demand } from '../../../auth/principal.js';
import { type AclAction, allows, applicationAcl } from '../../../domain/acl.js';
import { fail, HooklogError } from '../../../domain/errors.js';
import type { EgressWebhook } from '../../../domain/types.js';
import { svixIds } from '../../../protocols/svix/ids.js';
import type { AppDeps } from '../../deps.js';
import { type Route, type RouteRequest, route } from '../../router.js';
import { field } from '../../schema.js';
import type { SvixAccess } from './access.js';
import { limitOf, newestFirst, page, pageQuery, supportedOnlyNull } from './paging.js';
import * as schemas from './schemas.js';
import { svixIntegration, svixTask } from './shapes.js';

/** How long an app portal token lives unless `expiry` says otherwise, and at most: Svix's week. */
const DEFAULT_EXPIRY_SECONDS = 7 * 24 * 3600;
const MAX_EXPIRY_SECONDS = 365 * 24 * 3600;
/** Most tasks one page of the task list looks through, and how many it reads at a time. */
const TASKS_SCANNED = 5_000;
const TASK_BATCH = 250;

const portalIn = field.object({
  application: Type.Optional(Type.Union([field.object(schemas.applicationIn, 'item'), Type.Null()])),
  expiry: Type.Optional(Type.Union([field.integer(1, `seconds, at most ${MAX_EXPIRY_SECONDS}; a week by default`), Type.Null()])),
  featureFlags: Type.Optional(field.strings('ignored')),
  readOnly: Type.Optional(Type.Union([field.boolean('true: the token may only read'), Type.Null()])),
  sessionId: Type.Optional(Type.Union([field.text('ignored'), Type.Null()])),
  capabilities: Type.Optional(field.strings('ignored')),
});
const portalOut = Type.Object({ url: Type.String(), token: Type.String() });
const integrationParams = Type.Object({ app_id: field.text('the application: its id or uid'), integ_id: field.text('integ_…') });
const integrationIn = field.object({ name: field.text(), featureFlags: Type.Optional(field.strings()) });

/** Tokens for one application (app portal access, integrations), and the background tasks of delivery operations. */
export function authRoutes(deps: AppDeps, access: SvixAccess): Route[] {
  const { tokens, integrations, deliveries, egress } = deps;

  async function portalAccess(request: RouteRequest<{ params: typeof schemas.params.app; body: typeof portalIn }>) {
    const app = await access.application(request);
    demand(request.principal!, { subject: 'tokens', action: 'create' });
    const expiry = request.body.expiry ?? DEFAULT_EXPIRY_SECONDS;
    if (expiry > MAX_EXPIRY_SECONDS) fail('field_invalid', `expiry may be at most ${MAX_EXPIRY_SECONDS} seconds`);
    const acl = applicationAcl(app.logId, { readOnly: request.body.readOnly ?? false });
    const { bearer } = await tokens.create(request.principal!, `app portal ${svixIds.app(app.logId)}`, acl, {
      application: app.logId,
      expiresAt: Date.now() + expiry * 1000,
    });
    // The dashboard does not exist yet: the URL is the application in this API.
    const url = `${request.protocol}://${request.host}/api/v1/app/${svixIds.app(app.logId)}`;
    return { url, token: bearer };
  }

  const appIntegration = async (request: Parameters<SvixAccess['application']>[0], action: AclAction) => {
    const app = await access.application(request);
    demand(request.principal!, { subject: 'tokens', action });
    return app;
  };

  return [
    ...(['app-portal-access', 'dashboard-access'] as const).map((path) =>
      route({
        method: 'POST',
        url: `/auth/${path}/:app_id`,
        summary:
          path === 'app-portal-access'
            ? 'a token for this application only: it sees and changes its endpoints, messages and attempts, nothing else'
            : 'deprecated alias of app-portal-access',
        schema: { params: schemas.params.app, body: portalIn, response: portalOut },
        handler: portalAccess,
      }),
    ),
    route({
      method: 'POST',
      url: '/auth/app/:app_id/expire-all',
      summary: 'revoke every app portal token of the application, at once',
      schema: {
        params: schemas.params.app,
        body: field.object({
          expiry: Type.Optional(Type.Union([Type.Literal(0), Type.Null()], { description: 'only 0: tokens end now' })),
          sessionIds: Type.Optional(field.strings('ignored: all end')),
        }),
        status: 204,
      },
      handler: async (request) => {
        if (request.body.expiry !== 0) supportedOnlyNull(request.body, ['expiry']);
        const app = await access.application(request);
        demand(request.principal!, { subject: 'tokens', action: 'delete' });
        await tokens.expireApplication(app.logId);
      },
    }),
    route({
      method: 'POST',
      url: '/auth/logout',
      summary: 'revoke the app portal token this request is made with',
      schema: { status: 204 },
      handler: async (request) => {
        await tokens.logout(request.principal!);
      },
    }),
    route({
      method: 'GET',
      url: '/background-task',
      summary: 'the delivery tasks (recover, replay), newest first',
      schema: {
        querystring: Type.Object({
          limit: schemas.listQuery.limit,
          iterator: schemas.listQuery.iterator,
          status: Type.Optional(field.query('running, finished or failed')),
          task: Type.Optional(field.query('endpoint.replay or endpoint.recover')),
        }),
        response: schemas.list(schemas.task),
      },
      handler: async (request) => {
        const { query } = request;
        const limit = limitOf(query.limit);
        const readable = new Map<string, boolean>();
        const data = [];
        // Tasks of other applications, or not matching, are looked through up to a bound; the iterator goes on from the last one looked at.
        let below = query.iterator;
        let scanned = 0;
        for (;;) {
          if (data.length === limit || scanned >= TASKS_SCANNED) return newestFirst(data, below ?? null);
          const batch = await deliveries.listTasks({ belowId: below, limit: TASK_BATCH });
          for (const task of batch) {
            below = task.id;
            scanned++;
            const shown = svixTask(task);
            if (query.status !== undefined && shown.status !== query.status) continue;
            if (query.task !== undefined && shown.task !== query.task) continue;
            if (!readable.has(task.webhookId)) readable.set(task.webhookId, await mayRead(request.principal!.rules, task.webhookId));
            if (readable.get(task.webhookId)) data.push(shown);
            if (data.length === limit) break;
          }
          // Every task looked at, to the oldest.
          if (batch.length === 0 || (batch.length < TASK_BATCH && below === batch.at(-1)!.id)) return newestFirst(data, null);
        }
      },
    }),
    route({
      method: 'GET',
      url: '/background-task/:task_id',
      summary: 'a delivery task, with its progress',
      schema: { params: Type.Object({ task_id: field.text('tsk_…') }), response: schemas.task },
      handler: async (request) => {
        const task = await deliveries.task(request.params.task_id, () => true);
        if (!(await mayRead(request.principal!.rules, task.webhookId))) fail('task_not_found', `task '${request.params.task_id}' does not exist`);
        return svixTask(task);
      },
    }),
    route({
      method: 'GET',
      url: '/app/:app_id/integration',
      summary: "list an application's integrations",
      schema: { params: schemas.params.app, querystring: Type.Object(schemas.listQuery), response: schemas.list(schemas.integration) },
      handler: async (request) => {
        const app = await access.application(request);
        demand(request.principal!, { subject: 'tokens', action: 'list' });
        const query = pageQuery(request.query);
        return page(await integrations.list(app.logId, query), query, (one) => one.id, svixIntegration);
      },
    }),
    route({
      method: 'POST',
      url: '/app/:app_id/integration',
      summary: 'create an integration: a named key with the rights of this application only',
      schema: { params: schemas.params.app, body: integrationIn, response: schemas.integration, status: 201 },
      handler: async (request) => {
        const app = await access.application(request);
        demand(request.principal!, { subject: 'tokens', action: 'create' });
        return svixIntegration(
          await integrations.create(request.principal!, app.logId, { name: request.body.name, featureFlags: request.body.featureFlags ?? undefined }),
        );
      },
    }),
    route({
      method: 'GET',
      url: '/app/:app_id/integration/:integ_id',
      summary: 'get an integration',
      schema: { params: integrationParams, response: schemas.integration },
      handler: async (request) => svixIntegration(await integrations.get((await appIntegration(request, 'get')).logId, request.params.integ_id)),
    }),
    route({
      method: 'PUT',
      url: '/app/:app_id/integration/:integ_id',
      summary: 'rename an integration',
      schema: { params: integrationParams, body: integrationIn, response: schemas.integration },
      handler: async (request) =>
        svixIntegration(
          await integrations.update((await appIntegration(request, 'update')).logId, request.params.integ_id, {
            name: request.body.name,
            featureFlags: request.body.featureFlags ?? undefined,
          }),
        ),
    }),
    route({
      method: 'DELETE',
      url: '/app/:app_id/integration/:integ_id',
      summary: 'delete an integration; its key stops at once',
      schema: { params: integrationParams, status: 204 },
      handler: async (request) => {
        await integrations.delete((await appIntegration(request, 'delete')).logId, request.params.integ_id);
      },
    }),
    route({
      method: 'GET',
      url: '/app/:app_id/integration/:integ_id/key',
      summary: "an integration's key",
      schema: { params: integrationParams, response: Type.Object({ key: Type.String() }) },
      handler: async (request) => ({ key: await integrations.key(request.principal!, (await appIntegration(request, 'get')).logId, request.params.integ_id) }),
    }),
    route({
      method: 'POST',
      url: '/app/:app_id/integration/:integ_id/key/rotate',
      summary: 'a new key for an integration; the old one stops at once',
      schema: { params: integrationParams, response: Type.Object({ key: Type.String() }) },
      handler: async (request) => {
        const app = await appIntegration(request, 'create');
        return { key: (await integrations.rotateKey(request.principal!, app.logId, request.params.integ_id)).key };
      },
    }),
  ];

  /** Whether a token may see a task: the attempts of its endpoint. */
  async function mayRead(rules: Parameters<typeof allows>[0], webhookId: string): Promise<boolean> {
    let webhook: EgressWebhook;
    try {
      webhook = await egress.get(webhookId);
    } catch (err) {
      // A task outlives its deleted webhook for a while: nobody's to see.
      if (err instanceof HooklogError && err.errorName === 'egress_webhook_not_found') return false;
      throw err;
    }
    return allows(rules, { subject: 'egress_webhooks', action: 'attempts', objectId: webhookId, parentId: webhook.logId });
  }
}
