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
  /** Places held per token; a token holding none has no entry. */
  private readonly held = new Map<string, number>();

  constructor(
    private readonly max: number,
    private readonly maxPerToken: number,
  ) {}

  /** How many wait now. */
  get waiting(): number {
    return this.count;
  }

  /**
   * Runs `wait` in a place of its own, held by `token` (a token id; `admin`
   * for the configured admin token), or fails with too_many_long_polls when
   * every place, or every place the token may hold, is taken.
   */
  async wait<T>(token: string, wait: () => Promise<T>): Promise<T> {
    if (this.count >= this.max) {
      fail('too_many_long_polls', `${this.max} long-polls already wait on this node; retry later, or consume without poll`);
    }
    const holds = this.held.get(token) ?? 0;
    if (holds >= this.maxPerToken) {
      fail('too_many_long_polls', `this token already holds ${this.maxPerToken} long-polls on this node; retry later, or consume without poll`);
    }
    this.count++;
    this.held.set(token, holds + 1);
    try {
      return await wait();
    } finally {
      this.count--;
      const left = this.held.get(token)! - 1;
      if (left === 0) this.held.delete(token);
      else this.held.set(token, left);
    }
  }
}
