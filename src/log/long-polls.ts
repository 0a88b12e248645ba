import { fail } from '../domain/errors.js';

/**
 * Bounds the consumes waiting for messages at once on this node. Each one
 * parked holds a connection, its request and a timer for up to the longest
 * poll; a flood of them could exhaust the process's file descriptors and
 * memory. Only a consume that is about to wait asks for a place: one that
 * finds messages, or does not poll, never does.
 */
export class LongPolls {
  private count = 0;

  constructor(private readonly max: number) {}

  /** How many wait now. */
  get waiting(): number {
    return this.count;
  }

  /** Runs `wait` in a place of its own, or fails with too_many_long_polls when every place is taken. */
  async wait<T>(wait: () => Promise<T>): Promise<T> {
    if (this.count >= this.max) {
      fail('too_many_long_polls', `${this.max} long-polls already wait on this node; retry later, or consume without poll`);
    }
    this.count++;
    try {
      return await wait();
    } finally {
      this.count--;
    }
  }
}
