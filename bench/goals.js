// The table of the "performance at scale" goals: each measure beside its goal,
// as ratios to baselines measured in the same run wherever there is one.
import { fmt, median, pick } from './lib.js';

/** A segment's rate over the first 100,000 messages': the 2–3 M segment, or the last one. */
const growth = (run) => {
  const segment = run.segments.find((s) => s.upTo === 3_000_000) ?? run.segments.at(-1);
  return segment.rate / run.segments[0].rate;
};

/**
 * `r` holds: base (the bare server's runs), full and normal (hooklog() in
 * each sync mode), scale ({ sqlite: { unique, repeated, none }, postgres: { unique } }
 * from keyedScale), push and pgPush (delivery() on SQLite and PostgreSQL).
 */
export function printGoals(r) {
  const bare = median(r.base.publish.map((x) => x.rps));
  const ratio = (runs, over) => median(runs.map((x, i) => x / over[i]));
  const rows = [
    [
      'verified GitHub ingest (2 KB, 50 senders), default durability',
      '≥ 0.40 × bare',
      `${fmt(pick(r.full.ingest, 'rps'))}/s = **${fmt(pick(r.full.ingest, 'rps') / bare, 2)} ×**`,
    ],
    ['the same, `sqlite_sync=normal`', '≥ 0.55 × bare', `${fmt(pick(r.normal.ingest, 'rps'))}/s = **${fmt(pick(r.normal.ingest, 'rps') / bare, 2)} ×**`],
    [
      'batch publish with keys (1000 × 100 B), 2–3 M messages vs. the first 100 k: unique keys / 1,000 repeated keys',
      '≥ 0.85 × (up to 10 M: `BENCH_ONLY=scale`)',
      `SQLite **${fmt(growth(r.scale.sqlite.unique), 2)} × / ${fmt(growth(r.scale.sqlite.repeated), 2)} ×**; PostgreSQL, unique: **${fmt(growth(r.scale.postgres.unique), 2)} ×**`,
    ],
    ['batch publish without keys, same comparison', 'stays flat', `SQLite ${fmt(growth(r.scale.sqlite.none), 2)} ×`],
    [
      'server CPU per delivery on one node, one webhook / 100 webhooks',
      '≤ 100 µs',
      `SQLite **${fmt(median(r.push.oneCpu))} / ${fmt(median(r.push.hundredCpu))} µs**; PostgreSQL ${fmt(median(r.pgPush.oneCpu))} / ${fmt(median(r.pgPush.hundredCpu))} µs`,
    ],
    [
      'deliveries to one ordered webhook, against plain sequential undici POSTs',
      '≥ 0.70 ×',
      `SQLite ${fmt(median(r.push.one))}/s = **${fmt(ratio(r.push.one, r.push.undici), 2)} ×** (undici ${fmt(median(r.push.undici))}/s); PostgreSQL ${fmt(median(r.pgPush.one))}/s = ${fmt(ratio(r.pgPush.one, r.pgPush.undici), 2)} ×`,
    ],
    [
      'deliveries across 100 webhooks, against one webhook',
      '≥ 2 ×',
      `SQLite ${fmt(median(r.push.hundred))}/s = **${fmt(ratio(r.push.hundred, r.push.one), 2)} ×**; PostgreSQL ${fmt(median(r.pgPush.hundred))}/s = ${fmt(ratio(r.pgPush.hundred, r.pgPush.one), 2)} ×`,
    ],
    [
      'PostgreSQL publish-to-delivered at 1,000 msg/s, p50 / p99',
      'p99 < 50 ms',
      `${fmt(median(r.pgPush.steady.map((s) => s.p50)), 1)} / **${fmt(median(r.pgPush.steady.map((s) => s.p99)), 1)} ms** (SQLite ${fmt(median(r.push.steady.map((s) => s.p50)), 1)} / ${fmt(median(r.push.steady.map((s) => s.p99)), 1)} ms)`,
    ],
    [
      'single publish (50 connections), default durability',
      '≥ 0.50 × bare',
      `${fmt(pick(r.full.single, 'rps'))}/s = **${fmt(pick(r.full.single, 'rps') / bare, 2)} ×**`,
    ],
  ];
  console.log(`\nPerformance at scale: the goals, against a bare Node server of ${fmt(bare)} req/s measured in the same run.\n`);
  console.log('| measure | goal | result |');
  console.log('| --- | --- | --- |');
  for (const [measure, goal, result] of rows) console.log(`| ${measure} | ${goal} | ${result} |`);
}
