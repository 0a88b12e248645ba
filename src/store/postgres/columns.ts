/** The columns each row mapper of ../rows.ts reads, per table: selected and returned by name, never `*`, so that a new column is not sent until a mapper reads it. */
export const LOG_COLUMNS = 'seq, id, metadata, compacting, trim_bytes, trim_seconds, compact_seconds, expire_seconds, next_offset';
export const EGRESS_COLUMNS = `id, log_id, metadata, destination, payload, mode, signing, headers, filter_event_types, filter_channels, rate_limit,
  active, inactive_reason, next_offset, failures, next_attempt_at, last_offset, last_time, last_response, last_error`;
export const ATTEMPT_COLUMNS = 'id, webhook_id, msg_offset, attempt, time, status_code, duration_ms, response, error, trigger';
export const INGRESS_COLUMNS = 'id, log_id, metadata, type, secret, header, algorithm, encoding, prefix, deduplicate, keep_rejected';
export const TASK_COLUMNS = `id, webhook_id, kind, status, since, until, by_time, position, end_offset, total, sent, succeeded, failed, error,
  created_at, updated_at, offsets`;
