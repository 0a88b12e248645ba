import { hash, timingSafeEqual } from 'node:crypto';
import { coverage, parseAclEntry, validateAcl } from '../domain/acl.js';
import { fail } from '../domain/errors.js';
import { isKsuid, newId, randomBase62 } from '../domain/ids.js';
import type { Token } from '../domain/types.js';
import type { TokenStore } from '../store/store.js';
import type { Principal } from './principal.js';

const SECRET_LENGTH = 32;

/** What a token is limited to besides its ACL: the application it was made for, and when it expires (ms). */
export interface TokenScope {
  application?: string;
  expiresAt?: number;
}

/**
 * Tokens. A bearer is `<token id without tok_>_<secret>`. Only a SHA-256 of
 * the secret is stored: the secret is 190 random bits, so a fast hash is
 * enough and a slow one would only cost every request time.
 */
export class Tokens {
  private readonly adminDigest: Buffer | null;

  constructor(
    private readonly tokens: TokenStore,
    adminToken: string,
  ) {
    this.adminDigest = adminToken ? sha256(adminToken) : null;
  }

  /**
   * Creates a token for `by`; the bearer is returned here and never again. A
   * token may only hand out rights it holds itself, so a full-access token
   * (empty ACL) can only be made by a full-access principal.
   */
  async create(by: Principal, metadata: string, acl: string[], scope: TokenScope = {}): Promise<{ token: Token; bearer: string }> {
    const made = this.issue(by, metadata, acl, scope);
    await this.tokens.create(made.token);
    return made;
  }

  /** A token as create makes it, checked but not stored: for a caller that stores it along with something else. */
  issue(by: Principal, metadata: string, acl: string[], scope: TokenScope = {}): { token: Token; bearer: string } {
    const lacking = coverage(by.rules)(validateAcl(acl).map(parseAclEntry));
    if (lacking) fail('acl_insufficient', `the token may not hand out ${lacking}: a token may only create tokens whose rights are a subset of its own`);
    const made = mint(metadata, acl);
    if (scope.application !== undefined) made.token.application = scope.application;
    if (scope.expiresAt !== undefined) made.token.expiresAt = scope.expiresAt;
    return made;
  }

  /** Revokes every token made for one application (its app portal sessions); returns how many. */
  expireApplication(logId: string): Promise<number> {
    return this.tokens.deleteForApplication(logId);
  }

  /** Revokes the token `by` authenticated with, which must be one made for an application. */
  async logout(by: Principal): Promise<void> {
    const token = by.tokenId === null ? undefined : await this.tokens.get(by.tokenId);
    if (token?.application === undefined) fail('acl_insufficient', 'only a token made for one application (app portal access) can log out');
    await this.tokens.delete(token.id);
  }

  /** The full-access token made at the first start of a database; undefined on every later start. */
  async bootstrapAdmin(store: { createBootstrapToken(token: Token): Promise<boolean> }): Promise<string | undefined> {
    const made = mint('admin (created at first start)', []);
    return (await store.createBootstrapToken(made.token)) ? made.bearer : undefined;
  }

  /** A token `by` may see: one whose rights are a subset of its own. */
  async get(by: Principal, id: string): Promise<Token> {
    const token = (await this.tokens.get(id)) ?? notFound(id);
    const lacking = coverage(by.rules)(token.acl.map(parseAclEntry));
    if (lacking) fail('acl_insufficient', `token '${id}' has rights the requesting token lacks: ${lacking}`);
    return token;
  }

  /** The tokens `by` may see; tokens with rights it lacks are left out. */
  async list(by: Principal, filter: { metadata?: string }): Promise<Token[]> {
    const lacking = coverage(by.rules);
    return (await this.tokens.list(filter)).filter((token) => lacking(token.acl.map(parseAclEntry)) === undefined);
  }

  async delete(by: Principal, id: string): Promise<Token> {
    await this.get(by, id);
    return (await this.tokens.delete(id)) ?? notFound(id);
  }

  /** Resolves an Authorization header value to a principal, or fails with 401's reason. */
  async authenticate(header: string | undefined): Promise<Principal> {
    const match = header?.match(/^Bearer +(\S+)\s*$/i);
    if (!match) fail('authorization_header_invalid', "expected 'Authorization: Bearer <token>'");
    const bearer = match[1]!;
    const digest = sha256(bearer);
    if (this.adminDigest && timingSafeEqual(digest, this.adminDigest)) return { tokenId: null, rules: null };

    const separator = bearer.indexOf('_');
    const idPart = bearer.slice(0, separator);
    if (separator < 0 || !isKsuid(idPart)) fail('token_invalid', "the bearer is not of the form '<token id>_<secret>'");
    const token = await this.tokens.get(`tok_${idPart}`);
    // Compare against a stored hash even for unknown ids, so timing does not tell which ids exist.
    const expected = token ? Buffer.from(token.secretHash, 'hex') : UNKNOWN_TOKEN_DIGEST;
    const matches = timingSafeEqual(sha256(bearer.slice(separator + 1)), expected);
    if (!token || !matches) fail('authentication_failed', 'the token does not exist or its secret is wrong');
    if (token.expiresAt !== undefined && Date.now() >= token.expiresAt) fail('authentication_failed', 'the token has expired');
    return { tokenId: token.id, rules: token.acl.map(parseAclEntry) };
  }
}

function mint(metadata: string, acl: string[]): { token: Token; bearer: string } {
  const id = newId('tok');
  const secret = randomBase62(SECRET_LENGTH);
  return {
    token: { id, metadata, acl, secretHash: sha256(secret).toString('hex') },
    bearer: `${id.slice('tok_'.length)}_${secret}`,
  };
}

const UNKNOWN_TOKEN_DIGEST = sha256('hooklog: no such token');

// The one-shot hash: every authenticated request hashes its bearer, and a Hash object per call costs more than the digest.
function sha256(text: string): Buffer {
  return hash('sha256', text, 'buffer');
}

function notFound(id: string): never {
  fail('token_not_found', `token '${id}' does not exist`);
}
