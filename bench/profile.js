// Profiles the server under one bench scenario: starts it with --cpu-prof,
// drives it, stops it (SIGTERM, so the profile is written), and prints where
// the CPU time went, per unit of work (a request, a message or a delivery).
// Usage:
//   npm run profile -- <scenario>      (builds first)
//   BENCH_SECONDS=10 node bench/profile.js ingest
// Scenarios: publish, batch, keyed, ingest, delivery. The .cpuprofile file is
// kept (its path is printed) for Chrome DevTools or speedscope.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, auth, fmt, freshBackend, GITHUB_SECRET, ingestLoad, load, nodes, receiverStats, SECONDS, start } from './lib.js';

const value100 = 'v'.repeat(100);
const batch = (key) => JSON.stringify({ messages: Array.from({ length: 1000 }, (_, i) => ({ key: key(i), value: value100 })) });

/** Each scenario loads a started server and answers how many units of work it did, and what a unit is. */
const scenarios = {
  async publish(url) {
    const log = (await api(url, 'POST', '/logs', {})).log_id;
    const r = await load({ url: `${url}/message/${log}`, method: 'POST', connections: 50, headers: auth, body: JSON.stringify({ value: value100 }) });
    return { units: r.ok, unit: 'request' };
  },
  async batch(url) {
    const log = (await api(url, 'POST', '/logs', {})).log_id;
    const r = await load({ url: `${url}/messages/${log}`, method: 'POST', connections: 4, headers: auth, body: batch(() => undefined) });
    return { units: r.ok * 1000, unit: 'message' };
  },
  // The same 1,000 keys in every request, as a log keyed by customer or entity is.
  async keyed(url) {
    const log = (await api(url, 'POST', '/logs', {})).log_id;
    const r = await load({ url: `${url}/messages/${log}`, method: 'POST', connections: 4, headers: auth, body: batch((i) => `key-${i}`) });
    return { units: r.ok * 1000, unit: 'message' };
  },
  async ingest(url) {
    const log = (await api(url, 'POST', '/logs', {})).log_id;
    const webhook = (await api(url, 'POST', '/ingress_webhooks', { log_id: log, type: 'github', secret: GITHUB_SECRET })).webhook_id;
    let delivery = 0;
    const r = await ingestLoad(url, webhook, () => `profile-${delivery++}`);
    return { units: r.ok, unit: 'request' };
  },
  // One ordered webhook to a local receiver; as many messages as it delivers in about SECONDS.
  async delivery(url) {
    const receiver = await start(['bench/receiver.js'], {});
    try {
      const log = (await api(url, 'POST', '/logs', {})).log_id;
      await api(url, 'POST', '/egress_webhooks', { log_id: log, destination: receiver.url });
      await receiverStats(receiver);
      const started = performance.now();
      let delivered = 0;
      let published = 0;
      while (performance.now() - started < SECONDS * 1000) {
        if (published - delivered < 5000) {
          await api(url, 'POST', `/messages/${log}`, { messages: Array.from({ length: 1000 }, () => ({ value: value100 })) });
          published += 1000;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
        delivered += (await receiverStats(receiver)).count;
      }
      return { units: delivered, unit: 'delivery' };
    } finally {
      await receiver.stop();
    }
  },
};

/**
 * Self and inclusive time per function (name, file and line), in microseconds,
 * from a V8 .cpuprofile, counting only samples from `fromMicros` after the
 * profile began: the server's start-up (loading modules, compiling schemas)
 * is not part of the load.
 */
function timings(profile, fromMicros) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map();
  let at = 0;
  for (const [i, delta] of profile.timeDeltas.entries()) {
    at += delta;
    if (at >= fromMicros) self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + delta);
  }
  const nameOf = ({ callFrame: f }) => {
    const file = f.url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/');
    return `${f.functionName || '(anonymous)'} ${file ? `${file}:${f.lineNumber + 1}` : ''}`.trim();
  };
  const perFunction = new Map();
  const entry = (name) => perFunction.get(name) ?? perFunction.set(name, { self: 0, inclusive: 0 }).get(name);
  for (const [id, us] of self) {
    const node = byId.get(id);
    entry(nameOf(node)).self += us;
    // Inclusive time counts a function once per sample, however deep it recurses.
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const name = nameOf(byId.get(at));
      if (seen.has(name)) continue;
      seen.add(name);
      entry(name).inclusive += us;
    }
  }
  return perFunction;
}

const name = process.argv[2];
if (!scenarios[name]) {
  console.error(`usage: npm run profile -- <${Object.keys(scenarios).join('|')}>`);
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'hooklog-profile-'));
const db = await freshBackend({ sqliteSync: process.env.HOOKLOG_SQLITE_SYNC ?? 'full' });
const [server] = await nodes(db.env, 1, { HOOKLOG_ALLOW_PRIVATE_DESTINATIONS: 'true' }, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
// The profile begins as the process does.
const loadFromMicros = (performance.now() - server.spawnedAt) * 1000;
const { units, unit } = await scenarios[name](server.url);
await server.stop();
await db.drop();
const file = join(
  dir,
  readdirSync(dir).find((f) => f.endsWith('.cpuprofile')),
);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const perFunction = [...timings(profile, loadFromMicros)].filter(([fn]) => !fn.startsWith('(idle)'));
const busy = perFunction.reduce((sum, [, t]) => sum + t.self, 0);
const per = (us) => fmt(us / units, 1);

const plural = unit === 'delivery' ? 'deliveries' : `${unit}s`;
console.log(`\n${name}: ${fmt(units)} ${plural} in ${SECONDS} s; the server was busy ${fmt(busy / 1000)} ms = ${per(busy)} µs of CPU per ${unit}.`);
console.log(`Profile: ${file}\n`);
for (const [title, field] of [
  ['Self time', 'self'],
  ['Inclusive time (hooklog code)', 'inclusive'],
]) {
  console.log(`| ${title}: function | µs per ${unit} | share of busy time |`);
  console.log('| --- | --- | --- |');
  const rows = perFunction.filter(([fn]) => field === 'self' || fn.includes('dist/')).sort((a, b) => b[1][field] - a[1][field]);
  for (const [fn, t] of rows.slice(0, 25)) console.log(`| \`${fn}\` | ${per(t[field])} | ${fmt((100 * t[field]) / busy, 1)} % |`);
  console.log();
}
