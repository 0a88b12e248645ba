import { type AclRule, allows, describePermission, type Permission } from '../domain/acl.js';
import { fail } from '../domain/errors.js';

/** Who is making a request. `rules` null means full access. */
export interface Principal {
  tokenId: string | null;
  rules: AclRule[] | null;
}

/** Fails with acl_insufficient unless `by` may do `needed`. */
export function demand(by: Principal, needed: Permission): void {
  if (!allows(by.rules, needed)) fail('acl_insufficient', `the token may not ${describePermission(needed)}`);
}

/**
 * The right over a log that a call reaching it needs besides its own: an
 * egress webhook or a cursor offset reads the log (consume), an ingress
 * webhook writes to it (publish). Without it, a token allowed to create
 * webhooks could reach every log.
 */
export function onLog(action: 'consume' | 'publish', logId: string): Permission {
  return { subject: 'messages', action, objectId: logId };
}
