import { fail } from './errors.js';
import type { Labels } from './types.js';

/**
 * What the user's own names and labels of applications and endpoints may
 * hold. The limits are Svix's (ApplicationIn and EndpointIn in its OpenAPI
 * document): a uid is 1 to 256 letters, digits, `-`, `_` and `.`; metadata
 * is a flat object of strings.
 */
export const MAX_UID_LENGTH = 256;
const UID = /^[a-zA-Z0-9\-_.]+$/;
export const MAX_METADATA_ENTRIES = 100;
export const MAX_METADATA_BYTES = 16 * 1024;
export const MAX_NAME_LENGTH = 1024;

/** Fails unless `uid` is a valid uid that cannot be mistaken for the id `prefix` marks. */
export function checkUid(uid: string, prefix: string): string {
  if (uid.length > MAX_UID_LENGTH || !UID.test(uid)) fail('field_invalid', `uid must be 1 to ${MAX_UID_LENGTH} letters, digits, '-', '_' or '.'`);
  // Paths take an id or a uid in the same place: one that looks like an id would be shadowed by it.
  if (uid.startsWith(prefix)) fail('field_invalid', `uid must not start with '${prefix}', which marks ids`);
  return uid;
}

export function checkName(name: string, field: string): string {
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) fail('field_invalid', `${field} must be 1 to ${MAX_NAME_LENGTH} characters`);
  return name;
}

/** Metadata is kept whole in one column and shown on every read: it stays small. */
export function checkLabels(labels: Labels): Labels {
  const entries = Object.entries(labels);
  if (entries.length > MAX_METADATA_ENTRIES) fail('field_invalid', `metadata may hold at most ${MAX_METADATA_ENTRIES} entries`);
  if (Buffer.byteLength(JSON.stringify(labels)) > MAX_METADATA_BYTES) fail('field_invalid', `metadata may take at most ${MAX_METADATA_BYTES} bytes as JSON`);
  return labels;
}
