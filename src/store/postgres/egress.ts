import type { DeliveryAttempt, DeliveryState } from '../../domain/types.js';
import { GroupWriter } from '../group-writer.js';
import { type AttemptRow, type EgressWebhookRow, toAttempt, toEgressWebhook } from '../rows.js';
import type { EgressStore } from '../store.js';
import { EGRESS_COLUMNS as COLUMNS } from './columns.js';
import type { Db } from './db.js';
import { postgresDeletion } from './deletion.js';
import type { Changes } from './watch.js';

type AttemptRecord = [DeliveryAttempt, DeliveryState, string];

/** Column arrays for unnest, one entry per record. */
function columnsOf<T>(items: T[], pick: Record<string, (item: T) => unknown>): unknown[][] {
  return Object.values(pick).map((get) => items.map(get));
}

/**
 * Writes a group of attempts with one statement: the new states of webhooks
 * this node still holds (the last state per webhook in the group wins), and
 * the attempts of those webhooks only. A webhook deleted, or leased to another
 * node, while its attempt was in flight keeps no record of it.
 */
const RECORD_SQL = `
WITH saved AS (
  UPDATE egress_webhooks w SET active = s.active, inactive_reason = s.inactive_reason, next_offset = s.next_offset,
    failures = s.failures, next_attempt_at = s.next_attempt_at, last_offset = s.last_offset, last_time = s.last_time,
    last_response = s.last_response, last_error = s.last_error
  FROM unnest($1::text[], $2::text[], $3::boolean[], $4::text[], $5::bigint[], $6::integer[], $7::bigint[], $8::bigint[],
              $9::bigint[], $10::text[], $11::text[])
    AS s(id, owner, active, inactive_reason, next_offset, failures, next_attempt_at, last_offset, last_time, last_response, last_error)
  WHERE w.id = s.id AND w.lease_owner = s.owner
  RETURNING w.id
)
INSERT INTO delivery_attempts (webhook_id, msg_offset, attempt, time, status_code, duration_ms, response, error, trigger)
SELECT a.* FROM unnest($12::text[], $13::bigint[], $14::integer[], $15::bigint[], $16::integer[], $17::integer[], $18::text[],
                       $19::text[], $20::text[])
  AS a(webhook_id, msg_offset, attempt, time, status_code, duration_ms, response, error, trigger)
WHERE a.webhook_id IN (SELECT id FROM saved)`;

export function postgresEgress(db: Db, changes: Changes): EgressStore {
  const one = async (text: string, values: unknown[]) => {
    const [row] = await db.rows<EgressWebhookRow>({ text, values });
    return row && toEgressWebhook(row);
  };

  const recorder = new GroupWriter<AttemptRecord>(async (records) => {
    const latest = [...new Map(records.map((record) => [record[0].webhookId, record])).values()];
    const states = columnsOf(latest, {
      id: ([a]) => a.webhookId,
      owner: ([, , owner]) => owner,
      active: ([, s]) => s.active,
      inactiveReason: ([, s]) => s.inactiveReason,
      nextOffset: ([, s]) => s.nextOffset,
      failures: ([, s]) => s.failures,
      nextAttemptAt: ([, s]) => s.nextAttemptAt,
      lastOffset: ([, s]) => s.lastOffset,
      lastTime: ([, s]) => s.lastTime,
      lastResponse: ([, s]) => s.lastResponse,
      lastError: ([, s]) => s.lastError,
    });
    const attempts = columnsOf(records, {
      webhookId: ([a]) => a.webhookId,
      offset: ([a]) => a.offset,
      attempt: ([a]) => a.attempt,
      time: ([a]) => a.time,
      statusCode: ([a]) => a.statusCode,
      durationMs: ([a]) => Math.round(a.durationMs),
      response: ([a]) => a.response,
      error: ([a]) => a.error,
      trigger: ([a]) => a.trigger,
    });
    await db.query({ name: 'egress-record', text: RECORD_SQL, values: [...states, ...attempts] });
  });

  return {
    create: (webhook) =>
      db.tx(async (q, onCommit) => {
        const { rows } = await q.query<EgressWebhookRow>({
          text: `INSERT INTO egress_webhooks (id, log_id, metadata, destination, payload, mode, signing, headers, active, inactive_reason,
                   next_offset, failures, next_attempt_at, last_offset, last_time, last_response, last_error)
                 VALUES ($1, $2, $3, $4, $5, $6, $9, $10, true, '', $7, 0, $8, NULL, NULL, '', '') RETURNING ${COLUMNS}`,
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
          ],
        });
        await q.query({ text: 'INSERT INTO egress_secrets (webhook_id, secret, expires_at) VALUES ($1, $2, NULL)', values: [webhook.id, webhook.secret] });
        await changes.announce(q, onCommit, 'egress_changed', [webhook.id]);
        return toEgressWebhook(rows[0]!);
      }),
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
        const { rows } = await q.query<EgressWebhookRow>({
          text: `UPDATE egress_webhooks SET
                   metadata = coalesce($2, metadata),
                   destination = coalesce($3, destination),
                   headers = coalesce($5, headers),
                   active = CASE WHEN $4::bigint IS NULL THEN active ELSE true END,
                   inactive_reason = CASE WHEN $4::bigint IS NULL THEN inactive_reason ELSE '' END,
                   failures = CASE WHEN $4::bigint IS NULL THEN failures ELSE 0 END,
                   next_attempt_at = coalesce($4::bigint, next_attempt_at)
                 WHERE id = $1 RETURNING ${COLUMNS}`,
          values: [
            id,
            changed.metadata ?? null,
            changed.destination ?? null,
            changed.reactivateAt ?? null,
            changed.headers === undefined ? null : JSON.stringify(changed.headers),
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
    rotateSecret: (id, secret, oldExpiresAt, nowMs) =>
      db.tx(async (q, onCommit) => {
        const { rows } = await q.query<EgressWebhookRow>({ text: `SELECT ${COLUMNS} FROM egress_webhooks WHERE id = $1 FOR UPDATE`, values: [id] });
        if (!rows[0]) return undefined;
        // A rotation that ends the old secret at once ends every earlier one too: it is how a leaked secret is revoked.
        await q.query({
          text: 'UPDATE egress_secrets SET expires_at = $2::bigint WHERE webhook_id = $1 AND (expires_at IS NULL OR $2::bigint <= $3::bigint)',
          values: [id, oldExpiresAt, nowMs],
        });
        await q.query({ text: 'DELETE FROM egress_secrets WHERE webhook_id = $1 AND expires_at IS NOT NULL AND expires_at <= $2', values: [id, nowMs] });
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
    recordAttempt(attempt, state, owner) {
      return recorder.write([attempt, state, owner]);
    },
    async attempts(id, limit) {
      const rows = await db.rows<AttemptRow>({
        text: 'SELECT * FROM delivery_attempts WHERE webhook_id = $1 ORDER BY id DESC LIMIT $2',
        values: [id, limit],
      });
      return rows.map(toAttempt);
    },
    async park(id, retry) {
      await db.query({
        text: `INSERT INTO retry_set (webhook_id, msg_offset, failures, next_attempt_at) VALUES ($1, $2, $3, $4)
               ON CONFLICT (webhook_id, msg_offset) DO UPDATE SET failures = excluded.failures, next_attempt_at = excluded.next_attempt_at`,
        values: [id, retry.offset, retry.failures, retry.nextAttemptAt],
      });
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
  };
}
