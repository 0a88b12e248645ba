import { randomBytes, randomFillSync } from 'node:crypto';
import { HooklogError } from './errors.js';

/**
 * Ids are a type prefix plus a KSUID: 4 bytes of seconds since the KSUID epoch
 * and 16 random bytes, written as 27 base62 characters. Because the timestamp
 * leads and the width is fixed, ids sort by creation time as plain strings.
 */
export type IdPrefix = 'log' | 'tok' | 'off' | 'ewh' | 'iwh' | 'tsk' | 'integ' | 'evt';

const KSUID_EPOCH_SECONDS = 1_400_000_000;
const KSUID_LENGTH = 27;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const KSUID_PATTERN = /^[0-9A-Za-z]{27}$/;

/**
 * Random bytes for ids, drawn from the system's generator a few KiB at a
 * time, each byte used once (as Node's randomUUID does): a call into it per
 * id cost more than the rest of the id, and every received webhook makes one.
 */
const entropy = Buffer.alloc(4096);
let entropyUsed = entropy.length;

function randomInto(bytes: Buffer, at: number, count: number): void {
  if (entropyUsed + count > entropy.length) {
    randomFillSync(entropy);
    entropyUsed = 0;
  }
  entropy.copy(bytes, at, entropyUsed, (entropyUsed += count));
}

function ksuid(nowMs: number = Date.now()): string {
  const bytes = Buffer.alloc(20);
  bytes.writeUInt32BE(Math.floor(nowMs / 1000) - KSUID_EPOCH_SECONDS, 0);
  randomInto(bytes, 4, 16);
  return toBase62(bytes).padStart(KSUID_LENGTH, '0');
}

export function newId(prefix: IdPrefix): string {
  return `${prefix}_${ksuid()}`;
}

let lastMs = 0;
let sequence = 0;

/**
 * An id that also sorts in the order it was made within a second, where
 * plain KSUIDs sort at random: its payload leads with the millisecond and a
 * sequence within it, then 8 random bytes. Still a KSUID, of the same shape.
 * Used where lists are ordered by id and many are made each second (events).
 */
export function newOrderedId(prefix: IdPrefix, nowMs: number = Date.now()): string {
  sequence = nowMs === lastMs ? sequence + 1 : 0;
  lastMs = nowMs;
  const bytes = Buffer.alloc(20);
  bytes.writeUInt32BE(Math.floor(nowMs / 1000) - KSUID_EPOCH_SECONDS, 0);
  bytes.writeUIntBE(nowMs, 4, 6);
  bytes.writeUInt16BE(Math.min(sequence, 0xffff), 10);
  randomInto(bytes, 12, 8);
  return `${prefix}_${toBase62(bytes).padStart(KSUID_LENGTH, '0')}`;
}

/**
 * The lowest id newOrderedId makes at `ms` or later: every id it made before
 * sorts below it. Lets a range of times be looked up through an index of
 * ids alone.
 */
export function firstOrderedIdAt(prefix: IdPrefix, ms: number): string {
  const bytes = Buffer.alloc(20);
  const clamped = Math.min(Math.max(ms, KSUID_EPOCH_SECONDS * 1000), (KSUID_EPOCH_SECONDS + 0xffffffff) * 1000);
  bytes.writeUInt32BE(Math.floor(clamped / 1000) - KSUID_EPOCH_SECONDS, 0);
  bytes.writeUIntBE(Math.floor(clamped), 4, 6);
  return `${prefix}_${toBase62(bytes).padStart(KSUID_LENGTH, '0')}`;
}

export function isKsuid(value: string): boolean {
  return KSUID_PATTERN.test(value);
}

/** True when `value` is `<prefix>_` followed by a well-formed KSUID. */
export function isId(prefix: IdPrefix, value: string): boolean {
  return value.length === prefix.length + 1 + KSUID_LENGTH && value.startsWith(`${prefix}_`) && isKsuid(value.slice(prefix.length + 1));
}

/** The error for a field that should hold a `prefix` id and does not, whatever checked it. */
export function invalidId(prefix: string, field: string, value: unknown): HooklogError {
  return new HooklogError('id_invalid', `${field} must be '${prefix}_' followed by a 27-character KSUID, got ${JSON.stringify(value ?? '')}`);
}

/** Random base62 text, for secrets. Rejection sampling keeps every character equally likely. */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}

function toBase62(bytes: Buffer): string {
  let n = BigInt(`0x${bytes.toString('hex')}`);
  let out = '';
  while (n > 0n) {
    out = BASE62[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out;
}
