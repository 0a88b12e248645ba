import { fail } from '../../domain/errors.js';
import type { ParkedRetry, StoredDeliveryStatus } from '../../domain/types.js';
import { attemptConditions } from '../attempt-query.js';
import { GroupWriter } from '../group-writer.js';
import {
  type AttemptRow,
  activation,
  type DeliveryRow,
  type EgressWebhookRow,
  type TaskRow,
  type TransformationRow,
  toAttempt,
  toDelivery,
  toEgressWebhook,
  toTask,
  toTransformation,
} from '../rows.js';
import { DELIVERY_RECORD_WINDOW_MS, type DeliveryRecord, type EgressStore, isUrgent } from '../store.js';
import { unlessUidTaken } from './applications.js';
import { ATTEMPT_COLUMNS, EGRESS_COLUMNS as COLUMNS, TASK_COLUMNS } from './columns.js';
import type { Db } from './db.js';
import { postgresDeletion } from './deletion.js';
import type { Changes } from './watch.js';

type OwnedRecord = [DeliveryRecord, string];
type DeliveryWrite = DeliveryRecord['delivery'] & { webhookId: string; tried: number; tentative: boolean };

/** Column arrays for unnest, one entry per record. */
function columnsOf<T>(items: T[], pick: Record<string, (item: T) => unknown>): unknown[][] {
  return Object.values(pick).map((get) => items.map(get));
}

/**
 * Writes a group of delivery records with one statement, for the webhooks
 * this node still holds: their new states (the last state per webhook in the
 * group wins), their attempts, the deliveries of their messages and their
 * changes to the retry set (the last per message wins). A webhook
 * deleted, or leased to another node, while its attempt was in flight keeps
 * no record of it.
 */
