import { type IngressRow, sumDeltas, toIngressWebhook } from '../rows.js';
import type { IngressStore } from '../store.js';
import { INGRESS_COLUMNS as COLUMNS } from './columns.js';
import type { Db } from './db.js';
import { postgresDeletion } from './deletion.js';
import type { Changes } from './watch.js';

export function postgresIngress(db: Db, changes: Changes): IngressStore {
  return {
    async create(webhook) {
      await db.query({
        text: `INSERT INTO ingress_webhooks (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        values: [
          webhook.id,
          webhook.logId,
          webhook.metadata,
          webhook.type,
          webhook.secret,
          webhook.header,
          webhook.algorithm,
          webhook.encoding,
          webhook.prefix,
          webhook.deduplicate,
          webhook.keepRejected,
        ],
      });
    },
    async get(id) {
      const [row] = await db.rows<IngressRow>({ name: 'ingress-get', text: `SELECT ${COLUMNS} FROM ingress_webhooks WHERE id = $1`, values: [id] });
      return row && toIngressWebhook(row);
    },
    async list({ metadata }) {
      const rows = await db.rows<IngressRow>({
        text: `SELECT ${COLUMNS} FROM ingress_webhooks WHERE $1::text IS NULL OR metadata = $1 ORDER BY seq`,
        values: [metadata ?? null],
      });
      return rows.map(toIngressWebhook);
    },
    update: (id, changed) =>
      db.tx(async (q, onCommit) => {
        const [row] = (
          await q.query<IngressRow>({
            text: `UPDATE ingress_webhooks SET
                 metadata = coalesce($2, metadata), secret = coalesce($3, secret), header = coalesce($4, header),
                 algorithm = coalesce($5, algorithm), encoding = coalesce($6, encoding), prefix = coalesce($7, prefix),
                 deduplicate = coalesce($8, deduplicate), keep_rejected = coalesce($9, keep_rejected)
               WHERE id = $1 RETURNING ${COLUMNS}`,
            values: [
              id,
              changed.metadata ?? null,
              changed.secret ?? null,
              changed.header ?? null,
              changed.algorithm ?? null,
              changed.encoding ?? null,
              changed.prefix ?? null,
              changed.deduplicate ?? null,
              changed.keepRejected ?? null,
            ],
          })
        ).rows;
        if (row) await changes.announce(q, onCommit, 'ingress_changed', [id]);
        return row && toIngressWebhook(row);
      }),
    delete: (id) =>
      db.tx(async (q, onCommit) => {
        const deleted = await postgresDeletion.ingress(q, id);
        if (deleted) await changes.announce(q, onCommit, 'ingress_changed', [id]);
        return deleted;
      }),
    async count(deltas) {
      // Summed per counter first: one INSERT may not touch a row twice.
      const rows = sumDeltas(deltas);
      await db.query({
        name: 'ingress-count',
        text: `INSERT INTO ingress_metrics (webhook_id, name, count) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
               ON CONFLICT (webhook_id, name) DO UPDATE SET count = ingress_metrics.count + excluded.count`,
        values: [rows.map((r) => r.webhookId), rows.map((r) => r.name), rows.map((r) => r.by)],
      });
    },
    async counters(id) {
      const rows = await db.rows<{ name: string; count: number }>({
        text: 'SELECT name, count FROM ingress_metrics WHERE webhook_id = $1',
        values: [id],
      });
      return Object.fromEntries(rows.map((row) => [row.name, row.count]));
    },
  };
}
