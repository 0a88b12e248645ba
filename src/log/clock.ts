import { performance } from 'node:perf_hooks';

/** Microseconds since the Unix epoch. performance.now() adds the sub-millisecond part Date.now() lacks. */
export function nowMicros(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}