const RECORD_SQL = `
WITH new_deliveries AS (
  SELECT * FROM unnest($22::text[], $23::bigint[], $24::text[], $25::integer[], $26::bigint[], $27::integer[], $28::bigint[], $29::boolean[])
    AS n(webhook_id, msg_offset, status, tried, next_attempt_at, status_code, at, tentative)
),
held AS (
  SELECT w.id FROM egress_webhooks w JOIN unnest($1::text[], $2::text[]) AS h(id, owner) ON w.id = h.id AND w.lease_owner = h.owner
  -- Locks the rows, and re-checks the owner on their newest version: a claim committed meanwhile wins.
  FOR UPDATE OF w
),
-- A record never re-activates a webhook, only an update does: an attempt in flight when it was deactivated must not undo that.
saved AS (
  UPDATE egress_webhooks w SET active = w.active AND s.active, inactive_reason = CASE WHEN w.active THEN s.inactive_reason ELSE w.inactive_reason END,
    next_offset = s.next_offset,
    failures = s.failures, next_attempt_at = s.next_attempt_at, last_offset = s.last_offset, last_time = s.last_time,
    last_response = s.last_response, last_error = s.last_error
  FROM unnest($3::text[], $4::boolean[], $5::text[], $6::bigint[], $7::integer[], $8::bigint[], $9::bigint[], $10::bigint[],
              $11::text[], $12::text[])
    AS s(id, active, inactive_reason, next_offset, failures, next_attempt_at, last_offset, last_time, last_response, last_error)
  WHERE w.id = s.id AND w.id IN (SELECT id FROM held)
),
tried AS (
  INSERT INTO delivery_attempts (webhook_id, msg_offset, attempt, time, status_code, duration_ms, response, error, trigger)
  SELECT a.* FROM unnest($13::text[], $14::bigint[], $15::integer[], $16::bigint[], $17::integer[], $18::integer[], $19::text[],
                         $20::text[], $21::text[])
    AS a(webhook_id, msg_offset, attempt, time, status_code, duration_ms, response, error, trigger)
  WHERE a.webhook_id IN (SELECT id FROM held)
),
retry_changes AS (
  SELECT * FROM unnest($30::text[], $31::bigint[], $32::integer[], $33::bigint[]) AS r(webhook_id, msg_offset, failures, next_attempt_at)
  WHERE r.webhook_id IN (SELECT id FROM held)
),
-- A change with no failures drops the message from the retry set.
parked AS (
  INSERT INTO retry_set (webhook_id, msg_offset, failures, next_attempt_at)
  SELECT webhook_id, msg_offset, failures, next_attempt_at FROM retry_changes WHERE failures IS NOT NULL
  ON CONFLICT (webhook_id, msg_offset) DO UPDATE SET failures = excluded.failures, next_attempt_at = excluded.next_attempt_at
),
unparked AS (
  DELETE FROM retry_set r USING retry_changes c WHERE c.failures IS NULL AND r.webhook_id = c.webhook_id AND r.msg_offset = c.msg_offset
),
-- A failed manual attempt leaves a pending delivery pending (its schedule goes on), and a delivered one delivered.
kept AS (
  INSERT INTO deliveries AS d (webhook_id, msg_offset, status, attempts, next_attempt_at, status_code, updated_at)
  SELECT n.webhook_id, n.msg_offset, n.status, n.tried, n.next_attempt_at, n.status_code, n.at FROM new_deliveries n
  WHERE n.tentative AND n.webhook_id IN (SELECT id FROM held)
  ON CONFLICT (webhook_id, msg_offset) DO UPDATE SET
    status = CASE WHEN d.status IN ('pending', 'success') THEN d.status ELSE excluded.status END,
    next_attempt_at = CASE WHEN d.status IN ('pending', 'success') THEN d.next_attempt_at ELSE excluded.next_attempt_at END,
    attempts = d.attempts + excluded.attempts, status_code = excluded.status_code, updated_at = excluded.updated_at
)
INSERT INTO deliveries AS d (webhook_id, msg_offset, status, attempts, next_attempt_at, status_code, updated_at)
SELECT n.webhook_id, n.msg_offset, n.status, n.tried, n.next_attempt_at, n.status_code, n.at FROM new_deliveries n
WHERE NOT n.tentative AND n.webhook_id IN (SELECT id FROM held)
ON CONFLICT (webhook_id, msg_offset) DO UPDATE SET
  status = excluded.status, next_attempt_at = excluded.next_attempt_at,
  attempts = d.attempts + excluded.attempts, status_code = excluded.status_code, updated_at = excluded.updated_at`;

/**
 * One row per message: an upsert may not touch a row twice. Records of one
 * message in a group (a retry and a manual resend, say) fold into the last,
 * with their attempts summed. Only a group's first record may be tentative
 * against the stored state; a later tentative one keeps the pending or
 * success state recorded earlier in the group, and otherwise applies.
 */
function deliveryRows(records: OwnedRecord[]): DeliveryWrite[] {
  const rows = new Map<string, DeliveryWrite>();
  for (const [{ webhookId, attempt, delivery }] of records) {
    const key = `${webhookId}\u0000${delivery.offset}`;
    const before = rows.get(key);
    const row = { ...delivery, webhookId, tried: (before?.tried ?? 0) + (attempt ? 1 : 0), tentative: delivery.tentative === true && !before };
    const keep = delivery.tentative && (before?.status === 'pending' || before?.status === 'success');
    rows.set(key, keep ? { ...row, status: 'pending', nextAttemptAt: before.nextAttemptAt } : row);
  }
  return [...rows.values()];
}

/** The retry set's changes of a group, one per message: an upsert may not touch a row twice, and the last change wins. */
function retryChanges(records: OwnedRecord[]): Array<{ webhookId: string; offset: number; retry: ParkedRetry | null }> {
  const changes = new Map<string, { webhookId: string; offset: number; retry: ParkedRetry | null }>();
  for (const [{ webhookId, delivery, retry }] of records) {
    if (retry !== undefined) changes.set(`${webhookId}\u0000${delivery.offset}`, { webhookId, offset: delivery.offset, retry });
  }
  return [...changes.values()];
}

