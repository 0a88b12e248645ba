/**
 * Collects writes made in one turn of the event loop and hands them to
 * `flush` together, so they share one transaction. Each write's promise
 * settles when its group has been committed (or has failed).
 *
 * Groups are flushed one at a time, in order: writes that arrive while a
 * flush is running wait for it and form the next group. That keeps a later
 * write from committing before an earlier one, which matters when both set
 * the same row (a delivery cursor, say) over an asynchronous connection.
 */
export class GroupWriter<T> {
  private pending: Array<{ item: T; resolve: () => void; reject: (err: unknown) => void }> = [];
  private flushing = false;

  constructor(private readonly flush: (items: T[]) => void | Promise<void>) {}

  write(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.pending.length === 0 && !this.flushing) setImmediate(() => void this.run());
      this.pending.push({ item, resolve, reject });
    });
  }

  private async run(): Promise<void> {
    const group = this.pending;
    this.pending = [];
    this.flushing = true;
    try {
      await this.flush(group.map((entry) => entry.item));
      for (const entry of group) entry.resolve();
    } catch (err) {
      for (const entry of group) entry.reject(err);
    } finally {
      this.flushing = false;
      if (this.pending.length > 0) setImmediate(() => void this.run());
    }
  }
}
