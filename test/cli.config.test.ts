import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { envName, settings } from '../src/config/schema.js';
import { BIN, runCli } from './helpers/process.js';
import { tempDir } from './helpers/server.js';

const ADMIN_TOKEN = 'admin-token-that-must-never-show-9f8e7d';
const DB_PASSWORD = 'db-password-that-must-never-show';

function yaml(text: string): string {
  const file = join(tempDir(), 'hooklog.yaml');
  writeFileSync(file, text);
  return file;
}

/** `hooklog config` as a person sees it: on a terminal, where it prints a table. */
async function onTerminal(env: Record<string, string>, ...flags: string[]): Promise<string> {
  const command = [process.execPath, BIN, 'config', ...flags].map((part) => `'${part}'`).join(' ');
  const { stdout } = await promisify(execFile)('script', ['-qec', command, '/dev/null'], { env: { PATH: process.env.PATH, ...env } });
  return stdout.replaceAll('\r\n', '\n');
}

describe('CLI: hooklog config', () => {
  it('shows every setting with its source and value: file, environment over file, default; secrets masked', async () => {
    const file = yaml('port: 9000\nlog_level: warn\nchannels:\n  - name: github\n    token: channel-token-never-shown\n');
    const env = {
      HOOKLOG_CONFIG: file,
      HOOKLOG_PORT: '9100',
      HOOKLOG_ADMIN_TOKEN: ADMIN_TOKEN,
      HOOKLOG_DATABASE_URL: `postgres://app:${DB_PASSWORD}@db.internal:5432/hooklog`,
    };
    const result = await runCli(['config'], env);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.config_file).toBe(file);
    const byKey = new Map(report.settings.map((s: { key: string }) => [s.key, s]));
    // Every setting of the schema, and the channels, in the schema's order: none is listed by hand.
    expect(report.settings.map((s: { key: string }) => s.key)).toEqual([...settings.map((s) => s.key), 'channels']);
    expect(byKey.get('log_level')).toEqual({ key: 'log_level', env: 'HOOKLOG_LOG_LEVEL', source: 'file', value: 'warn' });
    expect(byKey.get('port')).toEqual({ key: 'port', env: 'HOOKLOG_PORT', source: 'env', value: 9100 });
    expect(byKey.get('retry_schedule')).toEqual({
      key: 'retry_schedule',
      env: 'HOOKLOG_RETRY_SCHEDULE',
      source: 'default',
      value: [0, 5, 300, 1800, 7200, 18000, 36000, 36000],
    });
    expect(byKey.get('admin_token')).toEqual({ key: 'admin_token', env: 'HOOKLOG_ADMIN_TOKEN', source: 'env', value: '****' });
    expect(byKey.get('database_url')).toMatchObject({ source: 'env', value: 'postgres://app:****@db.internal:5432/hooklog' });
    expect(byKey.get('channels')).toEqual({ key: 'channels', env: null, source: 'file', value: ['github'] });

    const table = await onTerminal(env);
    expect(table).toContain(`config file: ${file} (HOOKLOG_CONFIG)`);
    expect(table).toMatch(/^SETTING\s+VALUE\s+SOURCE$/m);
    expect(table).toMatch(/^port\s+9100\s+env HOOKLOG_PORT$/m);
    expect(table).toMatch(/^log_level\s+warn\s+file$/m);
    expect(table).toMatch(/^host\s+\(empty\)\s+default$/m);
    expect(table).toMatch(/^admin_token\s+\*\*\*\*\s+env HOOKLOG_ADMIN_TOKEN$/m);
    for (const output of [result.stdout, result.stderr, table]) {
      expect(output).not.toContain(ADMIN_TOKEN);
      expect(output).not.toContain(DB_PASSWORD);
      expect(output).not.toContain('channel-token-never-shown');
    }
  });

  it('prints JSON on a terminal too with --json, and says when there is no file; an unset secret shows as empty', async () => {
    const report = JSON.parse(await onTerminal({}, '--json'));
    expect(report.config_file).toBeNull();
    expect(report.settings.every((s: { source: string }) => s.source === 'default')).toBe(true);
    expect(report.settings.find((s: { key: string }) => s.key === 'admin_token').value).toBe('');
    expect(await onTerminal({})).toContain('config file: none (HOOKLOG_CONFIG is not set)');
  });

  it('refuses an invalid configuration with exit 2 and the message serve gives', async () => {
    const invalid: Record<string, string>[] = [{ HOOKLOG_PORT: '99999' }, { HOOKLOG_ADMIN_TOKEN: 'short' }, { HOOKLOG_CONFIG: yaml('prot: 1\n') }];
    for (const env of invalid) {
      const config = await runCli(['config'], env);
      const serve = await runCli(['serve'], { ...env, HOOKLOG_DATA_DIR: tempDir() });
      expect(config.code).toBe(2);
      expect(config.stderr).toMatch(/^hooklog: invalid configuration: /);
      expect([config.stderr, config.stdout]).toEqual([serve.stderr, '']);
    }
  });

  it('marks every setting that holds a token, secret or password as secret', () => {
    // A limit per token (max_long_polls_per_token) names tokens without holding one.
    const holdsSecret = settings.filter((s) => (/token|secret|password/.test(s.key) && !/_per_token$/.test(s.key)) || s.key === 'database_url');
    expect(holdsSecret.map((s) => s.key)).toContain('admin_token');
    for (const setting of holdsSecret) expect(setting.secret, envName(setting)).toBeDefined();
  });
});
