import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useCliServer } from './helpers/cli.js';
import { runCli } from './helpers/process.js';
import { startReceiver } from './helpers/receiver.js';
import { eventually, tempDir } from './helpers/server.js';

describe('CLI: egress-webhooks transformation', () => {
  const fixture = useCliServer({ allowPrivateDestinations: true, retrySchedule: [0, 0.1] });
  const { cli } = fixture;

  it('sets code from a file, tests it on a stored message without delivering, then disables and deletes it', async () => {
    const receiver = await startReceiver();
    try {
      const log = await cli('logs', 'create');
      const webhook = await cli('egress-webhooks', 'create', '--log-id', log.log_id, '--destination', receiver.url, '--payload', 'value');
      await cli('publish', log.log_id, '--value', '{"amount":5,"currency":"eur"}');
      await receiver.waitFor(1);

      const dir = tempDir();
      const file = join(dir, 'cents.js');
      writeFileSync(
        file,
        'export function handler(webhook) {\n  webhook.payload.amount *= 100;\n  webhook.headers["x-unit"] = "cents";\n  return webhook;\n}\n',
      );
      const set = await cli('egress-webhooks', 'transformation', 'set', webhook.webhook_id, '--file', file);
      expect(set).toMatchObject({ webhook_id: webhook.webhook_id, enabled: true, code: expect.stringContaining('amount *= 100') });
      expect(await cli('egress-webhooks', 'transformation', 'get', webhook.webhook_id)).toEqual(set);

      const tested = await cli('egress-webhooks', 'transformation', 'test', webhook.webhook_id, '--offset', '0');
      expect(tested).toMatchObject({ result: 'sent', method: 'POST', url: receiver.url, body: '{"amount":500,"currency":"eur"}', encoding: 'string' });
      expect(tested.headers['x-unit']).toBe('cents');
      // Tested, not delivered.
      expect(receiver.received).toHaveLength(1);

      // Code that fails exits 1 and says why; the stored code is left alone.
      const broken = join(dir, 'broken.js');
      writeFileSync(broken, 'export function handler(webhook) { return webhook.payload.missing.field }');
      const failed = await runCli(['egress-webhooks', 'transformation', 'test', webhook.webhook_id, '--offset', '0', '--file', broken], fixture.env);
      expect(failed.code).toBe(1);
      expect(JSON.parse(failed.stdout)).toEqual({ result: 'failed', error: expect.stringMatching(/^TypeError: /) });
      const refused = await runCli(['egress-webhooks', 'transformation', 'set', webhook.webhook_id, '--file', join(dir, 'missing.js')], fixture.env);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/ENOENT/);
      const syntax = join(dir, 'syntax.js');
      writeFileSync(syntax, 'export function handler(webhook) {');
      const bad = await runCli(['egress-webhooks', 'transformation', 'set', webhook.webhook_id, '--file', syntax], fixture.env);
      expect(bad.code).toBe(1);
      expect(JSON.parse(bad.stderr)).toMatchObject({ error: 'ERR_KLEV_API_0164', details: expect.stringMatching(/SyntaxError/) });

      await cli('publish', log.log_id, '--value', '{"amount":7,"currency":"eur"}');
      await receiver.waitFor(2);
      expect(JSON.parse(receiver.received[1]!.body.toString())).toEqual({ amount: 700, currency: 'eur' });
      expect(receiver.received[1]!.headers['x-unit']).toBe('cents');

      expect(await cli('egress-webhooks', 'transformation', 'disable', webhook.webhook_id)).toMatchObject({ enabled: false, code: set.code });
      await cli('publish', log.log_id, '--value', '{"amount":9}');
      await receiver.waitFor(3);
      expect(receiver.received[2]!.body.toString()).toBe('{"amount":9}');
      expect(await cli('egress-webhooks', 'transformation', 'enable', webhook.webhook_id)).toMatchObject({ enabled: true });

      await cli('egress-webhooks', 'transformation', 'delete', webhook.webhook_id);
      const gone = await runCli(['egress-webhooks', 'transformation', 'get', webhook.webhook_id], fixture.env);
      expect(gone.code).toBe(1);
      expect(JSON.parse(gone.stderr)).toMatchObject({ error: 'ERR_KLEV_API_0163' });
      await eventually(() => expect(receiver.received).toHaveLength(3));
    } finally {
      await receiver.close();
    }
  });
});
