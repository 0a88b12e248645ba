import type { FastifyInstance } from 'fastify';
import { type TSchema, Type } from 'typebox';
import { type Route, type RouteEntry, route } from './router.js';

const STATUS_DESCRIPTIONS = { 200: 'done', 201: 'created', 202: 'accepted: the work goes on after the answer', 204: 'done, with no body' };

/** What a dialect says of itself in its document. */
export interface ApiDescription {
  title: string;
  version: string;
  description: string;
  /** The dialect's error body. */
  error: TSchema;
}

/** Only JSON Schema reaches the document: hooklog's own annotations (x-hooklog) stay out, while a field of that name would not. */
function plain(schema: unknown): Record<string, unknown> {
  const strip = (value: unknown, isFieldMap: boolean): unknown => {
    if (Array.isArray(value)) return value.map((item) => strip(item, false));
    if (typeof value !== 'object' || value === null) return value;
    const entries = Object.entries(value).filter(([key]) => isFieldMap || !key.startsWith('x-'));
    return Object.fromEntries(entries.map(([key, item]) => [key, strip(item, !isFieldMap && (key === 'properties' || key === 'patternProperties'))]));
  };
  return strip(schema, false) as Record<string, unknown>;
}

function parameters(where: 'path' | 'query', schema: TSchema | undefined) {
  const object = schema as { properties?: Record<string, TSchema & { description?: string }>; required?: string[] } | undefined;
  return Object.entries(object?.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || (object?.required ?? []).includes(name),
    ...(property.description && { description: property.description }),
    schema: plain(property),
  }));
}

/**
 * The OpenAPI 3.1 document of a dialect's routes, generated from the schemas
 * the routes declare, so that it never differs from what the server checks.
 */
export function openApiDocument(entries: readonly RouteEntry[], api: ApiDescription) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const entry of entries) {
    const path = entry.url.replace(/:([A-Za-z_]+)/g, '{$1}');
    const { schema } = entry;
    const body = schema.body
      ? { requestBody: { required: false, content: { 'application/json': { schema: plain(schema.body) } } } }
      : schema.rawBody
        ? { requestBody: { required: false, description: schema.rawBody, content: { '*/*': { schema: { type: 'string', format: 'binary' } } } } }
        : {};
    (paths[path] ??= {})[entry.method.toLowerCase()] = {
      operationId: `${entry.method.toLowerCase()}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_, next: string | undefined) => (next ?? '').toUpperCase())}`,
      summary: entry.summary,
      parameters: [...parameters('path', schema.params), ...parameters('query', schema.querystring)],
      ...body,
      responses: {
        [schema.status ?? 200]: {
          description: STATUS_DESCRIPTIONS[schema.status ?? 200],
          ...(schema.response && { content: { 'application/json': { schema: plain(schema.response) } } }),
        },
        default: { description: 'an error, in the error body', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
      security: entry.authenticated ? [{ bearer: [] }] : [],
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: api.title, version: api.version, description: api.description },
    paths,
    components: {
      schemas: { Error: plain(api.error) },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'a token: `<token id without tok_>_<secret>`' } },
    },
  };
}

/**
 * The route serving a dialect's document, `GET <prefix>/openapi.json`, public.
 * It is built on first request, when every route of the dialect is registered.
 */
export function documentRoute(app: FastifyInstance, dialect: string, api: ApiDescription): Route {
  let document: ReturnType<typeof openApiDocument> | undefined;
  return route({
    method: 'GET',
    url: '/openapi.json',
    summary: 'this document',
    schema: { response: Type.Object({ openapi: Type.String(), info: Type.Object({}), paths: Type.Object({}), components: Type.Object({}) }) },
    public: true,
    handler: async () => {
      document ??= openApiDocument(
        app.routeTable.filter((entry) => entry.dialect === dialect),
        api,
      );
      return document;
    },
  });
}
