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
      healthPort: 0,
      shutdownDelaySeconds: 5,
      dataDir: './data',
      adminToken: '',
      metricsToken: '',
      maxBodyBytes: 1048576,
      maxResponseBytes: 4194304,
      requestTimeoutSeconds: 30,
      keepAliveTimeoutSeconds: 72,
      maxLongPolls: 10000,
      maxConnections: 20000,
      maxLongPollsPerToken: 1000,
      ingressMaxRequestsPerClient: 100,
      allowReadableDataDir: false,
      retentionIntervalSeconds: 30,
      attemptRetentionDays: 30,
      logLevel: 'info',
      sqliteSync: 'full',
      sqliteCacheMb: 32,
      retrySchedule: [0, 5, 300, 1800, 7200, 18000, 36000, 36000],
      deliveryTimeoutSeconds: 15,
      allowPrivateDestinations: false,
      transformationTimeoutMs: 50,
      transformationMemoryMb: 16,
      transformationMaxOutputBytes: 1048576,
      transformationThreads: 2,
      databaseUrl: '',
      databasePoolSize: 10,
      databaseStatementTimeoutSeconds: 60,
      databaseAcquireTimeoutSeconds: 10,
      role: 'all',
      leaseSeconds: 15,
      channels: [],
    });
  });

  it('takes a shutdown delay of 0 (stop at once) or more seconds, and refuses a negative one', () => {
    expect(loadConfig({ HOOKLOG_SHUTDOWN_DELAY_SECONDS: '0' }).shutdownDelaySeconds).toBe(0);
    expect(loadConfig({ HOOKLOG_SHUTDOWN_DELAY_SECONDS: '2.5' }).shutdownDelaySeconds).toBe(2.5);
    expect(() => loadConfig({ HOOKLOG_SHUTDOWN_DELAY_SECONDS: '-1' })).toThrow(/HOOKLOG_SHUTDOWN_DELAY_SECONDS: expected a number of seconds from 0/);
  });

  it('refuses a health_port that is the API port, except on a worker, which has no API listener', () => {
    expect(() => loadConfig({ HOOKLOG_HEALTH_PORT: '8080' })).toThrow('health_port (HOOKLOG_HEALTH_PORT) must differ from port (HOOKLOG_PORT)');
    expect(loadConfig({ HOOKLOG_HEALTH_PORT: '8081' }).healthPort).toBe(8081);
    const worker = { HOOKLOG_ROLE: 'worker', HOOKLOG_DATABASE_URL: 'postgres://localhost/x', HOOKLOG_HEALTH_PORT: '8080' };
    expect(loadConfig(worker).healthPort).toBe(8080);
  });

  it('layers defaults, then the YAML file, then the environment', () => {
    const file = yaml('port: 9000\ndata_dir: /var/lib/hooklog\nlog_level: warn\n');
    const config = loadConfig({ HOOKLOG_CONFIG: file, HOOKLOG_PORT: '9100', HOOKLOG_ADMIN_TOKEN: 'secret-of-at-least-24-chars' });
    expect(config).toMatchObject({ port: 9100, dataDir: '/var/lib/hooklog', logLevel: 'warn', adminToken: 'secret-of-at-least-24-chars', host: '' });
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
    // Node's timers fire after 1 ms when asked for more than 2^31 - 1 ms.
    expect(() => loadConfig({ HOOKLOG_DELIVERY_TIMEOUT_SECONDS: '3000000' })).toThrow(
      /HOOKLOG_DELIVERY_TIMEOUT_SECONDS: expected a positive number of seconds up to 2147483/,
    );
    expect(() => loadConfig({ HOOKLOG_RETENTION_INTERVAL_SECONDS: '2147484' })).toThrow(/up to 2147483/);
    expect(loadConfig({ HOOKLOG_LEASE_SECONDS: '2147483' }).leaseSeconds).toBe(2147483);
    expect(() => loadConfig({ HOOKLOG_SQLITE_SYNC: 'off' })).toThrow('HOOKLOG_SQLITE_SYNC: expected one of full, normal, got "off"');
    const file = yaml('prot: 9000\n');
    expect(() => loadConfig({ HOOKLOG_CONFIG: file })).toThrow(`${file}: unknown setting 'prot'`);
    const typed = yaml('port: [1]\n');
    expect(() => loadConfig({ HOOKLOG_CONFIG: typed })).toThrow(`${typed}: port: expected a port number`);
    expect(() => loadConfig({ HOOKLOG_CONFIG: '/nonexistent/hooklog.yaml' })).toThrow(/cannot read/);
  });

  it('never echoes a value that may be a secret when it is refused: secret settings, channels, a line of bad YAML', () => {
    const refusal = (file: string) => {
      try {
        loadConfig({ HOOKLOG_CONFIG: file });
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error('the configuration was accepted');
    };
    const wrongType = refusal(yaml('admin_token: [ADMIN_SECRET_0123456789abcdef]\nmetrics_token: x\n'));
    expect(wrongType).toMatch(/admin_token: expected a string, got a list$/);
    expect(refusal(yaml('metrics_token: {a: METRICS_SECRET_0123456789}\n'))).toMatch(/metrics_token: expected a string, got a mapping$/);
    const channels = refusal(yaml('channels: {name: x, token: CHANNEL_TOKEN_SECRET_0123}\n'));
    expect(channels).toMatch(/channels: expected a list of channels, got a mapping$/);
    expect(refusal(yaml('channels:\n  - name: x\n    token: 123456789012345\n'))).toMatch(/channels\[0\]\.token: expected a string, got a number$/);
    const broken = refusal(yaml('metrics_token: "abc\\q_METRICS_SECRET_0123456789"\n'));
    expect(broken).toMatch(/invalid YAML: .*line 1/);
    for (const message of [wrongType, channels, broken]) expect(message).not.toMatch(/SECRET|123456789012345/);
    // A setting that is no secret still shows what it got.
    expect(refusal(yaml('port: [1]\n'))).toMatch(/port: expected a port number from 0 to 65535, got \[1\]$/);
  });

  it('serve refuses a bad configuration with a clear message and exit code 2', async () => {
    const result = await runCli(['serve'], { HOOKLOG_PORT: '99999' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('hooklog: invalid configuration: HOOKLOG_PORT: expected a port number from 0 to 65535');
  });

  it('refuses an admin token shorter than 24 characters, at load and at serve (exit 2)', async () => {
    expect(() => loadConfig({ HOOKLOG_ADMIN_TOKEN: 'a' })).toThrow('admin_token (HOOKLOG_ADMIN_TOKEN) must be at least 24 characters, got 1');
    expect(() => loadConfig({ HOOKLOG_ADMIN_TOKEN: 'x'.repeat(23) })).toThrow(/at least 24 characters/);
    expect(loadConfig({ HOOKLOG_ADMIN_TOKEN: 'x'.repeat(24) }).adminToken).toHaveLength(24);
    const result = await runCli(['serve'], { HOOKLOG_ADMIN_TOKEN: 'a', HOOKLOG_DATA_DIR: tempDir() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('hooklog: invalid configuration: admin_token (HOOKLOG_ADMIN_TOKEN) must be at least 24 characters');
  });

  it('the README documents every setting', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const setting of settings) expect(readme, envName(setting)).toContain(`\`${envName(setting)}\``);
  });
});
