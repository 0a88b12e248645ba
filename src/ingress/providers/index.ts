import { INGRESS_TYPE_ALIASES, INGRESS_TYPES, type IngressType } from '../../domain/types.js';
import { genericHmac, none, secretHeader } from './generic.js';
import { github } from './github.js';
import { klev } from './klev.js';
import { linear } from './linear.js';
import { paddle } from './paddle.js';
import { shopify } from './shopify.js';
import { slack } from './slack.js';
import { standardWebhooks } from './standard-webhooks.js';
import { stripe } from './stripe.js';
import type { Verifier } from './verifier.js';

export const verifiers: Record<IngressType, Verifier> = {
  github,
  stripe,
  slack,
  shopify,
  'standard-webhooks': standardWebhooks,
  'klev-message': klev,
  'klev-key': klev,
  'klev-value': klev,
  paddle,
  linear,
  hmac: genericHmac,
  'secret-header': secretHeader,
  none,
};

/** The canonical type for a name a user gave, or undefined when it is not one. */
export function ingressType(name: string): IngressType | undefined {
  return INGRESS_TYPE_ALIASES[name] ?? (INGRESS_TYPES as readonly string[]).find((type) => type === name) as IngressType | undefined;
}
