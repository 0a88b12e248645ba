import type { Database } from 'better-sqlite3';
import { type ClusterStore, FORGET_NODES_AFTER_MS } from '../store.js';

export function sqliteCluster(db: Database): ClusterStore {
  const seen = db.prepare('INSERT INTO nodes (id, seen_at) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at');
  const forgetGone = db.prepare('DELETE FROM nodes WHERE seen_at < ?');
  const alive = db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM nodes WHERE seen_at >= ?');
  const forget = db.prepare('DELETE FROM nodes WHERE id = ?');
  const releaseWebhooks = db.prepare('UPDATE egress_webhooks SET lease_owner = NULL, lease_until = 0 WHERE lease_owner = ?');
  const releaseLeases = db.prepare('DELETE FROM leases WHERE owner = ?');
  const lead = db.prepare<[{ name: string; owner: string; now: number; until: number }], { owner: string }>(
    `INSERT INTO leases (name, owner, until) VALUES (@name, @owner, @until)
     ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
       WHERE leases.owner = excluded.owner OR leases.until <= @now
     RETURNING owner`,
  );

  return {
    async heartbeat(nodeId, nowMs, aliveSinceMs) {
      seen.run(nodeId, nowMs);
      forgetGone.run(nowMs - FORGET_NODES_AFTER_MS);
      return alive.get(aliveSinceMs)!.n;
    },
    async leave(nodeId) {
      db.transaction(() => {
        forget.run(nodeId);
        releaseWebhooks.run(nodeId);
        releaseLeases.run(nodeId);
      })();
    },
    async lead(name, owner, nowMs, untilMs) {
      return lead.get({ name, owner, now: nowMs, until: untilMs }) !== undefined;
    },
  };
}
