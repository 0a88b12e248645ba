import type { EgressSigning } from '../domain/types.js';
import { SIGNATURE_HEADER, signatureHeader } from '../protocols/klev/signature.js';
import { headerNames, secretKey, sign } from '../protocols/standard-webhooks/signature.js';
import { svixIds } from '../protocols/svix/ids.js';

/** What a request's signature covers and names. */
export interface Signed {
  /** Every secret valid now, the current one first: a receiver holding any of them accepts the request. */
  secrets: readonly string[];
  /** The message signed: its id, which receivers tell repeats by, comes from its log and offset. */
  message: { logId: string; offset: number };
  timestampSeconds: number;
  body: Buffer;
}

/** The signature headers of one request, in the destination's scheme. */
export function signatureHeaders(signing: EgressSigning, { secrets, message, timestampSeconds, body }: Signed): Record<string, string> {
  if (signing === 'klev') return { [SIGNATURE_HEADER]: signatureHeader(secrets, timestampSeconds, body) };
  // Svix's receivers get the message id the Svix API showed its sender (msg_…).
  const messageId = signing === 'svix' ? svixIds.message(message.logId, message.offset) : `${message.logId}_${message.offset}`;
  // Svix signs as Standard Webhooks does, under its own header names.
  const names = headerNames(signing === 'svix' ? 'svix' : 'webhook');
  // Secrets of these destinations are made as whsec_ keys; the raw text is a fallback that never throws.
  const signatures = secrets.map((secret) => sign(secretKey(secret) ?? Buffer.from(secret), messageId, timestampSeconds, body));
  return { [names.id]: messageId, [names.timestamp]: String(timestampSeconds), [names.signature]: signatures.join(' ') };
}
