import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { MIN_SECRET_LENGTH } from './secrets.js';

/**
 * vitest's globalSetup: gives the run a directory for its servers' logs and
 * its secrets (test/helpers/secrets.ts), and, once every test file is done,
 * fails the run if any log line holds any secret the tests made or used.
 */
export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'hooklog-logs-'));
  project.provide('logDir', dir);
  return () => {
    const leaks = leaksIn(dir);
    if (leaks.length > 0) {
      // vitest reports a teardown's error but leaves the exit code alone. The directory is kept, for a look at the lines.
      process.exitCode = 1;
      throw new Error(`secrets reached the logs in ${dir}:\n${leaks.join('\n')}`);
    }
    rmSync(dir, { recursive: true, force: true });
  };
}

/** Each secret found in a log file, by where, with the secret masked. */
export function leaksIn(dir: string): string[] {
  const files = readdirSync(dir);
  const secrets = new Set<string>();
  for (const file of files.filter((name) => name.startsWith('secrets-'))) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (!line) continue;
      const secret = JSON.parse(line) as string;
      secrets.add(secret);
      // As a JSON log line writes it, when that differs (quotes, backslashes, control characters).
      secrets.add(JSON.stringify(secret).slice(1, -1));
    }
  }
  const leaks: string[] = [];
  for (const file of files.filter((name) => name.endsWith('.log'))) {
    for (const { secret, at } of find(readFileSync(join(dir, file), 'utf8'), secrets)) {
      leaks.push(`  ${file} at character ${at}: ${secret.slice(0, 4)}… (${secret.length} characters)`);
    }
  }
  return leaks;
}

/**
 * Every occurrence of any of `secrets` in `text`, in one pass: each secret is
 * filed under its first MIN_SECRET_LENGTH characters, and each position of
 * the text is looked up by the characters there. Searching for thousands of
 * secrets one by one through megabytes of logs would take minutes.
 */
export function find(text: string, secrets: Set<string>): Array<{ secret: string; at: number }> {
  const byPrefix = new Map<string, string[]>();
  for (const secret of secrets) {
    const prefix = secret.slice(0, MIN_SECRET_LENGTH);
    (byPrefix.get(prefix) ?? byPrefix.set(prefix, []).get(prefix)!).push(secret);
  }
  const found: Array<{ secret: string; at: number }> = [];
  for (let at = 0; at + MIN_SECRET_LENGTH <= text.length; at++) {
    const candidates = byPrefix.get(text.slice(at, at + MIN_SECRET_LENGTH));
    if (!candidates) continue;
    for (const secret of candidates) if (text.startsWith(secret, at)) found.push({ secret, at });
  }
  return found;
}
