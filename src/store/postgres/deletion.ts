import type { EgressWebhook, IngressWebhook, Log } from '../../domain/types.js';
import { type EgressWebhookRow, type IngressRow, type LogRow, toEgressWebhook, toIngressWebhook, toLog } from '../rows.js';
import { EGRESS_COLUMNS, INGRESS_COLUMNS, LOG_COLUMNS } from './columns.js';
import type { Db, Queryable } from './db.js';

/** Histories purged in steps after their webhook is gone: the table, the column naming the webhook, and a row's key. */
const HISTORIES = {
  delivery_attempts: { table: 'delivery_attempts', owner: 'webhook_id', key: 'id' },
  deliveries: { table: 'deliveries', owner: 'webhook_id', key: 'webhook_id, msg_offset' },
  idempotency_keys: { table: 'idempotency_keys', owner: 'scope', key: 'scope, key' },
  events: { table: 'events', owner: 'log_id', key: 'id' },
} as const;
type HistoryKind = keyof typeof HISTORIES;

/** A deleted webhook's tasks end, and stay readable until retention forgets them. */
const FAIL_TASKS = `UPDATE delivery_tasks SET status = 'failed', error = 'the egress webhook was deleted',
  updated_at = (extract(epoch FROM clock_timestamp()) * 1000)::bigint WHERE webhook_id = $1 AND status = 'running'`;

/**
 * The one place that knows which rows belong to a log or a webhook. Each
 * function runs in its caller's transaction (`q`). What belongs to the
 * object goes with it at once, except histories that can be large (a log's
 * messages, a webhook's delivery attempts and delivery ids), which are queued
 * and purged in steps by the retention job (`purgeStep`), so that a delete
 * never holds locks for long.
 */
export const postgresDeletion = {
  async log(q: Queryable, id: string): Promise<{ log: Log; egress: string[]; ingress: string[] } | undefined> {
    const [row] = (await q.query<LogRow>({ text: `DELETE FROM logs WHERE id = $1 RETURNING ${LOG_COLUMNS}`, values: [id] })).rows;
    if (!row) return undefined;
    await q.query({ text: 'INSERT INTO deleted_logs (seq) VALUES ($1)', values: [row.seq] });
    await queue(q, 'events', id);
    await q.query({ text: 'DELETE FROM offsets WHERE log_id = $1', values: [id] });
    // Webhooks cannot outlive their log, whose offsets never come back.
    const ids = async (table: string) =>
      (await q.query<{ id: string }>({ text: `SELECT id FROM ${table} WHERE log_id = $1`, values: [id] })).rows.map((r) => r.id);
    const egress = await ids('egress_webhooks');
    const ingress = await ids('ingress_webhooks');
    for (const webhook of egress) await postgresDeletion.egress(q, webhook);
    for (const webhook of ingress) await postgresDeletion.ingress(q, webhook);
    // An application is its log: its fields, its integrations and every token made for it go too.
    await q.query({ text: 'DELETE FROM applications WHERE log_id = $1', values: [id] });
    await q.query({ text: 'DELETE FROM tokens WHERE id IN (SELECT token_id FROM integrations WHERE log_id = $1)', values: [id] });
    await q.query({ text: 'DELETE FROM integrations WHERE log_id = $1', values: [id] });
    await q.query({ text: 'DELETE FROM tokens WHERE application = $1', values: [id] });
    // A channel is its log too: its name and reading bearer go with it.
    await q.query({ text: 'DELETE FROM channels WHERE log_id = $1', values: [id] });
    return { log: toLog(row), egress, ingress };
  },

  async egress(q: Queryable, id: string): Promise<EgressWebhook | undefined> {
    const [row] = (await q.query<EgressWebhookRow>({ text: `DELETE FROM egress_webhooks WHERE id = $1 RETURNING ${EGRESS_COLUMNS}`, values: [id] })).rows;
    if (!row) return undefined;
    await q.query({ text: 'DELETE FROM egress_secrets WHERE webhook_id = $1', values: [id] });
    await q.query({ text: 'DELETE FROM egress_transformations WHERE webhook_id = $1', values: [id] });
    await q.query({ text: 'DELETE FROM retry_set WHERE webhook_id = $1', values: [id] });
    await q.query({ text: 'DELETE FROM endpoints WHERE webhook_id = $1', values: [id] });
    await queue(q, 'delivery_attempts', id);
    await queue(q, 'deliveries', id);
    await q.query({ text: FAIL_TASKS, values: [id] });
    return toEgressWebhook(row);
  },

  async ingress(q: Queryable, id: string): Promise<IngressWebhook | undefined> {
    const [row] = (await q.query<IngressRow>({ text: `DELETE FROM ingress_webhooks WHERE id = $1 RETURNING ${INGRESS_COLUMNS}`, values: [id] })).rows;
    if (!row) return undefined;
    await q.query({ text: 'DELETE FROM ingress_metrics WHERE webhook_id = $1', values: [id] });
    await queue(q, 'idempotency_keys', id);
    return toIngressWebhook(row);
  },

  /** Purges up to `limit` rows of queued histories, one transaction per history; returns how many. */
  async purgeStep(db: Db, limit: number): Promise<number> {
    let deleted = 0;
    while (deleted < limit) {
      const step = await db.tx((q) => purgeOne(q, limit - deleted));
      if (step === null) break;
      deleted += step;
    }
    return deleted;
  },
};

async function queue(q: Queryable, kind: HistoryKind, id: string): Promise<void> {
  await q.query({ text: 'INSERT INTO purges (kind, id) VALUES ($1, $2) ON CONFLICT DO NOTHING', values: [kind, id] });
}

/**
 * Deletes up to `limit` rows of the next queued history, a deleted log's
 * messages first, and forgets it once empty; null when nothing is queued.
 * SKIP LOCKED lets several nodes purge different histories at once.
 */
async function purgeOne(q: Queryable, limit: number): Promise<number | null> {
  const [log] = (await q.query<{ seq: number }>({ text: 'SELECT seq FROM deleted_logs ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED' })).rows;
  if (log) {
    const { rowCount } = await q.query({
      text: `DELETE FROM messages WHERE log_seq = $1 AND msg_offset IN (
               SELECT msg_offset FROM messages WHERE log_seq = $1 ORDER BY msg_offset LIMIT $2)`,
      values: [log.seq, limit],
    });
    if ((rowCount ?? 0) < limit) await q.query({ text: 'DELETE FROM deleted_logs WHERE seq = $1', values: [log.seq] });
    return rowCount ?? 0;
  }
  const [history] = (await q.query<{ kind: HistoryKind; id: string }>({ text: 'SELECT kind, id FROM purges LIMIT 1 FOR UPDATE SKIP LOCKED' })).rows;
  if (!history) return null;
  const { table, owner, key } = HISTORIES[history.kind];
  const { rowCount } = await q.query({
    text: `DELETE FROM ${table} WHERE (${key}) IN (SELECT ${key} FROM ${table} WHERE ${owner} = $1 LIMIT $2)`,
    values: [history.id, limit],
  });
  if ((rowCount ?? 0) < limit) await q.query({ text: 'DELETE FROM purges WHERE kind = $1 AND id = $2', values: [history.kind, history.id] });
  return rowCount ?? 0;
}
