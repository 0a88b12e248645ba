import type { TSchema } from 'typebox';
import type { RouteEntry } from './router.js';

/** What a dialect says of itself in its document. */
export interface ApiDescription {
  title: string;
  version: string;
  description: string;
  /** The dialect's error body. */
  error: TSchema;
}

/** Only JSON Schema reaches the document: hooklog's own annotations (x-hooklog) stay out. */
function plain(schema: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema, (key, value) => (key.startsWith('x-') ? undefined : value)));
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
        '200': { description: 'done', ...(schema.response && { content: { 'application/json': { schema: plain(schema.response) } } }) },
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
