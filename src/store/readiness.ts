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
 * The readiness probe both backends share: `appliedVersion` reads the newest
 * migration the database holds. A database that does not answer within
 * `timeoutMs` is not ready, even if the query succeeds later; so is one a
 * migration behind the code (a newer node may have applied more: that is fine).
 */
export async function probeReadiness(appliedVersion: () => Promise<number | null>, newestVersion: number, timeoutMs: number): Promise<Readiness> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Readiness>((resolve) => {
    timer = setTimeout(() => resolve({ ready: false, reason: `database did not answer within ${timeoutMs / 1000} s` }), timeoutMs);
  });
  const answered = appliedVersion().then(
    (version): Readiness =>
      (version ?? 0) >= newestVersion
        ? { ready: true }
        : { ready: false, reason: `migrations not applied: the database is at version ${version ?? 0}, this code needs ${newestVersion}` },
    (err: unknown): Readiness => ({ ready: false, reason: `database error: ${err instanceof HooklogError ? err.details : (err as Error).message}` }),
  );
  try {
    return await Promise.race([answered, late]);
  } finally {
    clearTimeout(timer);
  }
}
