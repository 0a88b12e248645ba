import { describe, expect, it } from 'vitest';
import { spawnServer } from './helpers/process.js';
import { ADMIN, removeDir, request, tempDir } from './helpers/server.js';

/** Durability of acknowledged writes across restarts, crashes and shutdowns of the real process. */
describe('durability', () => {
  it('messages survive a restart', async () => {
    const dataDir = tempDir();
    const env = { HOOKLOG_DATA_DIR: dataDir, HOOKLOG_ADMIN_TOKEN: ADMIN };
    let server = await spawnServer(env);
    const log = (await request(server.url, 'POST', '/logs', { body: {} })).body.log_id;
    await request(server.url, 'POST', `/messages/${log}`, { body: { messages: [{ key: 'a', value: '1' }, { value: '2' }] } });
    server.proc.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);

    server = await spawnServer(env);
    const consumed = await request(server.url, 'GET', `/messages/${log}`, { query: { offset: -2 } });
    expect(consumed.body.messages.map((m: { value: string }) => m.value)).toEqual(['1', '2']);
    const next = await request(server.url, 'POST', `/message/${log}`, { body: { value: '3' } });
    expect(next.body.next_offset).toBe(3);
    server.proc.kill('SIGTERM');
    await server.exited;
    removeDir(dataDir);
  });

  // Both sync modes promise that an acknowledged write survives a crash of hooklog itself.
  it.each(['full', 'normal'])('kill -9 during publishing loses no acknowledged message (sqlite_sync %s)', async (sync) => {
    const dataDir = tempDir();
    const env = { HOOKLOG_DATA_DIR: dataDir, HOOKLOG_ADMIN_TOKEN: ADMIN, HOOKLOG_SQLITE_SYNC: sync };
    let server = await spawnServer(env);
    const log = (await request(server.url, 'POST', '/logs', { body: {} })).body.log_id;

    // 20 publishers write as fast as they can; every 2xx is recorded.
    const acknowledged = new Set<string>();
    let stop = false;
    const publisher = async (id: number) => {
      for (let i = 0; !stop; i++) {
        const value = `${id}-${i}`;
        try {
          const res = await request(server.url, 'POST', `/message/${log}`, { body: { value } });
          if (res.status === 200) acknowledged.add(value);
        } catch {
          return; // the connection died with the server
        }
      }
    };
    const running = Array.from({ length: 20 }, (_, id) => publisher(id));
    await new Promise((resolve) => setTimeout(resolve, 700));
    server.proc.kill('SIGKILL');
    stop = true;
    await Promise.all(running);
    expect((await server.exited).signal).toBe('SIGKILL');
    expect(acknowledged.size).toBeGreaterThan(100);

    server = await spawnServer(env);
    const stored = new Set<string>();
    const offsets: number[] = [];
    for (let offset = 0; ; ) {
      const page = await request(server.url, 'GET', `/messages/${log}`, { query: { offset, len: 10_000 } });
      if (page.body.messages.length === 0) break;
      for (const m of page.body.messages) {
        stored.add(m.value);
        offsets.push(m.offset);
      }
      offset = page.body.next_offset;
    }
    const lost = [...acknowledged].filter((value) => !stored.has(value));
    expect(lost).toEqual([]);
    // Offsets stay gap-free through the crash.
    expect(offsets).toEqual(offsets.map((_, i) => i));
    server.proc.kill('SIGTERM');
    await server.exited;
    removeDir(dataDir);
  });

  it('SIGTERM finishes the writes in flight and exits 0', async () => {
    const dataDir = tempDir();
    const env = { HOOKLOG_DATA_DIR: dataDir, HOOKLOG_ADMIN_TOKEN: ADMIN };
    let server = await spawnServer(env);
    const log = (await request(server.url, 'POST', '/logs', { body: {} })).body.log_id;
    const messages = Array.from({ length: 1000 }, (_, i) => ({ value: `v${i}` }));
    // A long-poll in progress must not hold the shutdown open.
    const polling = request(server.url, 'GET', `/messages/${log}`, { query: { poll: 60_000 } });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const inFlight = Array.from({ length: 20 }, () => request(server.url, 'POST', `/messages/${log}`, { body: { messages } }).catch((err) => err));
    await new Promise((resolve) => setTimeout(resolve, 5));
    server.proc.kill('SIGTERM');
    const results = await Promise.all(inFlight);
    expect((await server.exited).code).toBe(0);
    expect((await polling).status).toBe(200);

    const acknowledged = results.filter((r) => r.status === 200).length;
    server = await spawnServer(env);
    const last = await request(server.url, 'GET', `/message/${log}`);
    expect(last.status === 404 ? 0 : last.body.offset + 1).toBeGreaterThanOrEqual(acknowledged * 1000);
    // Requests that were refused (503 while closing) or cut off wrote nothing partial.
    expect((last.status === 404 ? 0 : last.body.offset + 1) % 1000).toBe(0);
    server.proc.kill('SIGTERM');
    await server.exited;
    removeDir(dataDir);
  });

  it('SIGTERM writes the ingress counts still held in memory', async () => {
    const dataDir = tempDir();
    const env = { HOOKLOG_DATA_DIR: dataDir, HOOKLOG_ADMIN_TOKEN: ADMIN };
    let server = await spawnServer(env);
    const log = (await request(server.url, 'POST', '/logs', { body: {} })).body.log_id;
    const webhook = (await request(server.url, 'POST', '/ingress_webhooks', { body: { log_id: log, type: 'none' } })).body.webhook_id;
    for (let i = 0; i < 3; i++) expect((await request(server.url, 'POST', `/ingress/${webhook}`, { body: { i }, token: null })).status).toBe(200);
    // Counts are written once a second; the shutdown comes before that.
    server.proc.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);

    server = await spawnServer(env);
    expect((await request(server.url, 'GET', `/ingress_webhook/${webhook}/metrics`)).body).toMatchObject({ received: 3, accepted: 3 });
    server.proc.kill('SIGTERM');
    await server.exited;
    removeDir(dataDir);
  });

  it('the first start without HOOKLOG_ADMIN_TOKEN prints an admin token once, and it works', async () => {
    const dataDir = tempDir();
    let server = await spawnServer({ HOOKLOG_DATA_DIR: dataDir });
    const bearer = server.stdout().match(/HOOKLOG_TOKEN=(\S+)/)?.[1];
    expect(bearer).toBeDefined();
    expect((await request(server.url, 'GET', '/tokens', { token: bearer })).status).toBe(200);
    server.proc.kill('SIGTERM');
    await server.exited;

    server = await spawnServer({ HOOKLOG_DATA_DIR: dataDir });
    expect(server.stdout()).not.toContain('HOOKLOG_TOKEN=');
    expect((await request(server.url, 'GET', '/', { token: bearer })).status).toBe(200);
    server.proc.kill('SIGTERM');
    await server.exited;
    removeDir(dataDir);
  });
});
