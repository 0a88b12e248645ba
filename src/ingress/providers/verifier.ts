import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { RejectReason, SignatureOptions } from '../../domain/types.js';

export interface VerifyInput {
  /** The exact request body. */
  body: Buffer;
  /** Request headers, names lower-cased. */
  headers: IncomingHttpHeaders;
  secret: string;
  /** Unix seconds. */
  now: number;
  options: SignatureOptions;
}

export type Verdict =
  | {
      ok: true;
      /** The provider's id for this delivery, used as the message key and for duplicate detection. */
      deliveryId?: string;
      /** Answer with this instead of appending (a provider's handshake, such as Slack's url_verification). */
      respond?: { contentType: string; body: string };
    }
  | { ok: false; reason: Exclude<RejectReason, 'body_too_large'>; message: string };

/** One signature scheme: pure, given the raw request and the secret. */
export type Verifier = (input: VerifyInput) => Verdict;

/** Providers' usual replay window, in seconds. */
export const TOLERANCE_SECONDS = 300;

export const reject = (reason: Exclude<RejectReason, 'body_too_large'>, message: string): Verdict => ({ ok: false, reason, message });

/** The first value of a header, or undefined. */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
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

/** Constant-time comparison of a computed MAC with a given one in some text encoding. */
export function matches(expected: Buffer, given: string, encoding: 'hex' | 'base64'): boolean {
  const decoded = Buffer.from(given, encoding);
  return decoded.length === expected.length && timingSafeEqual(decoded, expected);
}

export function fresh(timestamp: string, now: number, tolerance = TOLERANCE_SECONDS): boolean {
  return /^\d+$/.test(timestamp) && Math.abs(now - Number(timestamp)) <= tolerance;
}

/** A string field at the top of a JSON body, or undefined when the body is not such JSON. */
export function jsonField(body: Buffer, field: string): string | undefined {
  try {
    const value = (JSON.parse(body.toString('utf8')) as Record<string, unknown>)[field];
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}
