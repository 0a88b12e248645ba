import { describe, expect, it } from 'vitest';
import { spawnServer } from './helpers/process.js';
import { startReceiver } from './helpers/receiver.js';
import { ADMIN, removeDir, request, tempDir } from './helpers/server.js';

describe('egress delivery across a crash', () => {
  it('kill -9 in the middle of delivery: after the restart every message arrives, in order, at least once', async () => {
    const dataDir = tempDir();
    const env = { HOOKLOG_DATA_DIR: dataDir, HOOKLOG_ADMIN_TOKEN: ADMIN, HOOKLOG_ALLOW_PRIVATE_DESTINATIONS: 'true', HOOKLOG_RETRY_SCHEDULE: '0,0.1' };
    const receiver = await startReceiver();
    receiver.fallback = { status: 200, delayMs: 3 };
    let server = await spawnServer(env);
    const log = (await request(server.url, 'POST', '/logs', { body: {} })).body.log_id;
    const id = (await request(server.url, 'POST', '/egress_webhooks', { body: { log_id: log, destination: receiver.url } })).body.webhook_id;
    const total = 300;
    await request(server.url, 'POST', `/messages/${log}`, { body: { messages: Array.from({ length: total }, (_, i) => ({ value: String(i) })) } });

    await receiver.waitFor(80);
    server.proc.kill('SIGKILL');
    expect((await server.exited).signal).toBe('SIGKILL');
    const beforeCrash = receiver.received.length;
    expect(beforeCrash).toBeLessThan(total);

    server = await spawnServer(env);
    const offsets = () => receiver.received.map((r) => JSON.parse(r.body.toString()).offset as number);
    const deadline = Date.now() + 20_000;
    while (!offsets().includes(total - 1) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));

    const seen = offsets();
    expect(new Set(seen)).toEqual(new Set(Array.from({ length: total }, (_, i) => i)));
    // In order: one run before the crash and one after, each rising by one; the
    // second may start a little before the first ended (redelivery), never after.
    const rewind = seen.findIndex((offset, i) => i > 0 && offset !== seen[i - 1]! + 1);
    const runs = rewind === -1 ? [seen] : [seen.slice(0, rewind), seen.slice(rewind)];
    for (const run of runs) expect(run).toEqual(run.map((_, i) => run[0]! + i));
    if (runs.length === 2) expect(runs[1]![0]).toBeLessThanOrEqual(runs[0]!.at(-1)! + 1);

    // The records are exact across the crash, though several attempts share a
    // transaction: once the cursor is past every message, each message has a
    // recorded 2xx attempt, and no more of them than the receiver had.
    const cursor = async () => (await request(server.url, 'GET', `/egress_webhook/${id}/status`)).body.next_offset;
    while ((await cursor()) !== total && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await cursor()).toBe(total);
    const delivered = new Map<number, number>();
    for (let page: { attempts: Array<{ offset: number; status_code?: number }>; next_cursor: string | null } | undefined; page?.next_cursor !== null; ) {
      const query = { limit: 250, ...(page ? { cursor: page.next_cursor! } : {}) };
      page = (await request(server.url, 'GET', `/egress_webhook/${id}/attempts`, { query })).body;
      for (const attempt of page!.attempts) if (attempt.status_code === 200) delivered.set(attempt.offset, (delivered.get(attempt.offset) ?? 0) + 1);
    }
    const received = new Map<number, number>();
    for (const offset of seen) received.set(offset, (received.get(offset) ?? 0) + 1);
    const inexact = Array.from({ length: total }, (_, offset) => offset).filter(
      (offset) => !delivered.has(offset) || delivered.get(offset)! > received.get(offset)!,
    );
    expect(inexact).toEqual([]);

    server.proc.kill('SIGTERM');
    await server.exited;
    await receiver.close();
    removeDir(dataDir);
  });
});
