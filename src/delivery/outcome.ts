import type { DeliveryMode, DeliveryState, ParkedRetry } from '../domain/types.js';
import type { OutboundResponse } from './outbound.js';
import type { RetrySchedule } from './schedule.js';

/** What one attempt changes: the webhook's state, and in parallel mode the retry set. */
export interface Outcome {
  state: DeliveryState;
  /** Parallel mode: park the message for this retry, or drop it from the retry set (null). */
  retry?: ParkedRetry | null;
}

export interface AttemptFacts {
  mode: DeliveryMode;
  offset: number;
  /** Failed attempts of this message before this one. */
  failuresBefore: number;
  /** true when the message came from the retry set rather than the cursor. */
  fromRetrySet: boolean;
  response: OutboundResponse;
  /** When the request was sent: the attempt's recorded time. */
  sentAtMs: number;
  /** When the response came or the request failed. Delays count from here, so a slow or timed-out attempt does not eat into them. */
  endedAtMs: number;
}

function succeeded(response: OutboundResponse): boolean {
  return response.statusCode !== null && response.statusCode >= 200 && response.statusCode < 300;
}

export function errorOf(response: OutboundResponse): string {
  if (succeeded(response)) return '';
  return response.error || `HTTP ${response.statusCode}`;
}

/**
 * The delivery rules, applied to one attempt:
 * - only a 2xx succeeds;
 * - a 410 deactivates the destination at once;
 * - a failure waits for the next step of the schedule (never less than the
 *   receiver's Retry-After), counted from the end of the attempt; when the
 *   schedule is used up an ordered destination becomes inactive while a
 *   parallel one drops the message;
 * - ordered: the cursor moves only past a delivered message;
 *   parallel: the cursor moves on at once and failures go to the retry set.
 */
export function afterAttempt(state: DeliveryState, schedule: RetrySchedule, facts: AttemptFacts): Outcome {
  const { mode, offset, response, sentAtMs, endedAtMs } = facts;
  const error = errorOf(response);
  const last = { lastOffset: offset, lastTime: sentAtMs, lastResponse: response.raw, lastError: error };
  const failures = facts.failuresBefore + 1;
  const advance = !facts.fromRetrySet && offset >= state.nextOffset ? { nextOffset: offset + 1 } : {};

  if (succeeded(response)) {
    if (mode === 'parallel') return { state: { ...state, ...last, ...advance }, retry: facts.fromRetrySet ? null : undefined };
    return { state: { ...state, ...last, nextOffset: offset + 1, failures: 0, nextAttemptAt: endedAtMs } };
  }

  if (response.statusCode === 410) {
    const inactive = { active: false, inactiveReason: `the destination answered 410 Gone for offset ${offset}` };
    if (mode === 'parallel') return { state: { ...state, ...last, ...advance, ...inactive }, retry: { offset, failures, nextAttemptAt: endedAtMs } };
    return { state: { ...state, ...last, ...inactive, failures } };
  }

  const delay = schedule.delayAfter(failures, response.retryAfterMs);
  if (mode === 'parallel') {
    return { state: { ...state, ...last, ...advance }, retry: delay === null ? null : { offset, failures, nextAttemptAt: endedAtMs + delay } };
  }
  if (delay === null) {
    const inactiveReason = `gave up on offset ${offset} after ${failures} attempts; last error: ${error}`;
    return { state: { ...state, ...last, active: false, inactiveReason, failures } };
  }
  return { state: { ...state, ...last, failures, nextAttemptAt: endedAtMs + delay } };
}
