/**
 * Collects writes made in one turn of the event loop and hands them to
 * `flush` together, so they share one transaction. Each write's promise
 * settles when its group has been committed (or has failed).
 */
export class GroupWriter<T> {
  private pending: Array<{ item: T; resolve: () => void; reject: (err: unknown) => void }> = [];

  constructor(private readonly flush: (items: T[]) => void) {}

  write(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => this.run());
      this.pending.push({ item, resolve, reject });
    });
  }

  private run(): void {
    const group = this.pending;
    this.pending = [];
    try {
      this.flush(group.map((entry) => entry.item));
    } catch (err) {
      for (const entry of group) entry.reject(err);
      return;
    }
    for (const entry of group) entry.resolve();
  }
}
