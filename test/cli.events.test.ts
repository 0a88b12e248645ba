import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { useCliServer } from './helpers/cli.js';
import { BIN } from './helpers/process.js';
import { startReceiver } from './helpers/receiver.js';

/** Runs the CLI on a pseudo-terminal (script(1)), as a person at a shell would. */
async function onTerminal(args: string[], env: Record<string, string>): Promise<string> {
  const command = [process.execPath, BIN, ...args].map((part) => `'${part.replaceAll("'", "'\\''")}'`).join(' ');
  const { stdout } = await promisify(execFile)('script', ['-qec', command, '/dev/null'], { env: { PATH: process.env.PATH, ...env } });
  return stdout.replaceAll('\r', '');
}

describe('CLI: events', () => {
  const fixture = useCliServer({ allowPrivateDestinations: true });
  const { cli } = fixture;

  it('lists, gets and replays events: JSON when piped, a table on a terminal', async () => {
    const receiver = await startReceiver();
    try {
      const { log_id } = await cli('logs', 'create');
      const source = await cli('ingress-webhooks', 'create', '--log-id', log_id, '--type', 'github', '--secret', 'gh', '--metadata', 'repo');
      const destination = await cli('egress-webhooks', 'create', '--log-id', log_id, '--destination', receiver.url);
      const post = (body: string, secret = 'gh') =>
        fetch(`${fixture.server.url}/ingress/${source.webhook_id}`, {
          method: 'POST',
          body,
          headers: {
            'content-type': 'application/json',
            'x-github-event': 'push',
            'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
          },
        });
      expect((await post('{"n":1}')).status).toBe(200);
      expect((await post('{"n":2}', 'wrong')).status).toBe(401);
      await receiver.waitFor(1);

      const all = await cli('events', 'list');
      expect(all.pagination).toEqual({ total: 2, page: 1, pageSize: 20 });
      const rejected = await cli('events', 'list', '--status', 'rejected');
      expect(rejected.data.map((e: { signatureValid: boolean }) => e.signatureValid)).toEqual([false]);
      expect((await cli('events', 'list', '--search', '"n":1', '--page-size', '5')).data).toHaveLength(1);
      const accepted = (await cli('events', 'list', '--signature-valid', 'true')).data[0];
      const got = await cli('events', 'get', accepted.id, '--payload');
      expect(got).toMatchObject({ id: accepted.id, payload: { n: 1 }, deliveries: [{ destinationId: destination.webhook_id, status: 'delivered' }] });
      expect(await cli('events', 'replay', accepted.id)).toEqual({ message: 'Event queued for replay', deliveriesCreated: 1 });
      await receiver.waitFor(2);

      const table = await onTerminal(['events', 'list'], fixture.env);
      expect(table.split('\n')[0]).toMatch(/^ID\s+SOURCE\s+STATUS\s+DELIVERED\s+FAILED\s+BYTES\s+RECEIVED$/);
      expect(table).toContain(`${accepted.id}  repo`);
      expect(table).toMatch(/rejected/);
      expect(table).toContain('page 1 of 1, 2 events');
      const detail = await onTerminal(['events', 'get', accepted.id], fixture.env);
      expect(detail).toContain('x-github-event: push');
      expect(detail).toMatch(new RegExp(`${destination.webhook_id}\\s+delivered\\s+2\\s+200`));
    } finally {
      await receiver.close();
    }
  });
});
