import { describe, expect, it } from 'vitest';
import type { OutboundResponse } from '../src/delivery/outbound.js';
import { type AttemptFacts, afterAttempt, attemptOutcome } from '../src/delivery/outcome.js';
import { RetrySchedule } from '../src/delivery/schedule.js';
import type { DeliveryState } from '../src/domain/types.js';

const state: DeliveryState = {
  active: true,
  inactiveReason: '',
  nextOffset: 7,
  failures: 0,
  nextAttemptAt: 0,
  lastOffset: null,
  lastTime: null,
  lastResponse: '',
  lastError: '',
};
/** No jitter: every delay is exactly its step. */
const schedule = new RetrySchedule([0, 5, 60], () => 0.5);
const sentAtMs = 1_000_000;
/** The attempt hung until a 15 s timeout. */
const endedAtMs = sentAtMs + 15_000;

const timeout: OutboundResponse = {
  statusCode: null,
  raw: '',
  body: '',
  durationMs: 15_000,
  error: 'timeout: no complete response within 15 s',
  failure: 'timeout',
  retryAfterMs: null,
};
const facts = (overrides: Partial<AttemptFacts> = {}): AttemptFacts => ({
  mode: 'ordered',
  offset: 7,
  failuresBefore: 0,
  fromRetrySet: false,
  response: timeout,
  sentAtMs,
  endedAtMs,
  ...overrides,
});

describe('afterAttempt', () => {
  it('schedules the retry from when the attempt ended, and records when it was sent', () => {
    const { state: after, delivery } = afterAttempt(state, schedule, facts());
    expect(after).toMatchObject({ failures: 1, nextOffset: 7, nextAttemptAt: endedAtMs + 5_000, lastTime: sentAtMs, lastError: timeout.error });
    expect(delivery).toEqual({ status: 'pending', nextAttemptAt: endedAtMs + 5_000 });
  });

  it('parks a parallel retry from when the attempt ended', () => {
    const outcome = afterAttempt(state, schedule, facts({ mode: 'parallel', failuresBefore: 1 }));
    expect(outcome.retry).toEqual({ offset: 7, failures: 2, nextAttemptAt: endedAtMs + 60_000 });
    expect(outcome.state).toMatchObject({ nextOffset: 8, lastTime: sentAtMs });
    expect(outcome.delivery).toEqual({ status: 'pending', nextAttemptAt: endedAtMs + 60_000 });
  });

  it('marks a message failed once no retry is left, in either mode; a parallel 410 keeps it for re-activation', () => {
    expect(afterAttempt(state, schedule, facts({ failuresBefore: 2 })).delivery).toEqual({ status: 'failed', nextAttemptAt: null });
    expect(afterAttempt(state, schedule, facts({ mode: 'parallel', failuresBefore: 2 })).delivery).toEqual({ status: 'failed', nextAttemptAt: null });
    const gone = { ...timeout, statusCode: 410, error: '' };
    expect(afterAttempt(state, schedule, facts({ response: gone })).delivery.status).toBe('failed');
    expect(afterAttempt(state, schedule, facts({ mode: 'parallel', response: gone })).delivery).toEqual({ status: 'pending', nextAttemptAt: endedAtMs });
  });

  it('counts Retry-After from when the response came', () => {
    const tooMany = { ...timeout, statusCode: 429, error: '', retryAfterMs: 30_000 };
    expect(afterAttempt(state, schedule, facts({ response: tooMany })).state.nextAttemptAt).toBe(endedAtMs + 30_000);
  });

  it('lets the next message go once a delivered one ended', () => {
    const ok = { ...timeout, statusCode: 200, error: '' };
    expect(afterAttempt({ ...state, failures: 2 }, schedule, facts({ response: ok }))).toEqual({
      state: { ...state, nextOffset: 8, failures: 0, nextAttemptAt: endedAtMs, lastOffset: 7, lastTime: sentAtMs },
      delivery: { status: 'success', nextAttemptAt: null },
    });
  });

  it('deactivates when the schedule is used up', () => {
    const { state: after } = afterAttempt(state, schedule, facts({ failuresBefore: 2 }));
    expect(after).toMatchObject({ active: false, failures: 3, inactiveReason: `gave up on offset 7 after 3 attempts; last error: ${timeout.error}` });
  });
});

describe('attemptOutcome', () => {
  it('names an attempt by its status class, or by why no response came', () => {
    const answered = (statusCode: number) => attemptOutcome({ ...timeout, statusCode, error: '', failure: null });
    expect([204, 302, 404, 410, 503].map(answered)).toEqual(['success', 'http_other', 'http_4xx', 'http_4xx', 'http_5xx']);
    expect(attemptOutcome(timeout)).toBe('timeout');
    expect(attemptOutcome({ ...timeout, failure: 'address_refused' })).toBe('address_refused');
    expect(attemptOutcome({ ...timeout, failure: 'network' })).toBe('network');
  });
});
