import { compileErrors, validate } from '@readme/openapi-parser';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/http/app.js';
import { errorHandler } from '../src/http/errors.js';
import { registerRoutes, route } from '../src/http/router.js';
import { klevErrorBody } from '../src/protocols/klev/errors.js';
import { startTestServer, type TestServer } from './helpers/server.js';

describe('GET /openapi.json', () => {
  let s: TestServer;
  let document: any;
  beforeAll(async () => {
    s = await startTestServer();
    const res = await s.request('GET', '/openapi.json', { token: null });
    expect(res.status).toBe(200);
    document = res.body;
  });
  afterAll(() => s.close());

  it('is a valid OpenAPI 3.1 document, served without a token', async () => {
    expect(document.openapi).toBe('3.1.0');
    // The validator dereferences in place: give it a copy.
    const result = await validate(structuredClone(document));
    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
  });

  it('lists every klev route the server registers, and no other', () => {
    const documented = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path.replace(/\{([a-z_]+)\}/g, ':$1')}`),
    );
    const klev = s.server.app!.routeTable.filter((entry) => entry.dialect === 'klev').map((entry) => `${entry.method} ${entry.url}`);
    expect(klev.length).toBeGreaterThan(30);
    expect(documented.sort()).toEqual(klev.sort());
  });

  it.each([
    { dialect: 'svix', path: '/api/v1/openapi.json', route: 'POST /api/v1/app/:app_id/msg' },
    { dialect: 'events', path: '/api/events/openapi.json', route: 'POST /api/events/bulk/replay' },
  ])('serves the $dialect dialect its own valid document, at $path, listing its routes only', async ({ dialect, path, route }) => {
    const res = await s.request('GET', path, { token: null });
    expect(res.status).toBe(200);
    const result = await validate(structuredClone(res.body));
    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
    const documented = Object.entries(res.body.paths as Record<string, Record<string, unknown>>).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path.replace(/\{([a-z_]+)\}/gi, ':$1')}`),
    );
    const routes = s.server.app!.routeTable.filter((entry) => entry.dialect === dialect).map((entry) => `${entry.method} ${entry.url}`);
    expect(routes).toContain(route);
    expect(documented.sort()).toEqual(routes.sort());
  });

  it('cannot miss a route: one registered around the route table stops the server from starting', async () => {
    const app = buildApp(
      { isClosing: () => false },
      { maxBodyBytes: 1024, requestTimeoutMs: 1000, keepAliveTimeoutMs: 1000, logger: pino({ level: 'silent' }), errorsFor: () => ({ body: klevErrorBody }) },
    );
    // The sanctioned way works,
    registerRoutes(app, { dialect: 'test' }, [
      route({ method: 'GET', url: '/listed', summary: 'listed', schema: {}, public: true, handler: async () => ({}) }),
    ]);
    expect(app.routeTable.map((entry) => entry.url)).toEqual(['/listed']);
    // and a route added with Fastify's own methods, here or in a plugin, is refused.
    expect(() => app.get('/hidden', async () => ({}))).toThrow('GET /hidden was registered outside registerRoutes');
    app.register(async (child) => {
      child.post('/hidden-too', async () => ({}));
    });
    await expect(app.ready()).rejects.toThrow('POST /hidden-too was registered outside registerRoutes');
  });

  it('fails closed when a route without a token check asks to check its token again', async () => {
    const app = buildApp(
      { isClosing: () => false },
      { maxBodyBytes: 1024, requestTimeoutMs: 1000, keepAliveTimeoutMs: 1000, logger: pino({ level: 'silent' }), errorsFor: () => ({ body: klevErrorBody }) },
    );
    app.register(async (dialect) => {
      dialect.setErrorHandler(errorHandler({ body: klevErrorBody }));
      registerRoutes(dialect, { dialect: 'test' }, [
        route({
          method: 'GET',
          url: '/open',
          summary: 'public',
          schema: {},
          public: true,
          handler: async (request) => {
            await request.reauthorize();
            return { reached: true };
          },
        }),
      ]);
    });
    const res = await app.inject({ method: 'GET', url: '/open' });
    expect(res.statusCode).toBe(500);
    expect(res.json()).not.toHaveProperty('reached');
    await app.close();
  });

  it('shows the schemas the server checks, without hooklog’s own annotations', async () => {
    const publish = document.paths['/messages/{log_id}'].post;
    const body = publish.requestBody.content['application/json'].schema;
    expect(body.additionalProperties).toBe(false);
    expect(body.required).toEqual(['messages']);
    expect(body.properties.messages.maxItems).toBe(10_000);
    expect(publish.parameters).toEqual([expect.objectContaining({ name: 'log_id', in: 'path', required: true })]);
    expect(JSON.stringify(document)).not.toContain('x-hooklog');
    // What the document says is required, the server requires.
    const log = (await s.request('POST', '/logs', { body: {} })).body.log_id;
    const res = await s.request('POST', `/messages/${log}`, { body: {} });
    expect(res.status).toBe(400);
    expect(res.body.details).toBe('messages must be an array');
  });

  it('marks which operations need a bearer token', () => {
    expect(document.paths['/logs'].get.security).toEqual([{ bearer: [] }]);
    expect(document.paths['/ingress/{webhook_id}'].post.security).toEqual([]);
    expect(document.paths['/openapi.json'].get.security).toEqual([]);
    expect(document.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });
});
