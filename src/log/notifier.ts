/**
 * Wakes long-polling consumers when a log grows. This in-process notifier
 * serves a single node; a backend shared by several nodes forwards its
 * cross-node signal into `notify` as well.
 */
export class LogNotifier {
  private readonly waiters = new Map<string, Set<() => void>>();
  private closed = false;

  get isClosed(): boolean {
    return this.closed;
  }

  notify(logId: string): void {
    const set = this.waiters.get(logId);
    if (!set) return;
    this.waiters.delete(logId);
    for (const wake of set) wake();
  }

  /**
   * Resolves when `logId` is notified, after `timeoutMs`, when `signal` aborts
   * (the client went away) or when the notifier closes (shutdown), whichever
   * comes first. Subscribe before the final read to avoid a lost wake-up.
   */
  subscribe(logId: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (this.closed || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      let set = this.waiters.get(logId);
      if (!set) this.waiters.set(logId, (set = new Set()));
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        const current = this.waiters.get(logId);
        current?.delete(done);
        if (current?.size === 0) this.waiters.delete(logId);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal.addEventListener('abort', done, { once: true });
      set.add(done);
    });
  }

  /** Wakes every waiter: news may have been missed (the cross-node signal reconnected). They re-read and wait again. */
  wakeAll(): void {
    for (const logId of [...this.waiters.keys()]) this.notify(logId);
  }

  /** Releases every waiter; later subscriptions resolve at once. */
  close(): void {
    this.closed = true;
    this.wakeAll();
  }
}
