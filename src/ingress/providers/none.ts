import type { Provider } from './verifier.js';

/** none: every request is accepted; it has to be chosen explicitly. */
export const none: Provider = {
  type: 'none',
  summary: 'no signature: anyone who knows the URL can append',
  needs: { secret: false, header: false },
  verify: () => ({ ok: true }),
};
