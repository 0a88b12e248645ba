import type { Database } from 'better-sqlite3';
import type { EgressWebhook, IngressWebhook, Log } from '../../domain/types.js';
import { type EgressWebhookRow, type IngressRow, type LogRow, toEgressWebhook, toIngressWebhook, toLog } from '../rows.js';

/**
 * The one place that knows which rows belong to a log or a webhook. Each
 * function runs inside its caller's transaction. What belongs to the object
 * goes with it at once, except histories that can be large (a log's
 * messages, a webhook's delivery attempts and delivery ids), which are queued
 * and purged in steps by the retention job (`purgeStep`), so that a delete
 * never holds the write lock for long.
 */
export interface SqliteDeletion {
  log(id: string): { log: Log; egress: string[]; ingress: string[] } | undefined;
  egress(id: string): EgressWebhook | undefined;
  ingress(id: string): IngressWebhook | undefined;
  /** Purges up to `limit` rows of queued histories; returns how many. */
  purgeStep(limit: number): number;
}

export function sqliteDeletion(db: Database): SqliteDeletion {
  const removeLog = db.prepare<[string], LogRow>('DELETE FROM logs WHERE id = ? RETURNING *');
  const queueMessages = db.prepare('INSERT INTO deleted_logs (seq) VALUES (?)');
  const removeOffsets = db.prepare('DELETE FROM offsets WHERE log_id = ?');
  const egressOf = db.prepare<[string], { id: string }>('SELECT id FROM egress_webhooks WHERE log_id = ?');
  const ingressOf = db.prepare<[string], { id: string }>('SELECT id FROM ingress_webhooks WHERE log_id = ?');
  const removeApplication = db.prepare('DELETE FROM applications WHERE log_id = ?');
  const removeIntegrationTokens = db.prepare('DELETE FROM tokens WHERE id IN (SELECT token_id FROM integrations WHERE log_id = ?)');
  const removeIntegrations = db.prepare('DELETE FROM integrations WHERE log_id = ?');
  const removeApplicationTokens = db.prepare('DELETE FROM tokens WHERE application = ?');
  const removeChannel = db.prepare('DELETE FROM channels WHERE log_id = ?');

  const removeEgress = db.prepare<[string], EgressWebhookRow>('DELETE FROM egress_webhooks WHERE id = ? RETURNING *');
  const removeSecrets = db.prepare('DELETE FROM egress_secrets WHERE webhook_id = ?');
  const removeTransformation = db.prepare('DELETE FROM egress_transformations WHERE webhook_id = ?');
  const removeRetries = db.prepare('DELETE FROM retry_set WHERE webhook_id = ?');
  const removeEndpoint = db.prepare('DELETE FROM endpoints WHERE webhook_id = ?');
  // A deleted webhook's tasks end, and stay readable until retention forgets them.
  const failTasks = db.prepare(
    `UPDATE delivery_tasks SET status = 'failed', error = 'the egress webhook was deleted', updated_at = CAST(unixepoch('subsec') * 1000 AS INTEGER)
     WHERE webhook_id = ? AND status = 'running'`,
  );
  const removeIngress = db.prepare<[string], IngressRow>('DELETE FROM ingress_webhooks WHERE id = ? RETURNING *');
  const removeCounters = db.prepare('DELETE FROM ingress_metrics WHERE webhook_id = ?');
  const queue = db.prepare('INSERT OR IGNORE INTO purges (kind, id) VALUES (?, ?)');

  const nextLog = db.prepare<[], { seq: number }>('SELECT seq FROM deleted_logs ORDER BY seq LIMIT 1');
  const purgeMessages = db.prepare<[{ seq: number; limit: number }]>(
    `DELETE FROM messages WHERE log_seq = @seq AND msg_offset IN (
       SELECT msg_offset FROM messages WHERE log_seq = @seq ORDER BY msg_offset LIMIT @limit)`,
  );
  const logPurged = db.prepare('DELETE FROM deleted_logs WHERE seq = ?');
  const nextHistory = db.prepare<[], { kind: HistoryKind; id: string }>('SELECT kind, id FROM purges LIMIT 1');
  const purgeHistory: Record<HistoryKind, ReturnType<Database['prepare']>> = {
    delivery_attempts: db.prepare('DELETE FROM delivery_attempts WHERE id IN (SELECT id FROM delivery_attempts WHERE webhook_id = @id LIMIT @limit)'),
    deliveries: db.prepare(
      'DELETE FROM deliveries WHERE webhook_id = @id AND msg_offset IN (SELECT msg_offset FROM deliveries WHERE webhook_id = @id LIMIT @limit)',
    ),
    idempotency_keys: db.prepare('DELETE FROM idempotency_keys WHERE (scope, key) IN (SELECT scope, key FROM idempotency_keys WHERE scope = @id LIMIT @limit)'),
    events: db.prepare('DELETE FROM events WHERE id IN (SELECT id FROM events WHERE log_id = @id LIMIT @limit)'),
  };
  const historyPurged = db.prepare('DELETE FROM purges WHERE kind = ? AND id = ?');

  const egress = (id: string) => {
    const row = removeEgress.get(id);
    if (!row) return undefined;
    removeSecrets.run(id);
    removeTransformation.run(id);
    removeRetries.run(id);
    removeEndpoint.run(id);
    queue.run('delivery_attempts', id);
    queue.run('deliveries', id);
    failTasks.run(id);
    return toEgressWebhook(row);
  };
  const ingress = (id: string) => {
    const row = removeIngress.get(id);
    if (!row) return undefined;
    removeCounters.run(id);
    queue.run('idempotency_keys', id);
    return toIngressWebhook(row);
  };

  return {
    log(id) {
      const row = removeLog.get(id);
      if (!row) return undefined;
      queueMessages.run(row.seq);
      queue.run('events', id);
      removeOffsets.run(id);
      // Webhooks cannot outlive their log, whose offsets never come back.
      const egressIds = egressOf.all(id).map((webhook) => webhook.id);
      const ingressIds = ingressOf.all(id).map((webhook) => webhook.id);
      egressIds.forEach(egress);
      ingressIds.forEach(ingress);
      // An application is its log: its fields, its integrations and every token made for it go too.
      removeApplication.run(id);
      removeIntegrationTokens.run(id);
      removeIntegrations.run(id);
      removeApplicationTokens.run(id);
      // A channel is its log too: its name and reading bearer go with it.
      removeChannel.run(id);
      return { log: toLog(row), egress: egressIds, ingress: ingressIds };
    },
    egress,
    ingress,
    purgeStep(limit) {
      let deleted = 0;
      // One queued history after another, until `limit` rows are gone or none is left.
      while (deleted < limit) {
        const left = limit - deleted;
        const log = nextLog.get();
        const history = log ? undefined : nextHistory.get();
        if (!log && !history) break;
        const step = log ? purgeMessages.run({ seq: log.seq, limit: left }).changes : purgeHistory[history!.kind].run({ id: history!.id, limit: left }).changes;
        if (step < left) {
          if (log) logPurged.run(log.seq);
          else historyPurged.run(history!.kind, history!.id);
        }
        deleted += step;
      }
      return deleted;
    },
  };
}

type HistoryKind = 'delivery_attempts' | 'deliveries' | 'idempotency_keys' | 'events';
