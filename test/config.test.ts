import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { envName, settings } from '../src/config/schema.js';
import { runCli } from './helpers/process.js';
import { tempDir } from './helpers/server.js';

describe('configuration', () => {
  const yaml = (text: string) => {
    const file = join(tempDir(), 'hooklog.yaml');
    writeFileSync(file, text);
    return file;
  };

  it('has the documented defaults', () => {
    expect(loadConfig({})).toEqual({
      port: 8080,
      host: '',
      dataDir: './data',
      adminToken: '',
      maxBodyBytes: 1048576,
      retentionIntervalSeconds: 30,
      logLevel: 'info',
      sqliteSync: 'full',
      retrySchedule: [0, 5, 300, 1800, 7200, 18000, 36000, 36000],
      deliveryTimeoutSeconds: 15,
      allowPrivateDestinations: false,
      databaseUrl: '',
      databasePoolSize: 10,
      role: 'all',
      leaseSeconds: 15,
    });
  });

  it('layers defaults, then the YAML file, then the environment', () => {
    const file = yaml('port: 9000\ndata_dir: /var/lib/hooklog\nlog_level: warn\n');
    const config = loadConfig({ HOOKLOG_CONFIG: file, HOOKLOG_PORT: '9100', HOOKLOG_ADMIN_TOKEN: 'secret' });
    expect(config).toMatchObject({ port: 9100, dataDir: '/var/lib/hooklog', logLevel: 'warn', adminToken: 'secret', host: '' });
  });

  it('names the bad key and where it came from', () => {
    expect(() => loadConfig({ HOOKLOG_PORT: 'eighty' })).toThrow(/HOOKLOG_PORT: expected a port number/);
    expect(() => loadConfig({ HOOKLOG_MAX_BODY_BYTES: '-1' })).toThrow(/HOOKLOG_MAX_BODY_BYTES: expected a positive whole number/);
    expect(() => loadConfig({ HOOKLOG_LOG_LEVEL: 'loud' })).toThrow(/HOOKLOG_LOG_LEVEL: expected one of/);
    expect(loadConfig({ HOOKLOG_RETRY_SCHEDULE: '0, 0.5,2' }).retrySchedule).toEqual([0, 0.5, 2]);
    expect(() => loadConfig({ HOOKLOG_RETRY_SCHEDULE: '0,-1' })).toThrow(/HOOKLOG_RETRY_SCHEDULE: expected a comma-separated list/);
    expect(() => loadConfig({ HOOKLOG_RETRY_SCHEDULE: '' })).toThrow(/HOOKLOG_RETRY_SCHEDULE/);
    expect(loadConfig({ HOOKLOG_ALLOW_PRIVATE_DESTINATIONS: 'true' }).allowPrivateDestinations).toBe(true);
    expect(() => loadConfig({ HOOKLOG_ALLOW_PRIVATE_DESTINATIONS: 'yes' })).toThrow(/expected true or false/);
    expect(() => loadConfig({ HOOKLOG_SQLITE_SYNC: 'off' })).toThrow('HOOKLOG_SQLITE_SYNC: expected one of full, normal, got "off"');
    const file = yaml('prot: 9000\n');
    expect(() => loadConfig({ HOOKLOG_CONFIG: file })).toThrow(`${file}: unknown setting 'prot'`);
    const typed = yaml('port: [1]\n');
    expect(() => loadConfig({ HOOKLOG_CONFIG: typed })).toThrow(`${typed}: port: expected a port number`);
    expect(() => loadConfig({ HOOKLOG_CONFIG: '/nonexistent/hooklog.yaml' })).toThrow(/cannot read/);
  });

  it('serve refuses a bad configuration with a clear message and exit code 2', async () => {
    const result = await runCli(['serve'], { HOOKLOG_PORT: '99999' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('hooklog: invalid configuration: HOOKLOG_PORT: expected a port number from 0 to 65535');
  });

  it('the README documents every setting', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const setting of settings) expect(readme, envName(setting)).toContain(`\`${envName(setting)}\``);
  });
});
