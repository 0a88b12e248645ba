import { api, deliveredRate, freshBackend, nodes, receiverStats, start } from './lib.js';

const db = await freshBackend({ sqliteSync: 'full' });
const receiver = await start(['bench/receiver.js'], {});
const [server] = await nodes(
  db.env,
  1,
  { HOOKLOG_ALLOW_PRIVATE_DESTINATIONS: 'true', HOOKLOG_TRANSFORMATION_THREADS: process.env.T ?? '2' },
  process.env.PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/qjs/prof'] : [],
);
const code = "export function handler(webhook) { webhook.headers['x-transformed'] = '1'; return webhook; }";
for (const webhooks of [1, 100])
  for (const withCode of [false, true]) {
    const log = (await api(server.url, 'POST', '/logs', {})).log_id;
    for (let i = 0; i < webhooks; i++) {
      const { webhook_id: id } = await api(server.url, 'POST', '/egress_webhooks', { log_id: log, destination: receiver.url });
      if (withCode) await api(server.url, 'PUT', `/egress_webhook/${id}/transformation`, { code });
    }
    const count = webhooks === 1 ? 10000 : 200;
    await receiverStats(receiver);
    const t = performance.now();
    for (let sent = 0; sent < count; sent += 1000)
      await api(server.url, 'POST', `/messages/${log}`, { messages: Array.from({ length: Math.min(1000, count - sent) }, () => ({ value: 'v'.repeat(100) })) });
    console.log(webhooks, withCode, Math.round(await deliveredRate(receiver, count * webhooks, t)));
  }
await server.stop();
await receiver.stop();
await db.drop();
