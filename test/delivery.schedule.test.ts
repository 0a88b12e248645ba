import { describe, expect, it } from 'vitest';
import { parseRetryAfter, RetrySchedule } from '../src/delivery/schedule.js';

describe('retry schedule', () => {
  it('gives each step with ±20 % jitter, then null when used up', () => {
    const low = new RetrySchedule([0, 5, 300], () => 0);
    const high = new RetrySchedule([0, 5, 300], () => 0.999999);
    expect(low.delayAfter(1, null)).toBe(4000);
    expect(high.delayAfter(1, null)).toBe(6000);
    expect(low.delayAfter(2, null)).toBe(240_000);
    expect(high.delayAfter(2, null)).toBe(360_000);
    expect(low.delayAfter(3, null)).toBeNull();
    expect(low.attempts).toBe(3);
  });

  it('never waits less than Retry-After asked', () => {
    const schedule = new RetrySchedule([0, 5], () => 0.5);
    expect(schedule.delayAfter(1, 60_000)).toBe(60_000);
    expect(schedule.delayAfter(1, 1_000)).toBe(5_000);
    expect(schedule.delayAfter(2, 60_000)).toBeNull();
  });
});

describe('Retry-After', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('reads seconds and HTTP dates, caps at a day, and ignores garbage', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('9999999', now)).toBe(24 * 3600 * 1000);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(undefined, now)).toBeNull();
    expect(parseRetryAfter('', now)).toBeNull();
  });
});
