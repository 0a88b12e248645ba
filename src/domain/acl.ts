import { fail } from './errors.js';

/**
 * ACL entries are `subject[:action[:object_id]]`. A missing action or object
 * id means "all of them". A token whose ACL is empty has full access. An
 * egress webhook's entries may name its log instead of the webhook: they
 * then cover every webhook of that log, those made later included (how a
 * token for one Svix application reaches its endpoints).
 */
export const ACL_SUBJECTS = ['tokens', 'logs', 'messages', 'offsets', 'ingress_webhooks', 'egress_webhooks', 'event_types'] as const;
export const ACL_ACTIONS = [
  'list',
  'create',
  'get',
  'update',
  'delete',
  'publish',
  'consume',
  'cleanup',
  'rotate',
  'status',
  'attempts',
  'resend',
  'replay',
] as const;

export type AclSubject = (typeof ACL_SUBJECTS)[number];
export type AclAction = (typeof ACL_ACTIONS)[number];

export interface AclRule {
  subject: AclSubject;
  action?: AclAction;
  objectId?: string;
}

/** What a request needs: a subject and action, and the object it touches when it names one. */
export interface Permission {
  subject: AclSubject;
  action: AclAction;
  objectId?: string;
  /** The log the object belongs to (an egress webhook's): a rule naming the log covers the object. */
  parentId?: string;
}

export function parseAclEntry(entry: string): AclRule {
  const [subject, action, objectId, ...rest] = entry.split(':');
  if (rest.length > 0 || !isOneOf(ACL_SUBJECTS, subject)) {
    fail('acl_invalid', `'${entry}': the subject must be one of ${ACL_SUBJECTS.join(', ')}`);
  }
  if (action === undefined) return { subject };
  if (!isOneOf(ACL_ACTIONS, action)) {
    fail('acl_invalid', `'${entry}': the action must be one of ${ACL_ACTIONS.join(', ')}`);
  }
  if (objectId === undefined) return { subject, action };
  if (objectId === '') fail('acl_invalid', `'${entry}': the object id is empty`);
  return { subject, action, objectId };
}

/**
 * Most entries one ACL may hold. Every request of a token parses its ACL, and
 * handing out or listing tokens compares ACLs: both must stay cheap.
 */
export const MAX_ACL_ENTRIES = 1000;
const MAX_ENTRY_LENGTH = 200;

/** Checks every entry and returns the ACL as given, so that it is stored and shown unchanged. */
export function validateAcl(entries: string[]): string[] {
  if (entries.length > MAX_ACL_ENTRIES) fail('acl_invalid', `the ACL has ${entries.length} entries; at most ${MAX_ACL_ENTRIES} are allowed`);
  for (const entry of entries) {
    if (entry.length > MAX_ENTRY_LENGTH) fail('acl_invalid', `an entry is ${entry.length} characters long; at most ${MAX_ENTRY_LENGTH} are allowed`);
    parseAclEntry(entry);
  }
  return entries;
}

export function allows(rules: readonly AclRule[] | null, needed: Permission): boolean {
  if (rules === null || rules.length === 0) return true;
  return rules.some(
    (rule) =>
      rule.subject === needed.subject &&
      (rule.action === undefined || rule.action === needed.action) &&
      (rule.objectId === undefined || rule.objectId === needed.objectId || (needed.parentId !== undefined && rule.objectId === needed.parentId)),
  );
}

/**
 * What `holder` grants, as a check of other ACLs: it returns the first right
 * that an ACL grants and `holder` does not, or undefined when `holder` grants
 * all of it. A token may create, see or delete a token with some rights only
 * then, so that it never hands out more than it holds. Full access (null or
 * empty) covers everything and is covered only by itself. A rule without an
 * action stands for every action, and one without an object for every
 * object; objects are open-ended, so only a rule without an object covers
 * one without an object. Each check costs one lookup per right.
 */
export function coverage(holder: readonly AclRule[] | null): (wanted: readonly AclRule[] | null) => string | undefined {
  if (holder === null || holder.length === 0) return () => undefined;
  // Rules name a subject, a subject and action, or all three: one key each.
  const held = new Set(holder.map((rule) => describePermission(rule as Permission)));
  return (wanted) => {
    if (wanted === null || wanted.length === 0) return 'full access (an empty ACL)';
    for (const rule of wanted) {
      for (const action of rule.action === undefined ? ACL_ACTIONS : [rule.action]) {
        const needed = { subject: rule.subject, action, objectId: rule.objectId };
        const covered =
          held.has(needed.subject) || held.has(`${needed.subject}:${action}`) || (needed.objectId !== undefined && held.has(describePermission(needed)));
        if (!covered) return describePermission(needed);
      }
    }
    return undefined;
  };
}

export function describePermission(needed: Permission): string {
  return [needed.subject, needed.action, needed.objectId].filter((part) => part !== undefined).join(':');
}

function isOneOf<T extends string>(values: readonly T[], value: string | undefined): value is T {
  return value !== undefined && (values as readonly string[]).includes(value);
}

/**
 * The rights of a token made for one application (Svix's app portal access,
 * an integration's key): its log's messages and every endpoint of it, those
 * made later included, and the event type catalogue to choose filters from.
 */
export function applicationAcl(logId: string, { readOnly = false } = {}): string[] {
  const reads: AclAction[] = ['list', 'get', 'status', 'attempts'];
  const writes: AclAction[] = ['create', 'update', 'delete', 'rotate', 'resend', 'replay'];
  const endpoint = readOnly ? reads : [...reads, ...writes];
  return [
    `logs:get:${logId}`,
    `messages:consume:${logId}`,
    ...endpoint.map((action) => `egress_webhooks:${action}:${logId}`),
    'event_types:list',
    'event_types:get',
  ];
}
