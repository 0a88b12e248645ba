import { github } from './github.js';
import { hmac } from './hmac.js';
import { klevKey, klevMessage, klevValue } from './klev.js';
import { linear } from './linear.js';
import { none } from './none.js';
import { paddle } from './paddle.js';
import { secretHeader } from './secret-header.js';
import { shopify } from './shopify.js';
import { slack } from './slack.js';
import { standardWebhooks } from './standard-webhooks.js';
import { stripe } from './stripe.js';
import type { Provider } from './verifier.js';

/**
 * Every ingress webhook type, the only list: the types the API accepts, the
 * CLI's help and the settings each needs all come from here. A new provider
 * is a file of its own and a line here.
 */
export const PROVIDERS: readonly Provider[] = [
  github,
  stripe,
  slack,
  shopify,
  standardWebhooks,
  klevMessage,
  klevKey,
  klevValue,
  paddle,
  linear,
  hmac,
  secretHeader,
  none,
];

// A Map, so that no name finds a member of Object.prototype (a type `constructor`).
const BY_NAME = new Map(PROVIDERS.flatMap((provider) => [provider.type, ...(provider.aliases ?? [])].map((name) => [name, provider] as const)));

/** The provider a type name (or an alias) stands for, or undefined when it names none. */
export function providerOf(name: string): Provider | undefined {
  return BY_NAME.get(name);
}

/** The types that use a setting, as help texts name them: `hmac and secret-header`. */
export function typesUsing(setting: 'header' | 'signatureOptions'): string {
  const names = PROVIDERS.filter((provider) => provider.needs[setting]).map((provider) => provider.type);
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : names.join('');
}

/** The type names, as error messages and help list them: `github, stripe, … (or gitHub, svix)`. */
export function typeNames(): string {
  return `${PROVIDERS.map((provider) => provider.type).join(', ')} (or ${PROVIDERS.flatMap((provider) => provider.aliases ?? []).join(', ')})`;
}