export function postgresEgress(db: Db, changes: Changes): EgressStore {
  const one = async (text: string, values: unknown[]) => {
    const [row] = await db.rows<EgressWebhookRow>({ text, values });
    return row && toEgressWebhook(row);
  };

  const recorder = new GroupWriter<OwnedRecord>(async (records) => {
    const owners = [...new Map(records.map(([record, owner]) => [record.webhookId, owner])).entries()];
    const latest = [
      ...new Map(records.flatMap(([record]) => (record.state ? [[record.webhookId, { ...record.state, id: record.webhookId }] as const] : []))).values(),
    ];
    const states = columnsOf(latest, {
      id: (s) => s.id,
      active: (s) => s.active,
      inactiveReason: (s) => s.inactiveReason,
      nextOffset: (s) => s.nextOffset,
      failures: (s) => s.failures,
      nextAttemptAt: (s) => s.nextAttemptAt,
      lastOffset: (s) => s.lastOffset,
      lastTime: (s) => s.lastTime,
      lastResponse: (s) => s.lastResponse,
      lastError: (s) => s.lastError,
    });
    const attempts = columnsOf(
      records.flatMap(([record]) => (record.attempt ? [record.attempt] : [])),
      {
        webhookId: (a) => a.webhookId,
        offset: (a) => a.offset,
        attempt: (a) => a.attempt,
        time: (a) => a.time,
        statusCode: (a) => a.statusCode,
        durationMs: (a) => Math.round(a.durationMs),
        response: (a) => a.response,
        error: (a) => a.error,
        trigger: (a) => a.trigger,
      },
    );
    const deliveries = columnsOf(deliveryRows(records), {
      webhookId: (d) => d.webhookId,
      offset: (d) => d.offset,
      status: (d) => d.status,
      tried: (d) => d.tried,
      nextAttemptAt: (d) => d.nextAttemptAt,
      statusCode: (d) => d.statusCode,
      at: (d) => d.at,
      tentative: (d) => d.tentative,
    });
    const retries = columnsOf(retryChanges(records), {
      webhookId: (r) => r.webhookId,
      offset: (r) => r.offset,
      failures: (r) => r.retry?.failures ?? null,
      nextAttemptAt: (r) => r.retry?.nextAttemptAt ?? null,
    });
    const held = [owners.map(([id]) => id), owners.map(([, owner]) => owner)];
    await db.query({ name: 'egress-record', text: RECORD_SQL, values: [...held, ...states, ...attempts, ...deliveries, ...retries] });
  }, DELIVERY_RECORD_WINDOW_MS);

  return {
    async create(webhook) {
      // The endpoint's uid is checked by its unique index, within the transaction.
      const created = await unlessUidTaken(() =>
        db.tx(async (q, onCommit) => {
          const { rows } = await q.query<EgressWebhookRow>({
            text: `INSERT INTO egress_webhooks (id, log_id, metadata, destination, payload, mode, signing, headers, filter_event_types,
                   filter_channels, rate_limit, active, inactive_reason, next_offset, failures, next_attempt_at, last_offset, last_time,
                   last_response, last_error)
                 VALUES ($1, $2, $3, $4, $5, $6, $9, $10, $11, $12, $13, $14::text IS NULL, coalesce($14, ''), $7, 0, $8, NULL, NULL, '', '') RETURNING ${COLUMNS}`,
            values: [
              webhook.id,
              webhook.logId,
              webhook.metadata,
              webhook.destination,
              webhook.payload,
              webhook.mode,
              webhook.startOffset,
              webhook.nowMs,
              webhook.signing,
              JSON.stringify(webhook.headers),
              JSON.stringify(webhook.filter.eventTypes),
              JSON.stringify(webhook.filter.channels),
              webhook.rateLimit,
              webhook.inactiveReason ?? null,
            ],
          });
          await q.query({ text: 'INSERT INTO egress_secrets (webhook_id, secret, expires_at) VALUES ($1, $2, NULL)', values: [webhook.id, webhook.secret] });
          const endpoint = webhook.endpoint;
          if (endpoint) {
            await q.query({
              text: `INSERT INTO endpoints (webhook_id, log_id, uid, description, version, metadata, created_at, updated_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
              values: [
                endpoint.webhookId,
                endpoint.logId,
                endpoint.uid,
                endpoint.description,
                endpoint.version,
                JSON.stringify(endpoint.metadata),
                endpoint.createdAt,
                endpoint.updatedAt,
              ],
            });
          }
          await changes.announce(q, onCommit, 'egress_changed', [webhook.id]);
          return toEgressWebhook(rows[0]!);
        }),
      );
      if (created === 'uid_taken') fail('uid_taken', `another endpoint of the log has the uid ${JSON.stringify(webhook.endpoint?.uid)}`);
      return created;
    },
    get: (id) => one(`SELECT ${COLUMNS} FROM egress_webhooks WHERE id = $1`, [id]),
    async list({ metadata }) {
      const rows = await db.rows<EgressWebhookRow>({
        text: `SELECT ${COLUMNS} FROM egress_webhooks WHERE $1::text IS NULL OR metadata = $1 ORDER BY seq`,
        values: [metadata ?? null],
      });
      return rows.map(toEgressWebhook);
    },
    async countActive() {
      const [row] = await db.rows<{ n: number }>({ name: 'egress-count-active', text: 'SELECT count(*)::bigint AS n FROM egress_webhooks WHERE active' });
      return row!.n;
    },
    async claim(owner, nowMs, untilMs, limit) {
      // SKIP LOCKED: nodes claiming at the same moment each take different webhooks
      // instead of waiting on each other. The owner's own leases count only when they
      // predate this claim (a restart), not those it just renewed to `untilMs`.
      const rows = await db.rows<{ id: string }>({
        name: 'egress-claim',
        text: `UPDATE egress_webhooks SET lease_owner = $1, lease_until = $3
               WHERE seq IN (
                 SELECT seq FROM egress_webhooks
                 WHERE active AND (lease_owner IS NULL OR lease_until <= $2 OR (lease_owner = $1 AND lease_until < $3))
                 ORDER BY seq LIMIT $4 FOR UPDATE SKIP LOCKED)
               RETURNING id`,
        values: [owner, nowMs, untilMs, limit],
      });
      return rows.map((row) => row.id);
    },
    async renew(owner, ids, untilMs) {
      if (ids.length === 0) return [];
      const rows = await db.rows<{ id: string }>({
        name: 'egress-renew',
        text: 'UPDATE egress_webhooks SET lease_until = $3 WHERE lease_owner = $1 AND id = ANY($2::text[]) RETURNING id',
        values: [owner, ids, untilMs],
      });
      return rows.map((row) => row.id);
    },
    async release(owner, ids) {
      if (ids.length === 0) return;
      await db.query({
        name: 'egress-release',
        text: 'UPDATE egress_webhooks SET lease_owner = NULL, lease_until = 0 WHERE lease_owner = $1 AND id = ANY($2::text[])',
        values: [owner, ids],
      });
    },
    update: (id, changed) =>
      db.tx(async (q, onCommit) => {
        const { deactivate, reactivateAt } = activation(changed);
        const { rows } = await q.query<EgressWebhookRow>({
          text: `UPDATE egress_webhooks SET
                   metadata = coalesce($2, metadata),
                   destination = coalesce($3, destination),
                   headers = coalesce($5, headers),
                   filter_event_types = coalesce($6, filter_event_types),
                   filter_channels = coalesce($7, filter_channels),
                   rate_limit = CASE WHEN $8::boolean THEN $9::integer ELSE rate_limit END,
                   active = CASE WHEN $10::text IS NOT NULL THEN false WHEN $4::bigint IS NOT NULL THEN true ELSE active END,
                   inactive_reason = CASE WHEN $10::text IS NOT NULL THEN $10::text WHEN $4::bigint IS NOT NULL THEN '' ELSE inactive_reason END,
                   failures = CASE WHEN $4::bigint IS NULL THEN failures ELSE 0 END,
                   next_attempt_at = coalesce($4::bigint, next_attempt_at)
                 WHERE id = $1 RETURNING ${COLUMNS}`,
          values: [
            id,
            changed.metadata ?? null,
            changed.destination ?? null,
            reactivateAt,
            changed.headers === undefined ? null : JSON.stringify(changed.headers),
            changed.filter ? JSON.stringify(changed.filter.eventTypes) : null,
            changed.filter ? JSON.stringify(changed.filter.channels) : null,
            changed.rateLimit !== undefined,
            changed.rateLimit ?? null,
            deactivate,
          ],
        });
        if (rows[0]) await changes.announce(q, onCommit, 'egress_changed', [id]);
        return rows[0] && toEgressWebhook(rows[0]);
      }),
    delete: (id) =>
      db.tx(async (q, onCommit) => {
        const deleted = await postgresDeletion.egress(q, id);
        if (deleted) await changes.announce(q, onCommit, 'egress_changed', [id]);
        return deleted;
      }),
    rotateSecret: (id, secret, oldExpiresAt, nowMs, keep) =>
      db.tx(async (q, onCommit) => {
        const { rows } = await q.query<EgressWebhookRow>({ text: `SELECT ${COLUMNS} FROM egress_webhooks WHERE id = $1 FOR UPDATE`, values: [id] });
        if (!rows[0]) return undefined;
        // A rotation that ends the old secret at once ends every earlier one too: it is how a leaked secret is revoked.
        await q.query({
          text: 'UPDATE egress_secrets SET expires_at = $2::bigint WHERE webhook_id = $1 AND (expires_at IS NULL OR $2::bigint <= $3::bigint)',
          values: [id, oldExpiresAt, nowMs],
        });
        await q.query({ text: 'DELETE FROM egress_secrets WHERE webhook_id = $1 AND expires_at IS NOT NULL AND expires_at <= $2', values: [id, nowMs] });
        // Of the old secrets, those that expire last stay: the ones dropped would have stopped first anyway.
        await q.query({
          text: `DELETE FROM egress_secrets WHERE webhook_id = $1 AND expires_at IS NOT NULL AND ctid NOT IN (
                   SELECT ctid FROM egress_secrets WHERE webhook_id = $1 AND expires_at IS NOT NULL ORDER BY expires_at DESC LIMIT $2)`,
          values: [id, Math.max(keep - 1, 0)],
        });
        await q.query({ text: 'INSERT INTO egress_secrets (webhook_id, secret, expires_at) VALUES ($1, $2, NULL)', values: [id, secret] });
        await changes.announce(q, onCommit, 'egress_changed', [id]);
        return toEgressWebhook(rows[0]);
      }),
    async secrets(id, nowMs) {
      const rows = await db.rows<{ secret: string; expires_at: number | null }>({
        name: 'egress-secrets',
        text: `SELECT secret, expires_at FROM egress_secrets WHERE webhook_id = $1 AND (expires_at IS NULL OR expires_at > $2)
               ORDER BY expires_at IS NOT NULL, expires_at DESC`,
        values: [id, nowMs],
      });
      return rows.map((row) => ({ secret: row.secret, expiresAt: row.expires_at }));
    },
    async transformation(id) {
      const [row] = await db.rows<TransformationRow>({
        name: 'egress-transformation',
        text: 'SELECT code, enabled, updated_at FROM egress_transformations WHERE webhook_id = $1',
        values: [id],
      });
      return row && toTransformation(row);
    },
    setTransformation: (id, transformation) =>
      db.tx(async (q, onCommit) => {
        const { rows } = await q.query({ text: 'SELECT 1 FROM egress_webhooks WHERE id = $1 FOR UPDATE', values: [id] });
        if (rows.length === 0) return false;
        if (transformation) {
          await q.query({
            text: `INSERT INTO egress_transformations (webhook_id, code, enabled, updated_at) VALUES ($1, $2, $3, $4)
                   ON CONFLICT (webhook_id) DO UPDATE SET code = excluded.code, enabled = excluded.enabled, updated_at = excluded.updated_at`,
            values: [id, transformation.code, transformation.enabled, transformation.updatedAt],
          });
        } else {
          await q.query({ text: 'DELETE FROM egress_transformations WHERE webhook_id = $1', values: [id] });
        }
        await changes.announce(q, onCommit, 'egress_changed', [id]);
        return true;
      }),
    recordAttempt(record, owner) {
      return recorder.write([record, owner], isUrgent(record));
    },
    async attempts(id, query) {
      const values: unknown[] = [id];
      const conditions = attemptConditions(query, (value) => {
        values.push(value);
        return `$${values.length}`;
      });
      values.push(query.limit);
      const text = `SELECT ${ATTEMPT_COLUMNS} FROM delivery_attempts WHERE webhook_id = $1${conditions} ORDER BY id DESC LIMIT $${values.length}`;
      return (await db.rows<AttemptRow>({ text, values })).map(toAttempt);
    },
    async attempt(id, attemptId) {
      const [row] = await db.rows<AttemptRow>({
        text: `SELECT ${ATTEMPT_COLUMNS} FROM delivery_attempts WHERE webhook_id = $1 AND id = $2`,
        values: [id, attemptId],
      });
      return row && toAttempt(row);
    },
    expungeResponse: (id, attemptId) =>
      db.tx(async (q) => {
        const { rows } = await q.query<{ msg_offset: number; time: number }>({
          text: "UPDATE delivery_attempts SET response = '' WHERE webhook_id = $1 AND id = $2 RETURNING msg_offset, time",
          values: [id, attemptId],
        });
        if (!rows[0]) return false;
        // The webhook's last response is a copy of its last attempt's.
        await q.query({
          text: "UPDATE egress_webhooks SET last_response = '' WHERE id = $1 AND last_offset = $2 AND last_time = $3",
          values: [id, rows[0].msg_offset, rows[0].time],
        });
        return true;
      }),
    async deliveryStates(id, offsets) {
      if (offsets.length === 0) return new Map();
      const rows = await db.rows<DeliveryRow>({
        name: 'egress-delivery-states',
        text: `SELECT msg_offset, status, attempts, next_attempt_at, status_code, updated_at FROM deliveries
               WHERE webhook_id = $1 AND msg_offset = ANY($2::bigint[])`,
        values: [id, offsets],
      });
      return new Map(rows.map((row) => [row.msg_offset, toDelivery(row)]));
    },
    async deliveryCounts(id, cursor) {
      const rows = await db.rows<{ status: StoredDeliveryStatus; n: number }>({
        text: 'SELECT status, count(*)::bigint AS n FROM deliveries WHERE webhook_id = $1 AND msg_offset < $2 GROUP BY status',
        values: [id, cursor],
      });
      const result = { pending: 0, success: 0, failed: 0, skipped: 0 };
      for (const row of rows) result[row.status] = row.n;
      return result;
    },
    async failedSince(id, sinceMs, from, end, limit, untilMs) {
      const rows = await db.rows<{ msg_offset: number }>({
        text: `SELECT msg_offset FROM deliveries WHERE webhook_id = $1 AND status = 'failed' AND updated_at >= $2 AND ($6::bigint IS NULL OR updated_at < $6)
                 AND msg_offset >= $3 AND msg_offset < $4 ORDER BY msg_offset LIMIT $5`,
        values: [id, sinceMs, from, end, limit, untilMs ?? null],
      });
      return rows.map((row) => row.msg_offset);
    },
    async countFailedSince(id, sinceMs, end, untilMs) {
      const [row] = await db.rows<{ n: number }>({
        text: `SELECT count(*)::bigint AS n FROM deliveries WHERE webhook_id = $1 AND status = 'failed' AND updated_at >= $2
                 AND ($4::bigint IS NULL OR updated_at < $4) AND msg_offset < $3`,
        values: [id, sinceMs, end, untilMs ?? null],
      });
      return row!.n;
    },
    async attemptFloor(id, belowId, scan) {
      const [row] = await db.rows<{ id: number }>({
        text: 'SELECT id FROM delivery_attempts WHERE webhook_id = $1 AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT 1 OFFSET $3 - 1',
        values: [id, belowId ?? null, scan],
      });
      return row?.id;
    },
    createTask: (task) =>
      db.tx(async (q, onCommit) => {
        await q.query({
          text: `INSERT INTO delivery_tasks (id, webhook_id, kind, status, since, until, by_time, position, end_offset, total, sent, succeeded,
                   failed, error, created_at, updated_at, offsets)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
          values: [
            task.id,
            task.webhookId,
            task.kind,
            task.status,
            task.since,
            task.until,
            task.byTime,
            task.position,
            task.endOffset,
            task.total,
            task.sent,
            task.succeeded,
            task.failed,
            task.error,
            task.createdAt,
            task.updatedAt,
            task.offsets && JSON.stringify(task.offsets),
          ],
        });
        await changes.announce(q, onCommit, 'egress_changed', [task.webhookId]);
      }),
    async task(id) {
      const [row] = await db.rows<TaskRow>({ text: `SELECT ${TASK_COLUMNS} FROM delivery_tasks WHERE id = $1`, values: [id] });
      return row && toTask(row);
    },
    async runningTasks(webhookId) {
      const rows = await db.rows<TaskRow>({
        name: 'egress-running-tasks',
        text: `SELECT ${TASK_COLUMNS} FROM delivery_tasks WHERE webhook_id = $1 AND status = 'running' ORDER BY created_at, id`,
        values: [webhookId],
      });
      return rows.map(toTask);
    },
    async saveTask(task, owner) {
      const result = await db.query({
        name: 'egress-save-task',
        text: `UPDATE delivery_tasks SET status = $2, position = $3, total = $4, sent = $5, succeeded = $6, failed = $7, error = $8, updated_at = $9
               WHERE id = $1 AND EXISTS (SELECT 1 FROM egress_webhooks WHERE id = $10 AND lease_owner = $11)`,
        values: [task.id, task.status, task.position, task.total, task.sent, task.succeeded, task.failed, task.error, task.updatedAt, task.webhookId, owner],
      });
      return result.rowCount === 1;
    },
    async listTasks({ belowId, limit }) {
      const rows = await db.rows<TaskRow>({
        name: 'egress-list-tasks',
        // Ids compare byte by byte, as in SQLite, whatever the database's collation: only so do they sort by creation time.
        text: `SELECT ${TASK_COLUMNS} FROM delivery_tasks
               WHERE $1::text IS NULL OR id COLLATE "C" < $1
               ORDER BY id COLLATE "C" DESC LIMIT $2`,
        values: [belowId ?? null, limit],
      });
      return rows.map(toTask);
    },
    async unpark(id, offset) {
      await db.query({ name: 'egress-unpark', text: 'DELETE FROM retry_set WHERE webhook_id = $1 AND msg_offset = $2', values: [id, offset] });
    },
    async nextParked(id) {
      const [row] = await db.rows<{ msg_offset: number; failures: number; next_attempt_at: number }>({
        name: 'egress-next-parked',
        text: 'SELECT msg_offset, failures, next_attempt_at FROM retry_set WHERE webhook_id = $1 ORDER BY next_attempt_at, msg_offset LIMIT 1',
        values: [id],
      });
      return row && { offset: row.msg_offset, failures: row.failures, nextAttemptAt: row.next_attempt_at };
    },
    async parked(id) {
      const [row] = (await db.rows<{ count: number; first: number | null }>({
        name: 'egress-parked',
        text: 'SELECT count(*) AS count, min(msg_offset) AS first FROM retry_set WHERE webhook_id = $1',
        values: [id],
      })) as [{ count: number; first: number | null }];
      return { count: row.count, firstOffset: row.first };
    },
  };
}
