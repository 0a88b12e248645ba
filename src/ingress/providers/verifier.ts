import { createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { RejectReason, SignatureOptions } from '../../domain/types.js';

export { macMatches } from '../../domain/bytes.js';

export interface VerifyInput {
  /** The exact request body. */
  body: Buffer;
  /** Request headers, names lower-cased. */
  headers: IncomingHttpHeaders;
  secret: string;
  /** Unix seconds. */
  nowSeconds: number;
  options: SignatureOptions;
}

export type Verdict =
  | {
      ok: true;
      /** The provider's id for this delivery, used as the message key and for duplicate detection, and as the event id. */
      deliveryId?: string;
      /** The provider's name for the event (`push`, `orders/create`), kept as the message's event type. */
      eventType?: string;
      /** Answer with this instead of appending (a provider's handshake, such as Slack's url_verification). */
      respond?: { contentType: string; body: string };
    }
  | { ok: false; reason: Exclude<RejectReason, 'body_too_large'>; message: string };

/** One signature scheme: pure, given the raw request and the secret. */
export type Verifier = (input: VerifyInput) => Verdict;

/** An ingress webhook type: how its requests are verified and what its settings need. */
export interface Provider {
  /** The name users give as the webhook's type. */
  type: string;
  /** Other names users know it by; they round-trip as given. */
  aliases?: readonly string[];
  /** One line for the CLI's help. */
  summary: string;
  /** Whether its webhooks need a secret and the `header` setting, and whether they use `algorithm`, `encoding` and `prefix`. */
  needs: { secret: boolean; header: boolean; signatureOptions?: true };
  /** Why a secret cannot serve, when secrets of this type have a form. */
  checkSecret?: (secret: string) => string | undefined;
  /** The `header` setting holds the secret itself: never stored with a message. */
  secretInHeader?: boolean;
  verify: Verifier;
}

/** Providers' usual replay window, in seconds. */
export const TOLERANCE_SECONDS = 300;

export const reject = (reason: Exclude<RejectReason, 'body_too_large'>, message: string): Verdict => ({ ok: false, reason, message });

/**
 * The first value of a header, or undefined. Own properties only: the headers
 * object inherits from Object.prototype, so a configured name such as
 * `constructor` would otherwise find a function.
 */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const key = name.toLowerCase();
  const value = Object.hasOwn(headers, key) ? headers[key] : undefined;
  return Array.isArray(value) ? value[0] : value;
}

/** `name=value` pairs of a signature header such as `t=…,v1=…`; a value may itself contain `=`. */
export function pairsOf(header: string, separator: string): Array<[name: string, value: string]> {
  return header.split(separator).map((part) => {
    const at = part.indexOf('=');
    return at < 0 ? [part.trim(), ''] : [part.slice(0, at).trim(), part.slice(at + 1).trim()];
  });
}

export function hmac(algorithm: string, key: string | Buffer, ...parts: Array<string | Buffer>): Buffer {
  const mac = createHmac(algorithm, key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/** Whether `timestamp`, all digits, is within `tolerance` of `now`; all three in one unit, seconds unless said. */
export function fresh(timestamp: string, now: number, tolerance = TOLERANCE_SECONDS): boolean {
  return /^\d+$/.test(timestamp) && Math.abs(now - Number(timestamp)) <= tolerance;
}

type JsonObject = Record<string, unknown>;

/** The body as a JSON object, or undefined when it is not one. Parse once, then read its fields with `valueIn` and `textIn`. */
export function jsonObject(body: Buffer): JsonObject | undefined {
  try {
    return asObject(JSON.parse(body.toString('utf8')));
  } catch {
    return undefined;
  }
}

const asObject = (value: unknown): JsonObject | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;

/** An own field of a JSON object (never one of Object.prototype), or undefined. */
export function valueIn(object: JsonObject | undefined, field: string): unknown {
  return object && Object.hasOwn(object, field) ? object[field] : undefined;
}

/** A string field of a JSON object, or undefined. */
export function textIn(object: JsonObject | undefined, field: string): string | undefined {
  const value = valueIn(object, field);
  return typeof value === 'string' ? value : undefined;
}

/** A JSON object field of a JSON object, or undefined. */
export function objectIn(object: JsonObject | undefined, field: string): JsonObject | undefined {
  return asObject(valueIn(object, field));
}
