/**
 * The labelled children of one metric, by the id they are about (a log, a
 * source, a destination) and a second key, with when each id was first seen:
 * a hot path finds its child with two map lookups, and the series of ids that
 * were deleted can be removed.
 */
export class SeriesCache<C> {
  private readonly byId = new Map<string, { since: number; children: Map<string, C> }>();

  get(id: string, key: string, make: () => C): C {
    let entry = this.byId.get(id);
    if (!entry) this.byId.set(id, (entry = { since: Date.now(), children: new Map() }));
    let child = entry.children.get(key);
    if (child === undefined) entry.children.set(key, (child = make()));
    return child;
  }

  /** Calls `remove` for every child of the ids not in `existing` that were first seen before `beforeMs`, and forgets them. */
  prune(existing: ReadonlySet<string>, beforeMs: number, remove: (id: string, key: string, child: C) => void): void {
    for (const [id, entry] of this.byId) {
      if (existing.has(id) || entry.since >= beforeMs) continue;
      for (const [key, child] of entry.children) remove(id, key, child);
      this.byId.delete(id);
    }
  }
}
