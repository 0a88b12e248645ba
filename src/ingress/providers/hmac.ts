import { header, hmac as mac, macMatches, type Provider, reject, type Verifier } from './verifier.js';

/** hmac: a header holding `<prefix><hex or base64 HMAC(body)>`, all configured per webhook. */
const verify: Verifier = ({ body, headers, secret, options }) => {
  const signature = header(headers, options.header);
  if (!signature) return reject('missing_signature', `missing ${options.header} header`);
  if (!signature.startsWith(options.prefix)) return reject('malformed_signature', `${options.header} must start with '${options.prefix}'`);
  if (!macMatches(mac(options.algorithm, secret, body), signature.slice(options.prefix.length), options.encoding)) {
    return reject('bad_signature', `${options.header} does not match the body`);
  }
  return { ok: true };
};

export const hmac: Provider = {
  type: 'hmac',
  summary: 'any HMAC of the body in a header: set header, algorithm, encoding and prefix',
  needs: { secret: true, header: true, signatureOptions: true },
  verify,
};
