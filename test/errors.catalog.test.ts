import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type ErrorName, errorCatalog } from '../src/domain/errors.js';
import { statusOf } from '../src/http/errors.js';
import { klevCode } from '../src/protocols/klev/errors.js';

describe('error catalog', () => {
  it('docs/errors.md lists exactly the catalog, with the same status and message', () => {
    const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^\| `(ERR_KLEV_API_\d{4})` \| (\d{3}) \| (.+?) \| .+ \|$/gm)].map(([, code, status, message]) => ({
      code,
      status: Number(status),
      message,
    }));
    const expected = Object.entries(errorCatalog).map(([name, entry]) => ({
      code: klevCode(name as ErrorName),
      status: statusOf[entry.kind],
      message: entry.message,
    }));
    expect(rows).toEqual(expected);
  });

  it('docs/errors.md names the Retry-After of exactly the errors that pass with time', () => {
    const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
    const documented = [...doc.matchAll(/^\| `(ERR_KLEV_API_\d{4})` \|.*$/gm)].map(([row, code]) => [code, row.match(/`Retry-After: (\d+)`/)?.[1]]);
    const expected = Object.entries(errorCatalog).map(([name, entry]) => [
      klevCode(name as ErrorName),
      'retryAfterSeconds' in entry ? String(entry.retryAfterSeconds) : undefined,
    ]);
    expect(documented).toEqual(expected);
    // The transient 503s and 429s all say when to come back.
    for (const name of ['shutting_down', 'database_unavailable', 'database_busy', 'too_many_long_polls', 'too_many_requests', 'server_busy'] as const) {
      expect(errorCatalog[name]).toHaveProperty('retryAfterSeconds');
    }
  });

  it('every code is unique', () => {
    const codes = Object.keys(errorCatalog).map((name) => klevCode(name as ErrorName));
    expect(new Set(codes).size).toBe(codes.length);
  });
});
