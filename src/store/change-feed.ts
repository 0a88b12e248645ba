import type { StoreChange } from './store.js';

/**
 * The one path by which changes reach the rest of a node: a store emits here
 * after each commit that changes what others act on (a log grew; an egress or
 * ingress webhook was created, changed or deleted, alone or with its log),
 * and a store shared by nodes also emits what it hears of the others. Emits
 * run synchronously, so a change has reached every listener before the write
 * that made it resolves, and so before the API answers.
 */
export class ChangeFeed {
  private readonly listeners = new Set<(change: StoreChange) => void>();

  constructor(private readonly onListenerError: (err: unknown) => void = (err) => process.emitWarning(err as Error)) {}

  subscribe(listener: (change: StoreChange) => void): void {
    this.listeners.add(listener);
  }

  emit(change: StoreChange): void {
    for (const listener of this.listeners) {
      // A listener's failure is its own: the write it reports is committed, and the other listeners must still hear of it.
      try {
        listener(change);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }
}
