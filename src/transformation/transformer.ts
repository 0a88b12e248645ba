import { fail, HooklogError } from '../domain/errors.js';
import type { DeliveryRequest } from '../domain/types.js';
import { customHeaders } from '../egress/custom-headers.js';
import { checkDeliveryUrl } from '../egress/egress-webhooks.js';
import type { Sandbox, SandboxFailure } from './sandbox.js';

export type Transformed =
  | { request: DeliveryRequest }
  | { cancelled: true }
  /** Nothing may be sent: `error` says why, for the attempt record. */
  | { error: string; kind: SandboxFailure['kind'] | 'invalid' };

/** Methods a transformation may send with: those that carry a body. */
const METHODS = new Set(['POST', 'PUT', 'PATCH']);

/**
 * Applies a destination's transformation to one request: the handler sees
 * the method, URL, headers, payload and event type, and what it gives back
 * is checked as strictly as the destination's own settings before anything
 * is sent.
 */
export class Transformer {
  constructor(private readonly sandbox: Sandbox) {}

  /** `key` (the destination) lets runs of the same code share a realm; see Sandbox.run. */
  async apply(code: string, request: DeliveryRequest, eventType: string | null, key?: string): Promise<Transformed> {
    const { method, url, headers, body } = request;
    const result = await this.sandbox.run(code, { meta: JSON.stringify({ method, url, headers, eventType }), body }, key);
    if ('cancel' in result) return { cancelled: true };
    if ('error' in result) return result;
    try {
      // What the handler left as it was passed its checks already, as the destination's settings.
      const sent = sameHeaders(result.headers, headers) ? headers : customHeaders(Object.fromEntries(result.headers), { withDefaults: true });
      return {
        request: {
          method: result.method === method ? method : checkMethod(result.method),
          url: result.url === url ? url : checkUrl(result.url),
          headers: result.json ? asJson(sent, headers) : sent,
          body: result.body,
        },
      };
    } catch (err) {
      if (err instanceof HooklogError) return { error: err.details, kind: 'invalid' };
      throw err;
    }
  }

  /**
   * Why `code` cannot run, when it does not compile, throws as it loads or
   * has no handler. Fails with sandbox_unavailable when the sandbox could
   * not try it: that is no fault of the code.
   */
  async check(code: string): Promise<string | undefined> {
    const failure = await this.sandbox.load(code);
    if (failure?.kind === 'unavailable') fail('sandbox_unavailable', failure.error);
    return failure?.error;
  }
}

/**
 * The headers of a body the handler gave as JSON: labelled so, unless the
 * handler set its own content type. A payload reshaped from raw bytes (a
 * klev `value`) would otherwise go out as application/octet-stream.
 */
function asJson(sent: Record<string, string>, before: Record<string, string>): Record<string, string> {
  const type = sent['content-type'];
  if (type !== before['content-type'] || (type !== undefined && /\bjson\b/i.test(type))) return sent;
  return Object.assign(Object.create(null), sent, { 'content-type': 'application/json' });
}

function sameHeaders(given: Array<[string, string]>, headers: Record<string, string>): boolean {
  const names = Object.keys(headers);
  return given.length === names.length && given.every(([name, value]) => Object.hasOwn(headers, name) && headers[name] === value);
}

function checkMethod(method: unknown): string {
  const upper = typeof method === 'string' ? method.toUpperCase() : '';
  if (!METHODS.has(upper)) invalid(`webhook.method must be POST, PUT or PATCH, not ${JSON.stringify(method) ?? 'undefined'}`);
  return upper;
}

/** The same rules as a destination's URL; the outbound client refuses private addresses as it connects. */
function checkUrl(url: unknown): string {
  if (typeof url !== 'string') invalid('webhook.url must be a string');
  checkDeliveryUrl(url, 'webhook.url');
  return url;
}

function invalid(details: string): never {
  throw new HooklogError('field_invalid', details);
}
