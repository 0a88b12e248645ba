import { fail } from '../domain/errors.js';
import { isSuccess } from '../domain/types.js';
import type { IdempotencyStore } from '../store/store.js';

/** How long a key's first answer is given again, as Svix keeps it. */
export const IDEMPOTENCY_WINDOW_MS = 12 * 3600 * 1000;
export const MAX_IDEMPOTENCY_KEY_LENGTH = 256;
/**
 * A first request still not answered after this long died (a crash, a lost
 * write): its key is taken over, rather than refusing every retry for the
 * whole window. No request of this API runs nearly as long.
 */
const ABANDONED_AFTER_MS = 60_000;

/** Fails unless `key` is a usable Idempotency-Key: the same rule for every POST. */
export function checkIdempotencyKey(key: string): void {
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    fail('field_invalid', `the Idempotency-Key header must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
  }
}

/** An answer to give again: its status and its body as sent. */
export interface KeptAnswer {
  status: number;
  body: string;
}

/**
 * Idempotency keys of requests: the first request with a key runs, and its
 * 2xx answer is kept; a repeat within the window gets that answer without
 * running again. A repeat while the first still runs is refused (409), and
 * a first request that fails gives its key up, so that a retry runs.
 */
export class IdempotencyKeys {
  constructor(private readonly store: IdempotencyStore) {}

  /** Runs `work` once per key in `scope`: its answer, or the one kept from the first run. */
  async once(scope: string, key: string, work: () => Promise<KeptAnswer>): Promise<{ answer: KeptAnswer; repeated: boolean }> {
    checkIdempotencyKey(key);
    const now = Date.now();
    const claim = await this.store.claim(scope, key, now, now - IDEMPOTENCY_WINDOW_MS, now - ABANDONED_AFTER_MS);
    if (claim.state === 'done') return { answer: { status: claim.status, body: claim.body }, repeated: true };
    if (claim.state === 'running') fail('request_in_progress', 'a request with this Idempotency-Key is still running');
    let answer: KeptAnswer;
    try {
      answer = await work();
    } catch (err) {
      await this.store.release(scope, key);
      throw err;
    }
    if (isSuccess(answer.status)) await this.store.complete(scope, key, answer.status, answer.body);
    else await this.store.release(scope, key);
    return { answer, repeated: false };
  }

  /** Forgets keys older than the window: the retention job's call. */
  purge(nowMs: number, limit: number): Promise<number> {
    return this.store.purge(nowMs - IDEMPOTENCY_WINDOW_MS, limit);
  }
}
