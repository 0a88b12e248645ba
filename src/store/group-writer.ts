/**
 * Collects writes made in one turn of the event loop, or within `windowMs`
 * of the first of them, and hands them to `flush` together, so they share
 * one transaction. An urgent write, which someone reads back at once, cuts
 * the window short. Each write's promise settles when its group has been
 * committed (or has failed).
 *
 * Groups are flushed one at a time, in order: writes that arrive while a
 * flush is running wait for it and form the next group. That keeps a later
 * write from committing before an earlier one, which matters when both set
 * the same row (a delivery cursor, say) over an asynchronous connection.
 */
export class GroupWriter<T> {
  private pending: Array<{ item: T; resolve: () => void; reject: (err: unknown) => void }> = [];
  private flushing = false;
  /** The window's timer, while the pending group waits it out. */
  private timer: NodeJS.Timeout | null = null;
  private urgent = false;

  constructor(
    private readonly flush: (items: T[]) => void | Promise<void>,
    private readonly windowMs = 0,
  ) {}

  write(item: T, urgent = false): Promise<void> {
    return new Promise((resolve, reject) => {
      const first = this.pending.length === 0;
      this.pending.push({ item, resolve, reject });
      if (urgent && !this.urgent) {
        this.urgent = true;
        if (!this.flushing) this.schedule();
      } else if (first && !this.flushing) this.schedule();
    });
  }

  /** Runs the pending group once its window is over, or on the next turn if it is urgent or has no window. */
  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.urgent || this.windowMs === 0) setImmediate(() => void this.run());
    else this.timer = setTimeout(() => void this.run(), this.windowMs);
  }

  private async run(): Promise<void> {
    // An urgent write's immediate run may find its group already taken by the window's.
    if (this.flushing || this.pending.length === 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const group = this.pending;
    this.pending = [];
    this.urgent = false;
    this.flushing = true;
    try {
      await this.flush(group.map((entry) => entry.item));
      for (const entry of group) entry.resolve();
    } catch (err) {
      for (const entry of group) entry.reject(err);
    } finally {
      this.flushing = false;
      if (this.pending.length > 0) this.schedule();
    }
  }
}
