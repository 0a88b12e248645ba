import { createHash, timingSafeEqual } from 'node:crypto';
import { type Verifier, header, hmac, matches, reject } from './verifier.js';

/** hmac: a header holding `<prefix><hex or base64 HMAC(body)>`, all configured per webhook. */
export const genericHmac: Verifier = ({ body, headers, secret, options }) => {
  const signature = header(headers, options.header);
  if (!signature) return reject('missing_signature', `missing ${options.header} header`);
  if (!signature.startsWith(options.prefix)) return reject('malformed_signature', `${options.header} must start with '${options.prefix}'`);
  if (!matches(hmac(options.algorithm, secret, body), signature.slice(options.prefix.length), options.encoding)) {
    return reject('bad_signature', `${options.header} does not match the body`);
  }
  return { ok: true };
};

/**
 * secret-header: a header whose value is the secret itself (Telegram, Kaiman
 * channels). Both sides are hashed first so the comparison takes the same time
 * whatever their lengths.
 */
export const secretHeader: Verifier = ({ headers, secret, options }) => {
  const given = header(headers, options.header);
  if (given === undefined) return reject('missing_signature', `missing ${options.header} header`);
  const digest = (text: string) => createHash('sha256').update(text).digest();
  if (!timingSafeEqual(digest(given), digest(secret))) return reject('bad_signature', `${options.header} does not hold the secret`);
  return { ok: true };
};

/** none: every request is accepted; it has to be chosen explicitly. */
export const none: Verifier = () => ({ ok: true });
