import { Type } from 'typebox';
import { allows } from '../../../domain/acl.js';
import { fail } from '../../../domain/errors.js';
import { svixIds } from '../../../protocols/svix/ids.js';
import type { AppDeps } from '../../deps.js';
import { type Route, route } from '../../router.js';
import { field } from '../../schema.js';
import type { SvixAccess } from './access.js';
import { page, pageQuery, supportedOnlyNull } from './paging.js';
import * as schemas from './schemas.js';
import { svixApplication } from './shapes.js';

const applicationIn = field.object(schemas.applicationIn);

/** Applications: logs with a name, a uid and labels. */
export function applicationRoutes({ applications }: AppDeps, access: SvixAccess): Route[] {
  return [
    route({
      method: 'GET',
      url: '/app',
      summary: 'list applications',
      schema: {
        querystring: Type.Object({
          ...schemas.listQuery,
          exclude_apps_with_no_endpoints: Type.Optional(field.query('not supported: ignored')),
          exclude_apps_with_disabled_endpoints: Type.Optional(field.query('not supported: ignored')),
        }),
        response: schemas.list(schemas.application),
      },
      handler: async (request) => {
        const query = pageQuery(request.query, svixIds.logOf);
        return page(await applications.list(request.principal!.rules, query), query, (app) => svixIds.app(app.logId), svixApplication);
      },
    }),
    route({
      method: 'POST',
      url: '/app',
      summary: 'create an application (and its log); get_if_exists=true answers the one with this uid instead',
      schema: {
        querystring: Type.Object({ get_if_exists: Type.Optional(field.query('true: answer the application with this uid if there is one (200)')) }),
        body: applicationIn,
        response: schemas.application,
        status: 201,
      },
      permissions: () => [{ subject: 'logs', action: 'create' }],
      handler: async (request, reply) => {
        supportedOnlyNull(request.body, ['throttleRate']);
        if (request.query.get_if_exists === 'true') {
          const { application, created } = await applications.getOrCreate(request.body);
          if (!created) {
            // One the token may not see is not shown, nor named: to it, the uid is just taken.
            const rules = request.principal!.rules;
            if (!allows(rules, { subject: 'logs', action: 'get', objectId: application.logId })) fail('uid_taken', 'another application has this uid');
            reply.code(200);
          }
          return svixApplication(application);
        }
        return svixApplication(await applications.create(request.body));
      },
    }),
    route({
      method: 'GET',
      url: '/app/:app_id',
      summary: 'get an application',
      schema: { params: schemas.params.app, response: schemas.application },
      handler: async (request) => svixApplication(await access.application(request)),
    }),
    route({
      method: 'PUT',
      url: '/app/:app_id',
      summary: 'replace an application; a uid that names none is created (201) with that uid',
      schema: { params: schemas.params.app, body: applicationIn, response: schemas.application },
      handler: async (request, reply) => {
        supportedOnlyNull(request.body, ['throttleRate']);
        const { app, created } = await access.applicationOrNew(request, request.body, 'update');
        if (created) {
          reply.code(201);
          return svixApplication(app);
        }
        // Addressed by its uid, an application keeps it unless the body names another.
        const uid = request.body.uid ?? (svixIds.logOf(request.params.app_id) ? null : request.params.app_id);
        return svixApplication(await applications.replace(app.logId, { ...request.body, uid }));
      },
    }),
    route({
      method: 'PATCH',
      url: '/app/:app_id',
      summary: 'change some fields of an application',
      schema: {
        params: schemas.params.app,
        body: field.object({ ...schemas.applicationIn, name: Type.Optional(field.text()) }),
        response: schemas.application,
      },
      handler: async (request) => {
        supportedOnlyNull(request.body, ['throttleRate']);
        const app = await access.application(request, 'update');
        return svixApplication(await applications.update(app.logId, request.body));
      },
    }),
    route({
      method: 'DELETE',
      url: '/app/:app_id',
      summary: 'delete an application with its log, endpoints and tokens',
      schema: { params: schemas.params.app, status: 204 },
      handler: async (request) => {
        const app = await access.application(request, 'delete');
        await applications.delete(app.logId);
      },
    }),
  ];
}
