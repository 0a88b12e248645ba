import { fail } from './errors.js';

/**
 * ACL entries are `subject[:action[:object_id]]`. A missing action or object
 * id means "all of them". A token whose ACL is empty has full access.
 */
export const ACL_SUBJECTS = ['tokens', 'logs', 'messages', 'offsets', 'ingress_webhooks', 'egress_webhooks'] as const;
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

/** Checks every entry and returns the ACL as given, so that it is stored and shown unchanged. */
export function validateAcl(entries: string[]): string[] {
  for (const entry of entries) parseAclEntry(entry);
  return entries;
}

export function allows(rules: readonly AclRule[] | null, needed: Permission): boolean {
  if (rules === null || rules.length === 0) return true;
  return rules.some(
    (rule) =>
      rule.subject === needed.subject &&
      (rule.action === undefined || rule.action === needed.action) &&
      (rule.objectId === undefined || rule.objectId === needed.objectId),
  );
}

export function describePermission(needed: Permission): string {
  return [needed.subject, needed.action, needed.objectId].filter((part) => part !== undefined).join(':');
}

function isOneOf<T extends string>(values: readonly T[], value: string | undefined): value is T {
  return value !== undefined && (values as readonly string[]).includes(value);
}
