import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { find, leaksIn } from './helpers/log-check.js';

/** The run's check of its logs (test/helpers/log-check.ts) only proves something if it finds what is there. */
describe('the check of a test run’s logs for secrets', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const run = (secrets: string[], logs: Record<string, string>) => {
    dir = mkdtempSync(join(tmpdir(), 'hooklog-secret-check-'));
    writeFileSync(join(dir, 'secrets-1.txt'), secrets.map((s) => `${JSON.stringify(s)}\n`).join(''));
    for (const [name, text] of Object.entries(logs)) writeFileSync(join(dir, name), text);
    return leaksIn(dir);
  };

  it('finds a secret in any log file, as written or as a JSON string escapes it, and names the file without the secret', () => {
    const bearer = 'tok_Q2xlYXJseVNlY3JldEJlYXJlcg';
    const quoted = 'whsec_has"quote\\and\\nnewline';
    const leaks = run([bearer, quoted], {
      'server-1.log': `{"msg":"request","authorization":"Bearer ${bearer}"}\n`,
      'process-1-2.log': `${JSON.stringify({ msg: 'oops', secret: quoted })}\n`,
      'clean.log': '{"msg":"request","tokenId":"tok_Q2"}\n',
    });
    expect(leaks).toHaveLength(2);
    expect(leaks.join('\n')).toMatch(/server-1\.log at character \d+: tok_… \(30 characters\)/);
    expect(leaks.join('\n')).toContain('process-1-2.log');
    for (const leak of leaks) expect(leak).not.toContain(bearer.slice(4));
  });

  it('finds nothing in logs that hold only ids and the secrets’ first characters', () => {
    expect(run(['sk_live_0123456789abcdef'], { 'server-1.log': '{"msg":"x","id":"sk_live_01234"}\n' })).toEqual([]);
  });

  it('finds every occurrence, overlapping prefixes included, in one pass', () => {
    const found = find('..aaaaaaaaaa-1..aaaaaaaaaa-2..', new Set(['aaaaaaaaaa-1', 'aaaaaaaaaa-2', 'aaaaaaaaaa-3']));
    expect(found).toEqual([
      { secret: 'aaaaaaaaaa-1', at: 2 },
      { secret: 'aaaaaaaaaa-2', at: 16 },
    ]);
  });
});
