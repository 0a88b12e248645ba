import { type AclRule, allows } from '../domain/acl.js';
import { fail, HooklogError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { checkLabels, checkName, checkUid } from '../domain/labels.js';
import { checkRateLimit } from '../domain/rate-limit.js';
import type { Application, Labels, PageQuery } from '../domain/types.js';
import type { ApplicationStore, LogStore } from '../store/store.js';

export interface ApplicationInput {
  uid?: string | null;
  name: string;
  rateLimit?: number | null;
  metadata?: Labels;
}

export type ApplicationPatch = Partial<ApplicationInput>;

/** The prefix of application ids, which a uid may not start with. */
export const APPLICATION_ID_PREFIX = 'app_';

/**
 * How long an application found stays cached. Every message a Svix client
 * creates names its application, and a read per message would cost a
 * PostgreSQL round trip; what a stale entry can do is bounded: the append
 * checks that the log still exists, and a changed uid points to its new
 * application within this time on every node.
 */
const CACHE_MS = 1000;
const CACHE_ENTRIES = 10_000;

/**
 * Applications: logs with a name, a uid and labels, as Svix groups one
 * customer's messages and endpoints. Creating one creates its log; deleting
 * it deletes the log, with its endpoints.
 */
export class Applications {
  /** Applications found, by the name a path gave (id or uid). */
  private readonly cache = new Map<string, { app: Application; until: number }>();

  constructor(
    private readonly store: ApplicationStore,
    private readonly logs: Pick<LogStore, 'delete'>,
  ) {}

  /** Creates an application and its log; `logId` may be given (a PUT to an id not yet used). */
  async create(input: ApplicationInput, logId: string = newId('log')): Promise<Application> {
    const now = Date.now();
    const created = await this.store.create(
      { id: logId, metadata: '', compacting: false, trimBytes: 0, trimSeconds: 0, compactSeconds: 0, expireSeconds: 0 },
      { logId, ...checked(input), createdAt: now, updatedAt: now },
    );
    if (created === 'uid_taken') uidTaken(input.uid);
    if (created === 'id_taken') fail('uid_taken', `the id '${logId}' is taken by a log or an application`);
    return created;
  }

  /**
   * The application a path names if there is one, otherwise a new one with
   * `input` (and `logId`, when the path gave an id); of two requests racing
   * to create it, the second gets the first's.
   */
  async getOrCreate(input: ApplicationInput, logId?: string): Promise<{ application: Application; created: boolean }> {
    const existing = logId ? await this.store.get(logId) : input.uid ? await this.store.byUid(input.uid) : undefined;
    if (existing) return { application: existing, created: false };
    try {
      return { application: await this.create(input, logId), created: true };
    } catch (err) {
      const raced = err instanceof HooklogError && err.errorName === 'uid_taken' && (logId ? await this.store.get(logId) : await this.store.byUid(input.uid!));
      if (raced) return { application: raced, created: false };
      throw err;
    }
  }

  /** The application a path names, by log id or uid; undefined when there is none. */
  async find(logId: string | undefined, uid: string): Promise<Application | undefined> {
    const name = logId ?? uid;
    const now = Date.now();
    const cached = this.cache.get(name);
    if (cached && cached.until > now) return cached.app;
    const app = logId ? await this.store.get(logId) : await this.store.byUid(uid);
    if (this.cache.size >= CACHE_ENTRIES) this.cache.clear();
    if (app) this.cache.set(name, { app, until: now + CACHE_MS });
    else this.cache.delete(name);
    return app;
  }

  /**
   * The applications a token with `rules` may see, in id order: all of them
   * when it may list logs; otherwise those its rules name, looked up one by
   * one (an ACL is bounded), so that a page never shows, nor continues
   * from, one it may not see.
   */
  async list(rules: readonly AclRule[] | null, page: PageQuery): Promise<Application[]> {
    if (allows(rules, { subject: 'logs', action: 'list' })) return this.store.list(page);
    const named = new Set(
      (rules ?? [])
        .filter((rule) => rule.subject === 'logs' && (rule.action === undefined || rule.action === 'get') && rule.objectId)
        .map((rule) => rule.objectId!),
    );
    const inPage = [...named].filter((id) => (page.after === undefined || id > page.after) && (page.before === undefined || id < page.before)).sort();
    if (page.before !== undefined) inPage.reverse();
    const found: Application[] = [];
    for (const id of inPage) {
      if (found.length === page.limit) break;
      const app = await this.store.get(id);
      if (app) found.push(app);
    }
    return page.before !== undefined ? found.reverse() : found;
  }

  async update(logId: string, patch: ApplicationPatch): Promise<Application> {
    const changes = {
      ...(patch.uid !== undefined && { uid: patch.uid === null ? null : checkUid(patch.uid, APPLICATION_ID_PREFIX) }),
      ...(patch.name !== undefined && { name: checkName(patch.name, 'name') }),
      ...(patch.rateLimit !== undefined && { rateLimit: checkRateLimit(patch.rateLimit) }),
      ...(patch.metadata !== undefined && { metadata: checkLabels(patch.metadata) }),
    };
    this.cache.clear();
    const updated = await this.store.update(logId, { ...changes, nowMs: Date.now() });
    if (updated === 'uid_taken') uidTaken(patch.uid);
    return updated ?? notFound(logId);
  }

  /** Replaces every field; the fields left out take their defaults. */
  replace(logId: string, input: ApplicationInput): Promise<Application> {
    return this.update(logId, { uid: input.uid ?? null, name: input.name, rateLimit: input.rateLimit ?? null, metadata: input.metadata ?? {} });
  }

  /** Deletes the application with its log, its endpoints and its tokens. */
  async delete(logId: string): Promise<void> {
    this.cache.clear();
    if (!(await this.logs.delete(logId))) notFound(logId);
  }
}

function checked(input: ApplicationInput): Omit<Application, 'logId' | 'createdAt' | 'updatedAt'> {
  return {
    uid: input.uid == null ? null : checkUid(input.uid, APPLICATION_ID_PREFIX),
    name: checkName(input.name, 'name'),
    rateLimit: checkRateLimit(input.rateLimit ?? null),
    metadata: checkLabels(input.metadata ?? {}),
  };
}

function uidTaken(uid: string | null | undefined): never {
  fail('uid_taken', `another application has the uid ${JSON.stringify(uid)}`);
}

function notFound(logId: string): never {
  fail('application_not_found', `application '${logId}' does not exist`);
}
