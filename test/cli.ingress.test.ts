import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useCliServer } from './helpers/cli.js';
import { runCli } from './helpers/process.js';

describe('CLI: ingress webhooks', () => {
  const fixture = useCliServer();
  const { cli } = fixture;

  it('points a GitHub-style sender at hooklog and consumes what arrived, as the README shows', async () => {
    const { log_id } = await cli('logs', 'create', '--metadata', 'github events');
    const webhook = await cli('ingress-webhooks', 'create', '--log-id', log_id, '--type', 'github', '--secret', 'gh-secret', '--metadata', 'repo');
    const path = `/ingress/${webhook.webhook_id}`;
    expect(webhook).toEqual({
      webhook_id: expect.stringMatching(/^iwh_/),
      metadata: 'repo',
      log_id,
      type: 'github',
      deduplicate: true,
      keep_rejected: true,
      path,
      url: `${fixture.server.url}${path}`,
    });
    // Opened in a browser, the URL says what it is for.
    const opened = await fetch(webhook.url);
    expect(opened.status).toBe(405);
    expect(opened.headers.get('allow')).toBe('POST');
    expect(await opened.json()).toEqual({
      error: 'ERR_KLEV_API_0006',
      message: 'Method not allowed',
      details: expect.stringMatching(
        /^GET is not allowed on '\/ingress\/:webhook_id'; use POST: this is an ingress webhook’s public URL, where the provider POSTs/,
      ),
    });
    const body = JSON.stringify({ action: 'opened', number: 7 });
    const res = await fetch(webhook.url, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'pull_request',
        'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
        'x-hub-signature-256': `sha256=${createHmac('sha256', 'gh-secret').update(body).digest('hex')}`,
      },
    });
    expect(res.status).toBe(200);
    const consumed = await cli('consume', log_id, '--offset', '-2');
    const delivery = '72d3162e-cc78-11e3-81ab-4c9367dc0958';
    expect(consumed.messages).toEqual([{ offset: 0, time: expect.any(Number), key: delivery, value: body, event_type: 'pull_request', event_id: delivery }]);
    const [withHeaders] = (await cli('consume', log_id, '--offset', '-2', '--headers')).messages;
    expect(withHeaders).toMatchObject({ ...consumed.messages[0], headers: { 'content-type': 'application/json', 'x-github-event': 'pull_request' } });
    expect(await cli('ingress-webhooks', 'metrics', webhook.webhook_id)).toEqual({
      webhook_id: webhook.webhook_id,
      received: 1,
      accepted: 1,
      duplicates: 0,
      handshakes: 0,
      failed: 0,
      rejected: {},
    });
  });

  it('creates generic HMAC webhooks and updates, lists, gets and deletes them', async () => {
    const { log_id } = await cli('logs', 'create');
    const created = await cli(
      'ingress-webhooks',
      'create',
      '--log-id',
      log_id,
      '--type',
      'hmac',
      '--secret',
      's',
      '--header',
      'X-Sig',
      '--algorithm',
      'sha512',
      '--encoding',
      'base64',
      '--prefix',
      'sha512=',
      '--no-deduplicate',
    );
    expect(created).toMatchObject({ type: 'hmac', header: 'X-Sig', algorithm: 'sha512', encoding: 'base64', prefix: 'sha512=', deduplicate: false });
    const updated = await cli('ingress-webhooks', 'update', created.webhook_id, '--metadata', 'renamed', '--secret', 't', '--no-keep-rejected');
    expect(updated).toMatchObject({ metadata: 'renamed', deduplicate: false, keep_rejected: false });
    expect(updated.url).toBe(`${fixture.server.url}/ingress/${created.webhook_id}`);
    expect((await cli('ingress-webhooks', 'list', '--metadata', 'renamed')).items).toEqual([updated]);
    expect(await cli('ingress-webhooks', 'get', created.webhook_id)).toEqual(updated);
    expect((await cli('ingress-webhooks', 'delete', created.webhook_id)).webhook_id).toBe(created.webhook_id);
    const failed = await runCli(['ingress-webhooks', 'create', '--log-id', log_id, '--type', 'nope', '--secret', 's'], fixture.env);
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stderr).error).toBe('ERR_KLEV_API_0102');
  });
});
