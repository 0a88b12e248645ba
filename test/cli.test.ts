import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { useCliServer } from './helpers/cli.js';
import { BIN, freePort, runCli } from './helpers/process.js';
import { ADMIN, eventually, longPollsWaiting, METRICS_TOKEN, startTestServer } from './helpers/server.js';

describe('CLI', () => {
  const fixture = useCliServer();
  const { cli } = fixture;

  it('paths lists the resources', async () => {
    expect(await cli('paths')).toHaveProperty('/messages');
  });

  it('takes --url and --token instead of the environment', async () => {
    const result = await runCli(['--url', fixture.server.url, '--token', ADMIN, 'logs', 'list'], {});
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toHaveProperty('logs');
  });

  it('help names HOOKLOG_TOKEN but never prints the token it holds', async () => {
    const top = await runCli(['--help'], fixture.env);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('(env: HOOKLOG_TOKEN)');
    for (const args of [['--help'], ['logs', 'list', '--help'], ['ingress-webhooks', 'create', '--help']]) {
      expect((await runCli(args, fixture.env)).stdout).not.toContain(fixture.env.HOOKLOG_TOKEN);
    }
  });

  it('manages tokens with metadata and repeated --acl', async () => {
    const created = await cli('tokens', 'create', '--metadata', 'cli', '--acl', 'logs:list', '--acl', 'messages:consume');
    expect(created).toMatchObject({ metadata: 'cli', acl: ['logs:list', 'messages:consume'], bearer: expect.any(String) });
    expect((await cli('tokens', 'list', '--metadata', 'cli')).tokens).toEqual([
      { token_id: created.token_id, metadata: 'cli', acl: ['logs:list', 'messages:consume'] },
    ]);
    expect((await cli('tokens', 'get', created.token_id)).token_id).toBe(created.token_id);
    // The new token works from the CLI and its ACL applies.
    expect((await runCli(['logs', 'list'], { HOOKLOG_URL: fixture.server.url, HOOKLOG_TOKEN: created.bearer })).code).toBe(0);
    expect((await runCli(['tokens', 'list'], { HOOKLOG_URL: fixture.server.url, HOOKLOG_TOKEN: created.bearer })).code).toBe(1);
    expect((await cli('tokens', 'delete', created.token_id)).token_id).toBe(created.token_id);
  });

  it('manages logs with retention flags', async () => {
    const log = await cli(
      'logs',
      'create',
      '--metadata',
      'cli log',
      '--compacting',
      '--trim-bytes',
      '1000',
      '--trim-seconds',
      '60',
      '--compact-seconds',
      '5',
      '--expire-seconds',
      '7',
    );
    expect(log).toEqual({
      log_id: log.log_id,
      metadata: 'cli log',
      compacting: true,
      trim_bytes: 1000,
      trim_seconds: 60,
      compact_seconds: 5,
      expire_seconds: 7,
    });
    expect((await cli('logs', 'list', '--metadata', 'cli log')).logs).toEqual([log]);
    expect(await cli('logs', 'get', log.log_id)).toEqual(log);
    expect(await cli('logs', 'delete', log.log_id)).toEqual(log);
  });

  it('publishes, consumes and gets messages', async () => {
    const { log_id } = await cli('logs', 'create');
    expect(await cli('publish', log_id, '--key', 'k', '--value', 'hello world')).toEqual({ next_offset: 1 });
    expect(await cli('publish', log_id, '--key', 'bin', '--value-base64', Buffer.from([0, 255]).toString('base64'), '--time', '1670598756024123')).toEqual({
      next_offset: 2,
    });
    const consumed = await cli('consume', log_id, '--offset', '-2', '--size', '1');
    expect(consumed).toEqual({ next_offset: 1, encoding: 'string', messages: [{ offset: 0, time: expect.any(Number), key: 'k', value: 'hello world' }] });
    const binary = await cli('consume', log_id, '--offset', '1', '--encoding', 'base64');
    expect(binary.messages[0]).toEqual({ offset: 1, time: 1670598756024123, key: Buffer.from('bin').toString('base64'), value: 'AP8=' });
    expect((await cli('get-by-offset', log_id, '--offset', '0')).value).toBe('hello world');
    expect((await cli('get-by-key', log_id, '--key', 'k')).value).toBe('hello world');
    expect((await cli('get-by-key', log_id, '--key-base64', Buffer.from('bin').toString('base64'))).value).toBe('AP8=');
    expect((await cli('get-by-key', log_id, '--key', 'bin', '--encoding', 'base64')).value).toBe('AP8=');
    const badEncoding = await runCli(['get-by-key', log_id, '--key', 'k', '--encoding', 'hex'], fixture.env);
    expect([badEncoding.code, JSON.parse(badEncoding.stderr).error]).toEqual([1, 'ERR_KLEV_API_0103']);
  });

  it('publishes event type, event id, repeated channels and tags, and consume shows them', async () => {
    const { log_id } = await cli('logs', 'create');
    const published = await cli(
      'publish',
      log_id,
      '--value',
      'v',
      '--event-type',
      'user.signup',
      '--event-id',
      'evt_1',
      '--channel',
      'a',
      '--channel',
      'b',
      '--tag',
      't',
    );
    expect(published).toEqual({ next_offset: 1 });
    await cli('publish', log_id, '--value', 'plain');
    const consumed = await cli('consume', log_id, '--offset', '-2', '--size', '2');
    expect(consumed.messages).toEqual([
      { offset: 0, time: expect.any(Number), value: 'v', event_type: 'user.signup', event_id: 'evt_1', channels: ['a', 'b'], tags: ['t'] },
      { offset: 1, time: expect.any(Number), value: 'plain' },
    ]);
    expect((await cli('get-by-offset', log_id, '--offset', '0')).channels).toEqual(['a', 'b']);
    const refused = await runCli(['publish', log_id, '--value', 'x', '--channel', 'not ok'], fixture.env);
    expect([refused.code, JSON.parse(refused.stderr).error]).toEqual([1, 'ERR_KLEV_API_0102']);
    expect((await cli('consume', log_id, '--offset', '2')).messages).toEqual([]);
  });

  it('consume --follow waits out a 429 for as long as its Retry-After says, then goes on', async () => {
    const busy = await startTestServer({ maxLongPolls: 1, metricsToken: METRICS_TOKEN });
    try {
      const log = (await busy.request('POST', '/logs', { body: {} })).body.log_id;
      // The node's only long-poll place, taken until aborted.
      const holder = new AbortController();
      const held = busy.request('GET', `/messages/${log}`, { query: { offset: 0, poll: 30_000 }, signal: holder.signal }).catch(() => undefined);
      await eventually(async () => expect(await longPollsWaiting(busy.url)).toBe(1));
      const follower = spawn(process.execPath, [BIN, 'consume', log, '--follow', '--poll', '1000', '--offset', '-2'], {
        env: { PATH: process.env.PATH, HOOKLOG_URL: busy.url, HOOKLOG_TOKEN: ADMIN },
      });
      let out = '';
      let err = '';
      follower.stdout.on('data', (chunk) => (out += chunk));
      follower.stderr.on('data', (chunk) => (err += chunk));
      try {
        await eventually(() => expect(err).toMatch(/the server answered 429 \(ERR_KLEV_API_0160\); trying again in \d+ s/));
        expect(follower.exitCode).toBeNull();
        holder.abort();
        await held;
        await busy.request('POST', `/message/${log}`, { body: { value: 'after the wait' } });
        await eventually(() => expect(out).toContain('after the wait'), 15_000);
      } finally {
        follower.kill();
      }
    } finally {
      await busy.close();
    }
  });

  it('consume --follow keeps long-polling and prints each message as a JSON line', async () => {
    const { log_id } = await cli('logs', 'create');
    const follower = spawn(process.execPath, [BIN, 'consume', log_id, '--follow', '--poll', '1000'], { env: { PATH: process.env.PATH, ...fixture.env } });
    let out = '';
    follower.stdout.on('data', (chunk) => (out += chunk));
    await new Promise((resolve) => setTimeout(resolve, 500));
    await cli('publish', log_id, '--value', 'one');
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await cli('publish', log_id, '--value', 'two');
    const deadline = Date.now() + 5000;
    while (out.split('\n').filter(Boolean).length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    follower.kill();
    expect(
      out
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).value),
    ).toEqual(['one', 'two']);
  });

  it('manages offsets', async () => {
    const { log_id } = await cli('logs', 'create');
    const offset = await cli('offsets', 'create', '--log-id', log_id, '--metadata', 'cursor');
    expect(offset).toMatchObject({ log_id, metadata: 'cursor', value: -1 });
    expect(await cli('offsets', 'set', offset.offset_id, '--value', '4', '--value-metadata', 'done')).toMatchObject({ value: 4, value_metadata: 'done' });
    expect((await cli('offsets', 'get', offset.offset_id)).value).toBe(4);
    expect((await cli('offsets', 'list', '--log-id', log_id)).offsets).toHaveLength(1);
    await cli('publish', log_id, '--value', 'a');
    expect((await cli('consume', log_id, '--offset-id', offset.offset_id)).next_offset).toBe(4);
    expect((await cli('offsets', 'delete', offset.offset_id)).offset_id).toBe(offset.offset_id);
  });

  it('prints the error and exits non-zero when a call fails', async () => {
    const result = await runCli(['logs', 'get', `log_${'0'.repeat(27)}`], fixture.env);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stderr)).toMatchObject({ error: 'ERR_KLEV_API_0107' });
    expect(result.stdout).toBe('');
  });

  it('rejects a bad flag value before calling the server', async () => {
    const result = await runCli(['consume', 'log_x', '--size', 'lots'], fixture.env);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('--size');
  });

  it('says clearly when the server cannot be reached', async () => {
    const port = await freePort();
    const result = await runCli(['paths'], { HOOKLOG_URL: `http://127.0.0.1:${port}`, HOOKLOG_TOKEN: ADMIN });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`hooklog: cannot reach http://127.0.0.1:${port}: ECONNREFUSED\n`);
  });
});
