import type { Database } from 'better-sqlite3';
import { type CounterDelta, type IngressRow, sumDeltas, toIngressWebhook } from '../rows.js';
import type { IngressStore } from '../store.js';
import { GroupWriter } from '../group-writer.js';

/** The ingress store, plus `removeForLog` for use inside a log's delete transaction. */
export function sqliteIngress(db: Database, durable: () => Promise<void>): IngressStore & { removeForLog(logId: string): void } {
  const insert = db.prepare(
    `INSERT INTO ingress_webhooks (id, log_id, metadata, type, secret, header, algorithm, encoding, prefix, deduplicate)
     VALUES (@id, @logId, @metadata, @type, @secret, @header, @algorithm, @encoding, @prefix, @deduplicate)`,
  );
  const byId = db.prepare<[string], IngressRow>('SELECT * FROM ingress_webhooks WHERE id = ?');
  const list = db.prepare<[{ metadata: string | null }], IngressRow>(
    'SELECT * FROM ingress_webhooks WHERE @metadata IS NULL OR metadata = @metadata ORDER BY seq',
  );
  const update = db.prepare<[Record<string, string | number | null>], IngressRow>(
    `UPDATE ingress_webhooks SET
       metadata = coalesce(@metadata, metadata), secret = coalesce(@secret, secret), header = coalesce(@header, header),
       algorithm = coalesce(@algorithm, algorithm), encoding = coalesce(@encoding, encoding), prefix = coalesce(@prefix, prefix),
       deduplicate = coalesce(@deduplicate, deduplicate)
     WHERE id = @id RETURNING *`,
  );
  const remove = db.prepare<[string], IngressRow>('DELETE FROM ingress_webhooks WHERE id = ? RETURNING *');
  const removeCounters = db.prepare('DELETE FROM ingress_metrics WHERE webhook_id = ?');
  const removeKeys = db.prepare('DELETE FROM idempotency_keys WHERE scope = ?');
  const byLog = db.prepare<[string], { id: string }>('SELECT id FROM ingress_webhooks WHERE log_id = ?');
  const bump = db.prepare(
    `INSERT INTO ingress_metrics (webhook_id, name, count) VALUES (@webhookId, @name, @by)
     ON CONFLICT (webhook_id, name) DO UPDATE SET count = count + excluded.count`,
  );
  const counters = db.prepare<[string], { name: string; count: number }>('SELECT name, count FROM ingress_metrics WHERE webhook_id = ?');

  const removeWithState = (id: string) => {
    const row = remove.get(id);
    if (!row) return undefined;
    removeCounters.run(id);
    removeKeys.run(id);
    return toIngressWebhook(row);
  };
  const deleteWebhook = db.transaction(removeWithState);
  // Counting happens on every request: deltas of one event-loop turn are summed
  // per counter and written in one transaction.
  const counter = new GroupWriter<CounterDelta>(
    db.transaction((deltas: CounterDelta[]) => {
      for (const sum of sumDeltas(deltas)) bump.run(sum);
    }),
  );

  return {
    removeForLog(logId) {
      for (const { id } of byLog.all(logId)) removeWithState(id);
    },
    async create(webhook) {
      insert.run({ ...webhook, deduplicate: webhook.deduplicate ? 1 : 0 });
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
        deduplicate: changes.deduplicate === undefined ? null : changes.deduplicate ? 1 : 0,
      });
      await durable();
      return row && toIngressWebhook(row);
    },
    async delete(id) {
      const deleted = deleteWebhook.immediate(id);
      await durable();
      return deleted;
    },
    async count(deltas) {
      await Promise.all(deltas.map((delta) => counter.write(delta)));
    },
    async counters(id) {
      return Object.fromEntries(counters.all(id).map((row) => [row.name, row.count]));
    },
  };
}
