import type { EgressSigning } from '../domain/types.js';
import { SIGNATURE_HEADER, signatureHeader } from '../protocols/klev/signature.js';
import { headerNames, secretKey, sign } from '../protocols/standard-webhooks/signature.js';

/** What a request's signature covers and names. */
export interface Signed {
  /** Every secret valid now, the current one first: a receiver holding any of them accepts the request. */
  secrets: readonly string[];
  /** Stays the same when the message is sent again, so that receivers can tell repeats. */
  messageId: string;
  timestampSeconds: number;
  body: Buffer;
}

/** The signature headers of one request, in the destination's scheme. */
export function signatureHeaders(signing: EgressSigning, { secrets, messageId, timestampSeconds, body }: Signed): Record<string, string> {
  if (signing === 'klev') return { [SIGNATURE_HEADER]: signatureHeader(secrets, timestampSeconds, body) };
  const names = headerNames('webhook');
  // Secrets of these destinations are made as whsec_ keys; the raw text is a fallback that never throws.
  const signatures = secrets.map((secret) => sign(secretKey(secret) ?? Buffer.from(secret), messageId, timestampSeconds, body));
  return { [names.id]: messageId, [names.timestamp]: String(timestampSeconds), [names.signature]: signatures.join(' ') };
}
