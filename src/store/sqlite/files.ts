import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';

/**
 * The data directory and the database files hold webhook signing secrets:
 * they are created for the owner alone (700 and 600). SQLite creates its WAL
 * and shared-memory files with the database file's mode, so the database
 * file is created first, with 600.
 */
export function prepareFiles(dataDir: string, databaseFile: string, options: { allowReadableDir: boolean }): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const mode = statSync(dataDir).mode & 0o777;
  if ((mode & 0o077) !== 0 && !options.allowReadableDir) {
    throw new Error(
      `the data directory ${dataDir} can be read or entered by other users (mode ${mode.toString(8)}), and it holds webhook secrets; ` +
        `run chmod 700 ${dataDir}, or set HOOKLOG_ALLOW_READABLE_DATA_DIR=true to start anyway`,
    );
  }
  if (!existsSync(databaseFile)) closeSync(openSync(databaseFile, 'a', 0o600));
  for (const file of [databaseFile, `${databaseFile}-wal`, `${databaseFile}-shm`]) {
    if (existsSync(file) && (statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  }
}
