import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import type { Static, TSchema } from 'typebox';
import type { Tokens } from '../auth/tokens.js';
import type { Permission } from '../domain/acl.js';
import { fail } from '../domain/errors.js';
import { AUTHORIZE, authorizer } from './auth.js';

/** What a route takes and answers, declared once: Ajv checks requests by it, and the OpenAPI document shows it. */
export interface RouteSchema {
  params?: TSchema;
  querystring?: TSchema;
  body?: TSchema;
  /** The 2xx answer, for the document; answers are sent as they are, not filtered by it. */
  response?: TSchema;
  /** The answer's status when it is not 200: 201 for an object created, 202 for work that goes on after the answer, 204 for no body. */
  status?: 201 | 202 | 204;
  /** The body is taken as raw bytes of any content type (a public webhook URL): documented, never parsed as JSON. */
  rawBody?: string;
}

type StaticOr<T, Otherwise> = T extends TSchema ? Static<T> : Otherwise;

/** A request typed by its route's schema. */
export type RouteRequest<S extends RouteSchema> = FastifyRequest<{
  Params: StaticOr<S['params'], Record<string, never>>;
  Querystring: StaticOr<S['querystring'], Record<string, never>>;
  Body: StaticOr<S['body'], undefined>;
}>;

export interface RouteDefinition<S extends RouteSchema> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  /** One line for the OpenAPI document. */
  summary: string;
  schema: S;
  /** What the token must be allowed to do, from the path and query; omitted: any valid token. */
  permissions?: (request: RouteRequest<S>) => Permission[];
  /** No token at all: a public URL, authenticated otherwise (a provider's signature) or not at all. */
  public?: true;
  /** What a 405 on this URL adds to "use POST": why the path is there, for someone who opened it by hand. */
  notAllowedHint?: string;
  /** Served while the server shuts down, when every other route answers shutting_down: the health checks. */
  whileClosing?: true;
  handler: (request: RouteRequest<S>, reply: FastifyReply) => Promise<unknown>;
}

export type Route = RouteDefinition<RouteSchema>;

/** A route definition, its handler typed from its schema. */
export function route<S extends RouteSchema>(definition: RouteDefinition<S>): Route {
  return definition as unknown as Route;
}

/** A registered route, as the OpenAPI document and the tests see it. */
export interface RouteEntry {
  method: Route['method'];
  /** With the dialect's prefix, in Fastify's form: `/log/:log_id`. */
  url: string;
  summary: string;
  schema: RouteSchema;
  authenticated: boolean;
  /** The API the route belongs to, whose document shows it. */
  dialect: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route of every dialect, in registration order. */
    routeTable: RouteEntry[];
  }
}

const ALL_METHODS: HTTPMethods[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** Set on the config of the routes that answer while the server shuts down. */
export const WHILE_CLOSING = 'hooklogWhileClosing';

/** Set on the config of every route registerRoutes makes, and only on those. */
const REGISTERED = 'hooklogRegistered';

/**
 * Refuses, at start-up, any route not made by registerRoutes: such a route
 * would have no token check, no schema and no place in the route table, so
 * the API document would silently leave it out.
 */
export function requireRegisteredRoutes(app: FastifyInstance): void {
  app.addHook('onRoute', (options) => {
    if ((options.config as Record<string, unknown> | undefined)?.[REGISTERED] !== true) {
      throw new Error(`${String(options.method)} ${options.url} was registered outside registerRoutes`);
    }
  });
}

/**
 * Registers a dialect's routes: each behind authentication and its ACL check
 * (unless public), its request checked by its schema, and entered in the
 * route table. Methods a path does not serve answer 405 rather than 404.
 */
export function registerRoutes(app: FastifyInstance, { dialect, tokens }: { dialect: string; tokens?: Tokens }, routes: Route[]): void {
  const methodsByUrl = new Map<string, Set<string>>();
  const hints = new Map<string, string>();
  for (const { method, url, summary, schema, permissions, handler, public: open, notAllowedHint, whileClosing } of routes) {
    methodsByUrl.set(url, (methodsByUrl.get(url) ?? new Set()).add(method));
    if (notAllowedHint) hints.set(url, notAllowedHint);
    if (!open && !tokens) throw new Error(`${method} ${url} needs a token check, and ${dialect} gave none`);
    const { params, querystring, body } = schema;
    const authorize = open ? undefined : authorizer(tokens!, permissions as ((request: FastifyRequest) => Permission[]) | undefined);
    app.route({
      method,
      url,
      config: { [REGISTERED]: true, ...(authorize && { [AUTHORIZE]: authorize }), ...(whileClosing && { [WHILE_CLOSING]: true }) },
      schema: { ...(params && { params }), ...(querystring && { querystring }), ...(body && { body }) },
      ...(authorize && { onRequest: authorize }),
      // A request without a body is an empty object: every body field of every route may be left out.
      ...(body && { preValidation: absentBodyIsEmpty }),
      handler: (schema.status === undefined
        ? handler
        : (request: RouteRequest<RouteSchema>, reply: FastifyReply) => handler(request, reply.code(schema.status!))) as (
        request: FastifyRequest,
        reply: FastifyReply,
      ) => Promise<unknown>,
    });
    app.routeTable.push({ method, url: `${app.prefix}${url}`, summary, schema, authenticated: !open, dialect });
  }
  for (const [url, served] of methodsByUrl) {
    const others = ALL_METHODS.filter((method) => !served.has(method));
    const allow = [...served].join(', ');
    const hint = hints.has(url) ? `: ${hints.get(url)}` : '';
    app.route({
      method: others,
      url,
      config: { [REGISTERED]: true },
      handler: async (request, reply) => {
        // RFC 9110 asks a 405 to list the methods the resource serves.
        reply.header('allow', allow);
        return fail('method_not_allowed', `${request.method} is not allowed on '${app.prefix}${url}'; use ${allow}${hint}`);
      },
    });
  }
}

function absentBodyIsEmpty(request: FastifyRequest, _reply: FastifyReply, done: () => void): void {
  if (request.body === undefined) request.body = {};
  done();
}

/** Whether `url` is `prefix` or below it (a path or a query follows); a prefix that ends with a slash covers what starts with it. */
export function under(prefix: string, url: string | undefined): boolean {
  if (url === undefined || !url.startsWith(prefix)) return false;
  const next = url[prefix.length];
  return prefix.endsWith('/') || next === undefined || next === '/' || next === '?';
}
