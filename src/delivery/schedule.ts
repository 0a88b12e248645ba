/**
 * When to try again. The schedule lists the delay before each attempt in
 * seconds: the first entry is the first attempt (0: at once), each further
 * entry a retry. Every delay gets ±20 % jitter so that receivers coming back
 * from an outage are not hit by every sender in the same second.
 */
export class RetrySchedule {
  constructor(
    private readonly delaysSeconds: readonly number[],
    private readonly random: () => number = Math.random,
  ) {}

  get attempts(): number {
    return this.delaysSeconds.length;
  }

  /**
   * The delay in ms before the next attempt, after `failures` failed attempts
   * of the same message, or null when the schedule is used up. A Retry-After
   * from the receiver is honoured: the wait is never shorter than it asked.
   */
  delayAfter(failures: number, retryAfterMs: number | null): number | null {
    const seconds = this.delaysSeconds[failures];
    if (seconds === undefined) return null;
    const jittered = seconds * 1000 * (0.8 + 0.4 * this.random());
    return Math.round(Math.max(jittered, retryAfterMs ?? 0));
  }
}

/** Longest Retry-After honoured; a receiver asking for more is retried on this instead. */
const MAX_RETRY_AFTER_MS = 24 * 3600 * 1000;

/** A Retry-After header (seconds or an HTTP date) in ms from `nowMs`, or null when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | null {
  if (value === undefined || value.trim() === '') return null;
  const trimmed = value.trim();
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - nowMs;
  if (!Number.isFinite(ms)) return null;
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}
