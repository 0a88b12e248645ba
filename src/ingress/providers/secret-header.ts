import { hash, timingSafeEqual } from 'node:crypto';
import { header, type Provider, reject, type Verifier } from './verifier.js';

/**
 * secret-header: a header whose value is the secret itself (Telegram, Kaiman
 * channels). Both sides are hashed first so the comparison takes the same time
 * whatever their lengths.
 */
const verify: Verifier = ({ headers, secret, options }) => {
  const given = header(headers, options.header);
  if (given === undefined) return reject('missing_signature', `missing ${options.header} header`);
  const digest = (text: string) => hash('sha256', text, 'buffer');
  if (!timingSafeEqual(digest(given), digest(secret))) return reject('bad_signature', `${options.header} does not hold the secret`);
  return { ok: true };
};

export const secretHeader: Provider = {
  type: 'secret-header',
  summary: 'a header holding the secret itself (Telegram, Kaiman channels): set header',
  needs: { secret: true, header: true },
  secretInHeader: true,
  verify,
};
