import { readdirSync } from 'node:fs';
import { HooklogError } from '../domain/errors.js';
import type { Readiness } from '../domain/types.js';

/** A backend's numbered migration files, in the order they apply: `001_init.sql`, … */
export function migrationFiles(dir: string): Array<{ version: number; name: string }> {
  return readdirSync(dir)
    .filter((name) => /^\d+_.+\.sql$/.test(name))
    .sort()
    .map((name) => ({ version: Number.parseInt(name, 10), name }));
}

/**
 * The readiness probe both backends share. `appliedVersion` reads the newest
 * migration the database holds, and gives up after the `timeoutMs` it is
 * passed. A database that does not answer within `timeoutMs` is not ready,
 * even if the query succeeds later; so is one a migration behind the code (a
 * newer node may have applied more: that is fine). Probes that arrive while a
 * query runs share it: a database that hangs holds one connection of the
 * pool, however often a load balancer asks.
 */
export function readinessProbe(
  appliedVersion: (timeoutMs: number) => Promise<number | null>,
  newestVersion: number,
): (timeoutMs: number) => Promise<Readiness> {
  let running: Promise<Readiness> | null = null;
  const query = (timeoutMs: number) =>
    appliedVersion(timeoutMs).then(
      (version): Readiness =>
        (version ?? 0) >= newestVersion
          ? { ready: true }
          : { ready: false, reason: 'migrations_behind', detail: `the database is at version ${version ?? 0}, this code needs ${newestVersion}` },
      unreadyOn,
    );
  return async (timeoutMs) => {
    running ??= query(timeoutMs).finally(() => {
      running = null;
    });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<Readiness>((resolve) => {
      timer = setTimeout(
        () => resolve({ ready: false, reason: 'database_timeout', detail: `the database did not answer within ${timeoutMs / 1000} s` }),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([running, late]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** A failed probe query, by the store's coded errors; the error itself goes only to the log. */
function unreadyOn(err: unknown): Readiness {
  const name = err instanceof HooklogError ? err.errorName : undefined;
  if (name === 'database_busy') return { ready: false, reason: 'database_timeout', detail: 'the database did not answer in time', cause: err };
  if (name === 'database_unavailable') return { ready: false, reason: 'database_unreachable', detail: 'the database cannot be reached', cause: err };
  return { ready: false, reason: 'database_error', detail: 'the database answered the probe with an error', cause: err };
}
