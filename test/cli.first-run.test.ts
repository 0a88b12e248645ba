import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { useCliServer } from './helpers/cli.js';
import { runCli } from './helpers/process.js';
import { ADMIN } from './helpers/server.js';

const root = new URL('..', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
const NO_TOKEN = /^hooklog: no API token: set HOOKLOG_TOKEN \(or pass --token\)/;

/** Whether something answers on a local port, so that a test of the default URL knows what to expect there. */
async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('CLI: first run', () => {
  const fixture = useCliServer();

  it('--version prints the version of package.json', async () => {
    const result = await runCli(['--version'], {});
    expect([result.code, result.stdout]).toEqual([0, `${pkg.version}\n`]);
  });

  it('names HOOKLOG_TOKEN when there is no token, set or empty, and exits 2 before calling the server', async () => {
    const tokenless: Record<string, string>[] = [{ HOOKLOG_URL: fixture.server.url }, { HOOKLOG_URL: fixture.server.url, HOOKLOG_TOKEN: '' }];
    for (const env of tokenless) {
      const result = await runCli(['logs', 'list'], env);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(NO_TOKEN);
      expect(result.stdout).toBe('');
    }
    // A token the server refuses is the server's answer: its coded error, exit 1.
    const refused = await runCli(['logs', 'list'], { HOOKLOG_URL: fixture.server.url, HOOKLOG_TOKEN: 'not-a-token' });
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stderr).error).toBe('ERR_KLEV_API_0003');
  });

  it('takes an empty HOOKLOG_URL as the default address', async () => {
    const result = await runCli(['paths'], { HOOKLOG_URL: '', HOOKLOG_TOKEN: ADMIN });
    expect(result.stderr).not.toContain('Invalid URL');
    if (await listening(8080)) {
      // Something else serves the default port here; what matters is that the CLI went to it.
      expect(result.stderr).not.toMatch(/cannot reach/);
    } else {
      expect([result.code, result.stderr]).toEqual([1, 'hooklog: cannot reach http://127.0.0.1:8080: ECONNREFUSED\n']);
    }
    // And --url still wins over it.
    expect((await runCli(['--url', fixture.server.url, 'paths'], { HOOKLOG_URL: '', HOOKLOG_TOKEN: ADMIN })).code).toBe(0);
  });

  it('marks required flags in --help', async () => {
    /** One option's entry in a command's help: its line and the lines its description wraps onto. */
    const entry = async (args: string[], flag: string) => {
      const help = (await runCli([...args, '--help'], {})).stdout;
      const at = help.indexOf(`  ${flag}`);
      expect(at, flag).toBeGreaterThan(0);
      return help
        .slice(at)
        .split(/\n(?= {2}-)/)[0]!
        .replace(/\s+/g, ' ')
        .trim();
    };
    expect(await entry(['ingress-webhooks', 'create'], '--log-id')).toBe('--log-id <log_id> the log that receives the webhooks (required)');
    expect(await entry(['ingress-webhooks', 'create'], '--type')).toMatch(/^--type <type> one of: .* \(required\)$/);
    expect(await entry(['ingress-webhooks', 'create'], '--metadata')).toBe('--metadata <text> metadata of the webhook');
    expect(await entry(['egress-webhooks', 'create'], '--destination')).toMatch(/\(required\)$/);
    expect(await entry(['offsets', 'set'], '--value')).toMatch(/\(required\)$/);
    expect(await entry(['receive'], '--secret')).toMatch(/\(required\)$/);
    expect(await entry(['receive'], '--port')).not.toMatch(/required/);
  });

  it('answers other methods with 405 and an Allow header, on the API and on channel URLs', async () => {
    const logs = await fetch(`${fixture.server.url}/logs`, { method: 'PUT', headers: { authorization: `Bearer ${ADMIN}` } });
    expect([logs.status, logs.headers.get('allow')]).toEqual([405, 'GET, POST']);
    // A channel's URL takes the sender's POST and the reader's GET.
    const channel = await fetch(`${fixture.server.url}/api/webhook/some-channel`, { method: 'DELETE' });
    expect([channel.status, channel.headers.get('allow')]).toEqual([405, 'POST, GET']);
  });

  it('ships the text of the license package.json names as LICENSE, and the copyright in NOTICE, as Apache-2.0 asks', async () => {
    expect(pkg.license).toBe('Apache-2.0');
    const license = readFileSync(new URL('LICENSE', root), 'utf8');
    expect(license).toMatch(/^\s+Apache License\n\s+Version 2\.0, January 2004$/m);
    expect(license).toContain('END OF TERMS AND CONDITIONS');
    expect(readFileSync(new URL('NOTICE', root), 'utf8')).toContain('Copyright (c) 2026 hooklog contributors');
    const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root });
    expect(JSON.parse(stdout)[0].files.map((file: { path: string }) => file.path)).toEqual(expect.arrayContaining(['LICENSE', 'NOTICE']));
  });
});
