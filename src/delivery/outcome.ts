import { type DeliveryMode, type DeliveryState, isSuccess, type ParkedRetry, type StoredDeliveryStatus } from '../domain/types.js';
import type { NoResponse, OutboundResponse } from './outbound.js';
import type { RetrySchedule } from './schedule.js';

/** What one attempt changes: the webhook's state, in parallel mode the retry set, and where the message stands. */
export interface Outcome {
  state: DeliveryState;
  /** Parallel mode: park the message for this retry, or drop it from the retry set (null). */
  retry?: ParkedRetry | null;
  /** pending while another attempt is scheduled (at nextAttemptAt), failed once none is. */
  delivery: { status: StoredDeliveryStatus; nextAttemptAt: number | null };
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

export function succeeded(response: OutboundResponse): boolean {
  return isSuccess(response.statusCode);
}

/** An attempt's result as a fixed set of kinds: what the metrics count attempts by. */
export type AttemptOutcome = 'success' | 'http_4xx' | 'http_5xx' | 'http_other' | NoResponse;

export function attemptOutcome({ statusCode, failure }: OutboundResponse): AttemptOutcome {
  if (statusCode === null) return failure ?? 'network';
  if (isSuccess(statusCode)) return 'success';
  return statusCode >= 500 ? 'http_5xx' : statusCode >= 400 ? 'http_4xx' : 'http_other';
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
 *   parallel: the cursor moves on at once and failures go to the retry set;
 * - the message is pending while another attempt is scheduled, and failed
 *   once none is (a parallel destination's 410 keeps it for re-activation).
 */
export function afterAttempt(state: DeliveryState, schedule: RetrySchedule, facts: AttemptFacts): Outcome {
  const { mode, offset, response, sentAtMs, endedAtMs } = facts;
  const error = errorOf(response);
  const last = { lastOffset: offset, lastTime: sentAtMs, lastResponse: response.raw, lastError: error };
  const failures = facts.failuresBefore + 1;
  const advance = !facts.fromRetrySet && offset >= state.nextOffset ? { nextOffset: offset + 1 } : {};
  const success = { status: 'success', nextAttemptAt: null } as const;
  const failed = { status: 'failed', nextAttemptAt: null } as const;
  const pendingUntil = (at: number) => ({ status: 'pending', nextAttemptAt: at }) as const;

  if (succeeded(response)) {
    if (mode === 'parallel') return { state: { ...state, ...last, ...advance }, retry: facts.fromRetrySet ? null : undefined, delivery: success };
    return { state: { ...state, ...last, nextOffset: offset + 1, failures: 0, nextAttemptAt: endedAtMs }, delivery: success };
  }

  if (response.statusCode === 410) {
    const inactive = { active: false, inactiveReason: `the destination answered 410 Gone for offset ${offset}` };
    if (mode === 'parallel') {
      return {
        state: { ...state, ...last, ...advance, ...inactive },
        retry: { offset, failures, nextAttemptAt: endedAtMs },
        delivery: pendingUntil(endedAtMs),
      };
    }
    return { state: { ...state, ...last, ...inactive, failures }, delivery: failed };
  }

  const delay = schedule.delayAfter(failures, response.retryAfterMs);
  if (mode === 'parallel') {
    if (delay === null) return { state: { ...state, ...last, ...advance }, retry: null, delivery: failed };
    return {
      state: { ...state, ...last, ...advance },
      retry: { offset, failures, nextAttemptAt: endedAtMs + delay },
      delivery: pendingUntil(endedAtMs + delay),
    };
  }
  if (delay === null) {
    const inactiveReason = `gave up on offset ${offset} after ${failures} attempts; last error: ${error}`;
    return { state: { ...state, ...last, active: false, inactiveReason, failures }, delivery: failed };
  }
  return { state: { ...state, ...last, failures, nextAttemptAt: endedAtMs + delay }, delivery: pendingUntil(endedAtMs + delay) };
}
