import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useCliServer } from './helpers/cli.js';
import { BIN, freePort, runCli } from './helpers/process.js';
import { startReceiver } from './helpers/receiver.js';
import { eventually } from './helpers/server.js';

/** Runs `hooklog receive` and collects what it prints. */
async function startReceive(secret: string, port?: number) {
  port ??= await freePort();
  const proc: ChildProcess = spawn(process.execPath, [BIN, 'receive', '--secret', secret, '--port', String(port)], { env: { PATH: process.env.PATH } });
  const output = { stdout: '', stderr: '' };
  proc.stdout!.on('data', (chunk) => (output.stdout += chunk));
  proc.stderr!.on('data', (chunk) => (output.stderr += chunk));
  while (!output.stdout.includes('running server at')) await new Promise((resolve) => setTimeout(resolve, 20));
  return { port, proc, output, url: `http://127.0.0.1:${port}/` };
}

const until = (check: () => boolean) => eventually(() => expect(check()).toBe(true), 5000);

describe('CLI: egress webhooks and receive', () => {
  const fixture = useCliServer({ allowPrivateDestinations: true, retrySchedule: [0, 0.1] });
  const { cli } = fixture;

  it("follows klev's blog: create a log and a webhook, receive, publish, read the status", async () => {
    const log = await cli('logs', 'create', '--metadata', 'egress webhook test');
    const port = await freePort();
    const webhook = await cli(
      'egress-webhooks',
      'create',
      '--log-id',
      log.log_id,
      '--metadata',
      'egress webhook test',
      '--destination',
      `http://127.0.0.1:${port}`,
    );
    expect(webhook).toMatchObject({ log_id: log.log_id, payload: 'message', secret: expect.stringMatching(/^ewhsec_/) });

    const receive = await startReceive(webhook.secret, port);
    const out = () => receive.output.stdout;
    expect(out()).toContain(`running server at :${port}`);

    expect(await cli('publish', log.log_id, '--value', 'hello world')).toEqual({ next_offset: 1 });
    await until(() => out().includes('Value: hello world'));
    expect(out()).toMatch(/Offset: 0\n Time: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC\n Key: \n Value: hello world\n/);

    const status = await cli('egress-webhooks', 'status', webhook.webhook_id);
    expect(status).toMatchObject({ webhook_id: webhook.webhook_id, active: true, available_offset: 0, next_offset: 1, deliver_offset: 0 });
    expect(status.deliver_resp).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    receive.proc.kill();
  });

  it('manages webhooks: list, get, update, rotate, delete', async () => {
    const log = await cli('logs', 'create');
    const created = await cli(
      'egress-webhooks',
      'create',
      '--log-id',
      log.log_id,
      '--destination',
      'http://127.0.0.1:9/x',
      '--metadata',
      'cli',
      '--payload',
      'value',
    );
    const { secret, ...shown } = created;
    expect((await cli('egress-webhooks', 'list', '--metadata', 'cli')).items).toEqual([shown]);
    expect(await cli('egress-webhooks', 'get', created.webhook_id)).toEqual(shown);
    expect(await cli('egress-webhooks', 'update', created.webhook_id, '--metadata', 'renamed', '--activate')).toMatchObject({ metadata: 'renamed' });
    const rotated = await cli('egress-webhooks', 'rotate', created.webhook_id, '--expire-seconds', '60');
    expect(rotated.secret).toMatch(/^ewhsec_/);
    expect(rotated.secret).not.toBe(secret);
    expect((await cli('egress-webhooks', 'delete', created.webhook_id)).webhook_id).toBe(created.webhook_id);
    const missing = await runCli(['egress-webhooks', 'get', created.webhook_id], fixture.env);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stderr).error).toBe('ERR_KLEV_API_0116');
  });

  it('creates a parallel, Standard Webhooks destination with custom headers, replaces and clears them', async () => {
    const log = await cli('logs', 'create');
    const created = await cli(
      'egress-webhooks',
      'create',
      '--log-id',
      log.log_id,
      '--destination',
      'http://127.0.0.1:9/x',
      '--mode',
      'parallel',
      '--signing',
      'standard-webhooks',
      '--header',
      'X-Team: payments',
      '--header',
      'X-Region:eu',
    );
    expect(created).toMatchObject({ mode: 'parallel', signing: 'standard-webhooks', headers: { 'x-team': 'payments', 'x-region': 'eu' } });
    expect(created.secret).toMatch(/^whsec_/);
    const id = created.webhook_id;
    expect((await cli('egress-webhooks', 'update', id, '--header', 'X-Only: 1')).headers).toEqual({ 'x-only': '1' });
    expect((await cli('egress-webhooks', 'update', id, '--metadata', 'm')).headers).toEqual({ 'x-only': '1' });
    expect((await cli('egress-webhooks', 'update', id, '--no-headers')).headers).toEqual({});
    const refused = await runCli(['egress-webhooks', 'update', id, '--header', 'Host: evil.example'], fixture.env);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stderr)).toMatchObject({ error: 'ERR_KLEV_API_0102', details: expect.stringContaining('Host cannot be set') });
    const malformed = await runCli(['egress-webhooks', 'update', id, '--header', 'no colon'], fixture.env);
    expect(malformed.code).not.toBe(0);
    expect(malformed.stderr).toContain("expected 'Name: value'");
  });

  it('receive refuses a bad signature with 401 and a line on stderr, and keeps running', async () => {
    const secret = 'ewhsec_receivetest';
    const receive = await startReceive(secret);
    const body = JSON.stringify({ encoding: 'string', offset: 5, time: 1695490927247960, value: 'ok' });
    const t = Math.floor(Date.now() / 1000);
    const sign = (key: string, ts: number, content: string) => createHmac('sha256', key).update(`${ts}.${content}`).digest('hex');
    const post = (signature: string | undefined, content = body, type = 'application/json') =>
      fetch(receive.url, { method: 'POST', body: content, headers: { 'content-type': type, ...(signature && { 'x-klev-signature': signature }) } });

    expect((await post(`t=${t};v1=${sign('wrong', t, body)}`)).status).toBe(401);
    expect((await post(undefined)).status).toBe(401);
    expect((await post(`t=${t - 301};v1=${sign(secret, t - 301, body)}`)).status).toBe(401);
    expect((await post(`t=${t};v1=${sign(secret, t, body)}`, `${body} `)).status).toBe(401);
    await until(() => receive.output.stderr.split('\n').filter(Boolean).length === 4);
    expect(receive.output.stderr).toContain('no signature matches the secret');
    expect(receive.output.stderr).toContain('timestamp outside the tolerance');

    // Still running; several v1 values (a rotation) are accepted if one matches.
    expect((await post(`t=${t};v1=${sign('old', t, body)};v1=${sign(secret, t, body)}`)).status).toBe(200);
    await until(() => receive.output.stdout.includes('Value: ok'));
    expect(receive.output.stdout).toContain('Offset: 5\n Time: 2023-09-23 17:42:07.24796 +0000 UTC\n Key: \n Value: ok\n');

    // key and value payloads arrive as octet-stream.
    const raw = 'raw bytes';
    expect((await post(`t=${t};v1=${sign(secret, t, raw)}`, raw, 'application/octet-stream')).status).toBe(200);
    await until(() => receive.output.stdout.includes('Payload (9 bytes): raw bytes'));
    receive.proc.kill();
  });

  it('filters and rate-limits, then lists attempts, summarises, and resends, replays and recovers, following each task to its end', async () => {
    const receiver = await startReceiver();
    receiver.respond = (request) => (JSON.parse(request.body.toString()).value === 'bad' ? { status: 500 } : undefined);
    try {
      const log = await cli('logs', 'create');
      const webhook = await cli(
        ...['egress-webhooks', 'create', '--log-id', log.log_id, '--destination', receiver.url, '--mode', 'parallel'],
        ...['--filter-event-type', 'a.b', '--filter-event-type', 'c.d', '--filter-channel', 'eu', '--rate-limit', '50'],
      );
      expect(webhook).toMatchObject({ filter_event_types: ['a.b', 'c.d'], filter_channels: ['eu'], rate_limit: 50 });
      const id = webhook.webhook_id;
      await cli('publish', log.log_id, '--value', 'good', '--event-type', 'a.b', '--channel', 'eu');
      await cli('publish', log.log_id, '--value', 'bad', '--event-type', 'c.d', '--channel', 'eu');
      await cli('publish', log.log_id, '--value', 'skipped', '--event-type', 'x.y');
      await eventually(async () => expect((await cli('egress-webhooks', 'summary', id)).counts).toMatchObject({ success: 1, failed: 1, skipped: 1 }));

      const page = await cli('egress-webhooks', 'attempts', id, '--status', 'failed', '--limit', '1');
      expect(page.attempts).toHaveLength(1);
      expect(page.attempts[0]).toMatchObject({ offset: 1, status_code: 500, trigger: 'scheduled' });
      const older = await cli('egress-webhooks', 'attempts', id, '--status', 'failed', '--cursor', page.next_cursor);
      expect(older.attempts.every((a: { attempt_id: string }) => a.attempt_id !== page.attempts[0].attempt_id)).toBe(true);
      expect(await cli('egress-webhooks', 'attempts', id, page.attempts[0].attempt_id)).toEqual(page.attempts[0]);

      // Each waits for its task and prints it as it ended.
      expect(await cli('egress-webhooks', 'resend', id, '--offset', '0')).toMatchObject({ kind: 'resend', status: 'finished', sent: 1, succeeded: 1 });
      expect(await cli('egress-webhooks', 'replay', id, '--since', '0', '--until', '3')).toMatchObject({ status: 'finished', sent: 2, failed: 1 });
      receiver.respond = undefined;
      const recovered = await cli('egress-webhooks', 'recover', id, '--since', '2020-01-01T00:00:00Z');
      expect(recovered).toMatchObject({ kind: 'recover', status: 'finished', sent: 1, succeeded: 1 });
      expect(await cli('egress-webhooks', 'task', recovered.task_id)).toEqual(recovered);
      const manual = (await cli('egress-webhooks', 'attempts', id, '--limit', '100')).attempts.filter((a: { trigger: string }) => a.trigger === 'manual');
      expect(manual).toHaveLength(4);
      expect((await cli('egress-webhooks', 'summary', id)).counts).toMatchObject({ success: 2, failed: 0, skipped: 1 });

      const noWait = await cli('egress-webhooks', 'replay', id, '--since', '0', '--no-wait');
      expect(noWait).toMatchObject({ kind: 'replay', total: 3 });
      const refused = await runCli(['egress-webhooks', 'recover', id, '--since', 'yesterday'], fixture.env);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('--since must be microseconds since the epoch or a date');
    } finally {
      await receiver.close();
    }
  });
});
