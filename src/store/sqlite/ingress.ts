import type { Database } from 'better-sqlite3';
import type { ChangeFeed } from '../change-feed.js';
import { type CounterDelta, type IngressRow, sumDeltas, toIngressWebhook } from '../rows.js';
import type { IngressStore } from '../store.js';
import type { SqliteDeletion } from './deletion.js';

export function sqliteIngress(db: Database, durable: () => Promise<void>, deletion: SqliteDeletion, feed: ChangeFeed): IngressStore {
  const insert = db.prepare(
    `INSERT INTO ingress_webhooks (id, log_id, metadata, type, secret, header, algorithm, encoding, prefix, deduplicate, keep_rejected)
     VALUES (@id, @logId, @metadata, @type, @secret, @header, @algorithm, @encoding, @prefix, @deduplicate, @keepRejected)`,
  );
  const byId = db.prepare<[string], IngressRow>('SELECT * FROM ingress_webhooks WHERE id = ?');
  const list = db.prepare<[{ metadata: string | null }], IngressRow>(
    'SELECT * FROM ingress_webhooks WHERE @metadata IS NULL OR metadata = @metadata ORDER BY seq',
  );
  const update = db.prepare<[Record<string, string | number | null>], IngressRow>(
    `UPDATE ingress_webhooks SET
       metadata = coalesce(@metadata, metadata), secret = coalesce(@secret, secret), header = coalesce(@header, header),
       algorithm = coalesce(@algorithm, algorithm), encoding = coalesce(@encoding, encoding), prefix = coalesce(@prefix, prefix),
       deduplicate = coalesce(@deduplicate, deduplicate), keep_rejected = coalesce(@keepRejected, keep_rejected)
     WHERE id = @id RETURNING *`,
  );
  const bump = db.prepare(
    `INSERT INTO ingress_metrics (webhook_id, name, count) VALUES (@webhookId, @name, @by)
     ON CONFLICT (webhook_id, name) DO UPDATE SET count = count + excluded.count`,
  );
  const counters = db.prepare<[string], { name: string; count: number }>('SELECT name, count FROM ingress_metrics WHERE webhook_id = ?');

  const deleteWebhook = db.transaction((id: string) => deletion.ingress(id));
  const changed = (webhookId: string) => feed.emit({ kind: 'ingress_changed', webhookId });
  const countAll = db.transaction((deltas: CounterDelta[]) => {
    for (const sum of sumDeltas(deltas)) bump.run(sum);
  });

  return {
    async create(webhook) {
      insert.run({ ...webhook, deduplicate: webhook.deduplicate ? 1 : 0, keepRejected: webhook.keepRejected ? 1 : 0 });
      await durable();
    },
    async get(id) {
      const row = byId.get(id);
      return row && toIngressWebhook(row);
    },
    async list({ metadata }) {
      return list.all({ metadata: metadata ?? null }).map(toIngressWebhook);
    },
    async update(id, changes) {
      const row = update.get({
        id,
        metadata: changes.metadata ?? null,
        secret: changes.secret ?? null,
        header: changes.header ?? null,
        algorithm: changes.algorithm ?? null,
        encoding: changes.encoding ?? null,
        prefix: changes.prefix ?? null,
        deduplicate: flagOrNull(changes.deduplicate),
        keepRejected: flagOrNull(changes.keepRejected),
      });
      await durable();
      if (row) changed(id);
      return row && toIngressWebhook(row);
    },
    async delete(id) {
      const deleted = deleteWebhook.immediate(id);
      await durable();
      if (deleted) changed(id);
      return deleted;
    },
    async count(deltas) {
      countAll.immediate(deltas);
    },
    async counters(id) {
      return Object.fromEntries(counters.all(id).map((row) => [row.name, row.count]));
    },
  };
}

const flagOrNull = (value: boolean | undefined) => (value === undefined ? null : value ? 1 : 0);
