import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, runCli, spawnServer } from './helpers/process.js';
import { ADMIN, tempDir } from './helpers/server.js';

/** What the server process does at start with its files and its address. */
describe('server process', () => {
  const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8);

  it('creates the data directory 700 and the database files 600, as they hold webhook secrets', async () => {
    const dataDir = join(tempDir(), 'data');
    const server = await spawnServer({ HOOKLOG_DATA_DIR: dataDir, HOOKLOG_ADMIN_TOKEN: ADMIN });
    try {
      expect(modeOf(dataDir)).toBe('700');
      for (const file of ['hooklog.db', 'hooklog.db-wal', 'hooklog.db-shm']) expect(modeOf(join(dataDir, file)), file).toBe('600');
    } finally {
      server.proc.kill('SIGTERM');
      await server.exited;
    }
  });

  it('refuses to start on a data directory others can read, unless told to allow it', async () => {
    const dataDir = join(tempDir(), 'shared');
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o755);
    const refused = await runCli(['serve'], { HOOKLOG_DATA_DIR: dataDir, HOOKLOG_ADMIN_TOKEN: ADMIN, HOOKLOG_PORT: String(await freePort()) });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`the data directory ${dataDir} can be read or entered by other users (mode 755)`);
    expect(refused.stderr).toContain(`chmod 700 ${dataDir}`);
    const allowed = await spawnServer({ HOOKLOG_DATA_DIR: dataDir, HOOKLOG_ADMIN_TOKEN: ADMIN, HOOKLOG_ALLOW_READABLE_DATA_DIR: 'true' });
    allowed.proc.kill('SIGTERM');
    expect((await allowed.exited).code).toBe(0);
    // The files are still the owner's alone.
    expect(modeOf(join(dataDir, 'hooklog.db'))).toBe('600');
  });

  it('names the address it actually bound in its startup line', async () => {
    const server = await spawnServer({ HOOKLOG_DATA_DIR: tempDir(), HOOKLOG_ADMIN_TOKEN: ADMIN, HOOKLOG_HOST: '' });
    try {
      const port = new URL(server.url).port;
      expect(server.stdout()).toMatch(new RegExp(`listening on http://(\\[::\\]|0\\.0\\.0\\.0):${port} \\(every address\\)`));
      const local = await spawnServer({ HOOKLOG_DATA_DIR: tempDir(), HOOKLOG_ADMIN_TOKEN: ADMIN });
      expect(local.stdout()).toContain(`listening on http://127.0.0.1:${new URL(local.url).port} (`);
      local.proc.kill('SIGTERM');
      await local.exited;
    } finally {
      server.proc.kill('SIGTERM');
      await server.exited;
    }
  });
});
