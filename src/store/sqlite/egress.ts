import type { Database, Statement } from 'better-sqlite3';
import { fail } from '../../domain/errors.js';
import type { DeliveryState, DeliveryTask, EndpointFields, StoredDeliveryStatus, Transformation } from '../../domain/types.js';
import { attemptConditions } from '../attempt-query.js';
import type { ChangeFeed } from '../change-feed.js';
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
import type { SqliteDeletion } from './deletion.js';

type OwnedRecord = [DeliveryRecord, string];

const stateParams = (state: DeliveryState) => ({
  active: state.active ? 1 : 0,
  inactiveReason: state.inactiveReason,
  nextOffset: state.nextOffset,
  failures: state.failures,
  nextAttemptAt: state.nextAttemptAt,
  lastOffset: state.lastOffset,
  lastTime: state.lastTime,
  lastResponse: state.lastResponse,
  lastError: state.lastError,
});

export function sqliteEgress(db: Database, durable: () => Promise<void>, deletion: SqliteDeletion, feed: ChangeFeed): EgressStore {
  const insert = db.prepare(
    `INSERT INTO egress_webhooks (id, log_id, metadata, destination, payload, mode, signing, headers, filter_event_types, filter_channels,
       rate_limit, active, inactive_reason, next_offset, failures, next_attempt_at, last_offset, last_time, last_response, last_error)
     VALUES (@id, @logId, @metadata, @destination, @payload, @mode, @signing, @headers, @eventTypes, @channels, @rateLimit, @active, @inactiveReason, @startOffset,
       0, @nowMs, NULL, NULL, '', '')`,
  );
  const insertSecret = db.prepare('INSERT INTO egress_secrets (webhook_id, secret, expires_at) VALUES (?, ?, NULL)');
  const insertEndpoint = db.prepare<[EndpointFields & { metadataJson: string }]>(
    `INSERT INTO endpoints (webhook_id, log_id, uid, description, version, metadata, created_at, updated_at)
     VALUES (@webhookId, @logId, @uid, @description, @version, @metadataJson, @createdAt, @updatedAt)`,
  );
  const byId = db.prepare<[string], EgressWebhookRow>('SELECT * FROM egress_webhooks WHERE id = ?');
  const list = db.prepare<[{ metadata: string | null }], EgressWebhookRow>(
    'SELECT * FROM egress_webhooks WHERE @metadata IS NULL OR metadata = @metadata ORDER BY seq',
  );
  const countActive = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM egress_webhooks WHERE active = 1');
  const claim = db.prepare<[{ owner: string; now: number; until: number; limit: number }], { id: string }>(
    `UPDATE egress_webhooks SET lease_owner = @owner, lease_until = @until
     WHERE seq IN (
       SELECT seq FROM egress_webhooks
       WHERE active = 1 AND (lease_owner IS NULL OR lease_until <= @now OR (lease_owner = @owner AND lease_until < @until))
       ORDER BY seq LIMIT @limit)
     RETURNING id`,
  );
  const renew = db.prepare<[number, string, string], { id: string }>(
    'UPDATE egress_webhooks SET lease_until = ? WHERE lease_owner = ? AND id = ? RETURNING id',
  );
  const release = db.prepare('UPDATE egress_webhooks SET lease_owner = NULL, lease_until = 0 WHERE lease_owner = ? AND id = ?');
  const update = db.prepare<[Record<string, string | number | null>], EgressWebhookRow>(
    `UPDATE egress_webhooks SET
       metadata = coalesce(@metadata, metadata),
       destination = coalesce(@destination, destination),
       headers = coalesce(@headers, headers),
       filter_event_types = coalesce(@eventTypes, filter_event_types),
       filter_channels = coalesce(@channels, filter_channels),
       rate_limit = CASE WHEN @setRateLimit = 1 THEN @rateLimit ELSE rate_limit END,
       active = CASE WHEN @deactivate IS NOT NULL THEN 0 WHEN @reactivateAt IS NOT NULL THEN 1 ELSE active END,
       inactive_reason = CASE WHEN @deactivate IS NOT NULL THEN @deactivate WHEN @reactivateAt IS NOT NULL THEN '' ELSE inactive_reason END,
       failures = CASE WHEN @reactivateAt IS NULL THEN failures ELSE 0 END,
       next_attempt_at = coalesce(@reactivateAt, next_attempt_at)
     WHERE id = @id RETURNING *`,
  );
  // A rotation that ends the old secret at once ends every earlier one too: it is how a leaked secret is revoked.
  const expireOld = db.prepare<[{ id: string; oldExpiresAt: number; nowMs: number }]>(
    'UPDATE egress_secrets SET expires_at = @oldExpiresAt WHERE webhook_id = @id AND (expires_at IS NULL OR @oldExpiresAt <= @nowMs)',
  );
  const dropExpired = db.prepare('DELETE FROM egress_secrets WHERE webhook_id = ? AND expires_at IS NOT NULL AND expires_at <= ?');
  // Of the old secrets, those that expire last stay: the ones dropped would have stopped first anyway.
  const dropBeyond = db.prepare<[{ id: string; old: number }]>(
    `DELETE FROM egress_secrets WHERE webhook_id = @id AND expires_at IS NOT NULL AND rowid NOT IN (
       SELECT rowid FROM egress_secrets WHERE webhook_id = @id AND expires_at IS NOT NULL ORDER BY expires_at DESC LIMIT @old)`,
  );
  const validSecrets = db.prepare<[string, number], { secret: string; expires_at: number | null }>(
    `SELECT secret, expires_at FROM egress_secrets WHERE webhook_id = ? AND (expires_at IS NULL OR expires_at > ?)
     ORDER BY expires_at IS NOT NULL, expires_at DESC`,
  );
  const insertAttempt = db.prepare(
    `INSERT INTO delivery_attempts (webhook_id, msg_offset, attempt, time, status_code, duration_ms, response, error, trigger)
     VALUES (@webhookId, @offset, @attempt, @time, @statusCode, @durationMs, @response, @error, @trigger)`,
  );
  // A record never re-activates a webhook, only an update does: an attempt in flight when it was deactivated must not undo that.
  const saveState = db.prepare(
    `UPDATE egress_webhooks SET active = min(active, @active), inactive_reason = CASE WHEN active = 1 THEN @inactiveReason ELSE inactive_reason END,
       next_offset = @nextOffset,
       failures = @failures, next_attempt_at = @nextAttemptAt, last_offset = @lastOffset, last_time = @lastTime,
       last_response = @lastResponse, last_error = @lastError
     WHERE id = @id AND lease_owner = @owner`,
  );
  const leaseHeld = db.prepare<[string, string], { held: number }>('SELECT 1 AS held FROM egress_webhooks WHERE id = ? AND lease_owner = ?');
  const upsertDelivery = db.prepare(
    `INSERT INTO deliveries (webhook_id, msg_offset, status, attempts, next_attempt_at, status_code, updated_at)
     VALUES (@webhookId, @offset, @status, @tried, @nextAttemptAt, @statusCode, @at)
     ON CONFLICT (webhook_id, msg_offset) DO UPDATE SET
       status = CASE WHEN @tentative = 1 AND status IN ('pending', 'success') THEN status ELSE excluded.status END,
       next_attempt_at = CASE WHEN @tentative = 1 AND status IN ('pending', 'success') THEN next_attempt_at ELSE excluded.next_attempt_at END,
       attempts = attempts + excluded.attempts,
       status_code = excluded.status_code,
       updated_at = excluded.updated_at`,
  );
  const attemptById = db.prepare<[string, number], AttemptRow>('SELECT * FROM delivery_attempts WHERE webhook_id = ? AND id = ?');
  const blankResponse = db.prepare<[string, number], { msg_offset: number; time: number }>(
    "UPDATE delivery_attempts SET response = '' WHERE webhook_id = ? AND id = ? RETURNING msg_offset, time",
  );
  // The webhook's last response is a copy of its last attempt's.
  const blankLastResponse = db.prepare<[string, number, number]>(
    "UPDATE egress_webhooks SET last_response = '' WHERE id = ? AND last_offset = ? AND last_time = ?",
  );
  const states = db.prepare<[string, string], DeliveryRow>(
    `SELECT msg_offset, status, attempts, next_attempt_at, status_code, updated_at FROM deliveries
     WHERE webhook_id = ? AND msg_offset IN (SELECT value FROM json_each(?))`,
  );
  const attemptQueries = new Map<string, Statement<unknown[], AttemptRow>>();
  const counts = db.prepare<[string, number], { status: StoredDeliveryStatus; n: number }>(
    'SELECT status, count(*) AS n FROM deliveries WHERE webhook_id = ? AND msg_offset < ? GROUP BY status',
  );
  const failedSince = db.prepare<[{ id: string; since: number; until: number | null; from: number; end: number; limit: number }], { msg_offset: number }>(
    `SELECT msg_offset FROM deliveries WHERE webhook_id = @id AND status = 'failed' AND updated_at >= @since AND (@until IS NULL OR updated_at < @until)
       AND msg_offset >= @from AND msg_offset < @end ORDER BY msg_offset LIMIT @limit`,
  );
  const countFailedSince = db.prepare<[{ id: string; since: number; until: number | null; end: number }], { n: number }>(
    `SELECT count(*) AS n FROM deliveries WHERE webhook_id = @id AND status = 'failed' AND updated_at >= @since AND (@until IS NULL OR updated_at < @until)
       AND msg_offset < @end`,
  );
  const floor = db.prepare<[{ id: string; below: number | null; scan: number }], { id: number }>(
    `SELECT id FROM delivery_attempts WHERE webhook_id = @id AND (@below IS NULL OR id < @below) ORDER BY id DESC LIMIT 1 OFFSET @scan - 1`,
  );
  const insertTask = db.prepare(
    `INSERT INTO delivery_tasks (id, webhook_id, kind, status, since, until, by_time, position, end_offset, total, sent, succeeded, failed,
       error, created_at, updated_at, offsets)
     VALUES (@id, @webhookId, @kind, @status, @since, @until, @byTime, @position, @endOffset, @total, @sent, @succeeded, @failed, @error,
       @createdAt, @updatedAt, @offsets)`,
  );
  const taskById = db.prepare<[string], TaskRow>('SELECT * FROM delivery_tasks WHERE id = ?');
  const runningTasks = db.prepare<[string], TaskRow>("SELECT * FROM delivery_tasks WHERE webhook_id = ? AND status = 'running' ORDER BY created_at, id");
  const listTasks = db.prepare<[{ belowId: string | null; limit: number }], TaskRow>(
    'SELECT * FROM delivery_tasks WHERE @belowId IS NULL OR id < @belowId ORDER BY id DESC LIMIT @limit',
  );
  const saveTask = db.prepare(
    `UPDATE delivery_tasks SET status = @status, position = @position, total = @total, sent = @sent, succeeded = @succeeded,
       failed = @failed, error = @error, updated_at = @updatedAt
     WHERE id = @id AND EXISTS (SELECT 1 FROM egress_webhooks WHERE id = @webhookId AND lease_owner = @owner)`,
  );
  const park = db.prepare(
    `INSERT INTO retry_set (webhook_id, msg_offset, failures, next_attempt_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (webhook_id, msg_offset) DO UPDATE SET failures = excluded.failures, next_attempt_at = excluded.next_attempt_at`,
  );
  const unpark = db.prepare('DELETE FROM retry_set WHERE webhook_id = ? AND msg_offset = ?');
  const nextParked = db.prepare<[string], { msg_offset: number; failures: number; next_attempt_at: number }>(
    'SELECT msg_offset, failures, next_attempt_at FROM retry_set WHERE webhook_id = ? ORDER BY next_attempt_at, msg_offset LIMIT 1',
  );

  const parked = db.prepare<[string], { count: number; first: number | null }>(
    'SELECT count(*) AS count, min(msg_offset) AS first FROM retry_set WHERE webhook_id = ?',
  );

  const create = db.transaction((webhook: Parameters<EgressStore['create']>[0]) => {
    insert.run({
      ...webhook,
      headers: JSON.stringify(webhook.headers),
      eventTypes: JSON.stringify(webhook.filter.eventTypes),
      channels: JSON.stringify(webhook.filter.channels),
      filter: undefined,
      secret: undefined,
      endpoint: undefined,
      active: webhook.inactiveReason === undefined ? 1 : 0,
      inactiveReason: webhook.inactiveReason ?? '',
    });
    insertSecret.run(webhook.id, webhook.secret);
    if (webhook.endpoint) insertEndpoint.run({ ...webhook.endpoint, metadataJson: JSON.stringify(webhook.endpoint.metadata) });
    return toEgressWebhook(byId.get(webhook.id)!);
  });
  const deleteWebhook = db.transaction((id: string) => deletion.egress(id));
  const transformationOf = db.prepare<[string], TransformationRow>('SELECT code, enabled, updated_at FROM egress_transformations WHERE webhook_id = ?');
  const upsertTransformation = db.prepare(
    `INSERT INTO egress_transformations (webhook_id, code, enabled, updated_at) VALUES (@id, @code, @enabled, @updatedAt)
     ON CONFLICT (webhook_id) DO UPDATE SET code = excluded.code, enabled = excluded.enabled, updated_at = excluded.updated_at`,
  );
  const removeTransformation = db.prepare('DELETE FROM egress_transformations WHERE webhook_id = ?');
  const setTransformation = db.transaction((id: string, transformation: Transformation | null) => {
    if (!byId.get(id)) return false;
    if (transformation) upsertTransformation.run({ id, ...transformation, enabled: transformation.enabled ? 1 : 0 });
    else removeTransformation.run(id);
    return true;
  });
  const rotate = db.transaction((id: string, secret: string, oldExpiresAt: number, nowMs: number, keep: number) => {
    if (!byId.get(id)) return undefined;
    expireOld.run({ id, oldExpiresAt, nowMs });
    dropExpired.run(id, nowMs);
    dropBeyond.run({ id, old: Math.max(keep - 1, 0) });
    insertSecret.run(id, secret);
    return toEgressWebhook(byId.get(id)!);
  });
  const expungeResponse = db.transaction((id: string, attemptId: number) => {
    const attempt = blankResponse.get(id, attemptId);
    if (attempt) blankLastResponse.run(id, attempt.msg_offset, attempt.time);
    return attempt !== undefined;
  });
  // A webhook deleted, or leased to another node, while its attempt was in
  // flight keeps no record of it: the new holder makes the attempt again.
  // A webhook's last state in the group is the one that counts: one update of
  // its row per group, not one per attempt.
  const recordAll = db.transaction((records: OwnedRecord[]) => {
    const latest = new Map<string, DeliveryState>();
    for (const [{ webhookId, state }] of records) if (state) latest.set(webhookId, state);
    const held = new Map<string, boolean>();
    const holds = (webhookId: string, owner: string) => {
      let holding = held.get(webhookId);
      if (holding === undefined) {
        const state = latest.get(webhookId);
        holding = state ? saveState.run({ id: webhookId, owner, ...stateParams(state) }).changes === 1 : leaseHeld.get(webhookId, owner) !== undefined;
        held.set(webhookId, holding);
      }
      return holding;
    };
    for (const [{ webhookId, attempt, delivery, retry }, owner] of records) {
      if (!holds(webhookId, owner)) continue;
      if (attempt) insertAttempt.run({ ...attempt, id: undefined });
      if (retry) park.run(webhookId, retry.offset, retry.failures, retry.nextAttemptAt);
      else if (retry === null) unpark.run(webhookId, delivery.offset);
      upsertDelivery.run({
        webhookId,
        ...delivery,
        tried: attempt ? 1 : 0,
        tentative: delivery.tentative ? 1 : 0,
      });
    }
  });
  // Attempts that end within a short window (of one lane, or many at once) are
  // written in one transaction: one commit instead of one each.
  const recorder = new GroupWriter<OwnedRecord>((records) => recordAll.immediate(records), DELIVERY_RECORD_WINDOW_MS);
  const taskParams = (task: DeliveryTask) => ({ ...task, byTime: task.byTime ? 1 : 0, offsets: task.offsets && JSON.stringify(task.offsets) });

  // After the commit, so that a lane that hears of the change reads it.
  const changed = (webhookId: string) => feed.emit({ kind: 'egress_changed', webhookId });

  return {
    async create(webhook) {
      const created = unlessUidTaken(() => create.immediate(webhook));
      if (created === 'uid_taken') fail('uid_taken', `another endpoint of the log has the uid ${JSON.stringify(webhook.endpoint?.uid)}`);
      await durable();
      changed(created.id);
      return created;
    },
    async get(id) {
      const row = byId.get(id);
      return row && toEgressWebhook(row);
    },
    async list({ metadata }) {
      return list.all({ metadata: metadata ?? null }).map(toEgressWebhook);
    },
    async countActive() {
      return countActive.get()!.n;
    },
    async claim(owner, nowMs, untilMs, limit) {
      return claim.all({ owner, now: nowMs, until: untilMs, limit }).map((row) => row.id);
    },
    async renew(owner, ids, untilMs) {
      return db.transaction(() => ids.filter((id) => renew.get(untilMs, owner, id)))();
    },
    async release(owner, ids) {
      db.transaction(() => {
        for (const id of ids) release.run(owner, id);
      })();
    },
    async update(id, changes) {
      const row = update.get({
        id,
        metadata: changes.metadata ?? null,
        destination: changes.destination ?? null,
        headers: changes.headers === undefined ? null : JSON.stringify(changes.headers),
        eventTypes: changes.filter ? JSON.stringify(changes.filter.eventTypes) : null,
        channels: changes.filter ? JSON.stringify(changes.filter.channels) : null,
        setRateLimit: changes.rateLimit === undefined ? 0 : 1,
        rateLimit: changes.rateLimit ?? null,
        ...activation(changes),
      });
      await durable();
      if (row) changed(id);
      return row && toEgressWebhook(row);
    },
    async delete(id) {
      const deleted = deleteWebhook.immediate(id);
      await durable();
      if (deleted) changed(id);
      return deleted;
    },
    async rotateSecret(id, secret, oldExpiresAt, nowMs, keep) {
      const rotated = rotate.immediate(id, secret, oldExpiresAt, nowMs, keep);
      await durable();
      if (rotated) changed(id);
      return rotated;
    },
    async secrets(id, nowMs) {
      return validSecrets.all(id, nowMs).map((row) => ({ secret: row.secret, expiresAt: row.expires_at }));
    },
    async transformation(id) {
      const row = transformationOf.get(id);
      return row && toTransformation(row);
    },
    async setTransformation(id, transformation) {
      const set = setTransformation.immediate(id, transformation);
      await durable();
      if (set) changed(id);
      return set;
    },
    recordAttempt(record, owner) {
      return recorder.write([record, owner], isUrgent(record));
    },
    async attempts(id, query) {
      const values: number[] = [];
      const sql = `SELECT * FROM delivery_attempts WHERE webhook_id = ?${attemptConditions(query, (value) => {
        values.push(value);
        return '?';
      })} ORDER BY id DESC LIMIT ?`;
      let statement = attemptQueries.get(sql);
      if (!statement) {
        statement = db.prepare<unknown[], AttemptRow>(sql);
        attemptQueries.set(sql, statement);
      }
      return statement.all(id, ...values, query.limit).map(toAttempt);
    },
    async attempt(id, attemptId) {
      const row = attemptById.get(id, attemptId);
      return row && toAttempt(row);
    },
    async expungeResponse(id, attemptId) {
      const expunged = expungeResponse.immediate(id, attemptId);
      await durable();
      return expunged;
    },
    async deliveryStates(id, offsets) {
      if (offsets.length === 0) return new Map();
      return new Map(states.all(id, JSON.stringify(offsets)).map((row) => [row.msg_offset, toDelivery(row)]));
    },
    async deliveryCounts(id, cursor) {
      const result = { pending: 0, success: 0, failed: 0, skipped: 0 };
      for (const row of counts.all(id, cursor)) result[row.status] = row.n;
      return result;
    },
    async failedSince(id, sinceMs, from, end, limit, untilMs) {
      return failedSince.all({ id, since: sinceMs, until: untilMs ?? null, from, end, limit }).map((row) => row.msg_offset);
    },
    async countFailedSince(id, sinceMs, end, untilMs) {
      return countFailedSince.get({ id, since: sinceMs, until: untilMs ?? null, end })!.n;
    },
    async attemptFloor(id, belowId, scan) {
      return floor.get({ id, below: belowId ?? null, scan })?.id;
    },
    async createTask(task) {
      insertTask.run(taskParams(task));
      await durable();
      changed(task.webhookId);
    },
    async task(id) {
      const row = taskById.get(id);
      return row && toTask(row);
    },
    async runningTasks(webhookId) {
      return runningTasks.all(webhookId).map(toTask);
    },
    async saveTask(task, owner) {
      return saveTask.run({ ...taskParams(task), owner }).changes === 1;
    },
    async listTasks({ belowId, limit }) {
      return listTasks.all({ belowId: belowId ?? null, limit }).map(toTask);
    },
    async unpark(id, offset) {
      unpark.run(id, offset);
    },
    async nextParked(id) {
      const row = nextParked.get(id);
      return row && { offset: row.msg_offset, failures: row.failures, nextAttemptAt: row.next_attempt_at };
    },
    async parked(id) {
      const { count, first } = parked.get(id)!;
      return { count, firstOffset: first };
    },
  };
}
