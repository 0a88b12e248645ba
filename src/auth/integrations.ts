import { applicationAcl, coverage, parseAclEntry } from '../domain/acl.js';
import { fail } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { Integration, PageQuery } from '../domain/types.js';
import type { IntegrationStore } from '../store/store.js';
import type { Principal } from './principal.js';
import type { Tokens } from './tokens.js';

const MAX_FEATURE_FLAGS = 100;

/**
 * Integrations: named keys a customer hands to a third party for one
 * application. A key is a token with the application's rights only; rotating
 * it revokes the old key at once.
 */
export class Integrations {
  constructor(
    private readonly store: IntegrationStore,
    private readonly tokens: Tokens,
  ) {}

  async create(by: Principal, logId: string, input: { name: string; featureFlags?: string[] }): Promise<Integration> {
    const { token, bearer } = this.tokens.issue(by, `integration ${input.name}`, applicationAcl(logId));
    const now = Date.now();
    const integration = { id: newId('integ'), logId, ...checked(input), tokenId: token.id, key: bearer, createdAt: now, updatedAt: now };
    await this.store.create(integration, token);
    return integration;
  }

  /** The integration `id` of the application of `logId`. */
  async get(logId: string, id: string): Promise<Integration> {
    const integration = await this.store.get(id);
    return integration?.logId === logId ? integration : notFound(id);
  }

  /** The integration's key, for `by` only if it holds every right the key has: reading it is handing it out. */
  async key(by: Principal, logId: string, id: string): Promise<string> {
    const integration = await this.get(logId, id);
    const lacking = coverage(by.rules)(applicationAcl(logId).map(parseAclEntry));
    if (lacking) fail('acl_insufficient', `the token may not read a key that may ${lacking}`);
    return integration.key;
  }

  list(logId: string, page: PageQuery): Promise<Integration[]> {
    return this.store.list(logId, page);
  }

  async update(logId: string, id: string, input: { name: string; featureFlags?: string[] }): Promise<Integration> {
    await this.get(logId, id);
    return (await this.store.update(id, { ...checked(input), nowMs: Date.now() })) ?? notFound(id);
  }

  async rotateKey(by: Principal, logId: string, id: string): Promise<Integration> {
    const integration = await this.get(logId, id);
    const { token, bearer } = this.tokens.issue(by, `integration ${integration.name}`, applicationAcl(logId));
    return (await this.store.rotate(id, token, bearer, Date.now())) ?? notFound(id);
  }

  async delete(logId: string, id: string): Promise<void> {
    await this.get(logId, id);
    if (!(await this.store.delete(id))) notFound(id);
  }
}

function checked(input: { name: string; featureFlags?: string[] }): { name: string; featureFlags: string[] } {
  if (input.name.length === 0 || input.name.length > 1024) fail('field_invalid', 'name must be 1 to 1024 characters');
  const featureFlags = input.featureFlags ?? [];
  if (featureFlags.length > MAX_FEATURE_FLAGS) fail('field_invalid', `featureFlags may hold at most ${MAX_FEATURE_FLAGS} names`);
  return { name: input.name, featureFlags };
}

function notFound(id: string): never {
  fail('integration_not_found', `integration '${id}' does not exist in this application`);
}
