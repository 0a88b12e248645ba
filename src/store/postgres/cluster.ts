import { type ClusterStore, FORGET_NODES_AFTER_MS } from '../store.js';
import type { Db } from './db.js';

export function postgresCluster(db: Db): ClusterStore {
  return {
    async heartbeat(nodeId, nowMs, aliveSinceMs) {
      const [row] = await db.rows<{ n: number }>({
        name: 'cluster-heartbeat',
        text: `WITH seen AS (
                 INSERT INTO nodes (id, seen_at) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at
               ), gone AS (
                 DELETE FROM nodes WHERE seen_at < $4
               )
               SELECT 1 + count(*)::bigint AS n FROM nodes WHERE seen_at >= greatest($3, $4) AND id <> $1`,
        values: [nodeId, nowMs, aliveSinceMs, nowMs - FORGET_NODES_AFTER_MS],
      });
      return row!.n;
    },
    leave: (nodeId) =>
      db.tx(async (q) => {
        await q.query({ text: 'DELETE FROM nodes WHERE id = $1', values: [nodeId] });
        await q.query({ text: 'UPDATE egress_webhooks SET lease_owner = NULL, lease_until = 0 WHERE lease_owner = $1', values: [nodeId] });
        await q.query({ text: 'DELETE FROM leases WHERE owner = $1', values: [nodeId] });
      }),
    async lead(name, owner, nowMs, untilMs) {
      const rows = await db.rows({
        name: 'cluster-lead',
        text: `INSERT INTO leases (name, owner, until) VALUES ($1, $2, $4)
               ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
                 WHERE leases.owner = excluded.owner OR leases.until <= $3
               RETURNING owner`,
        values: [name, owner, nowMs, untilMs],
      });
      return rows.length === 1;
    },
  };
}
