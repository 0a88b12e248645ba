-- Delivery operations: per-destination filters and rate limits, the delivery
-- state of each message a destination has dealt with, attempts readable by
-- message and by age, and persisted background tasks (resend, replay, recover).

-- JSON arrays; empty means no filter.
ALTER TABLE egress_webhooks ADD COLUMN filter_event_types TEXT NOT NULL DEFAULT '[]';
ALTER TABLE egress_webhooks ADD COLUMN filter_channels TEXT NOT NULL DEFAULT '[]';
-- At most this many requests per second; NULL is no limit.
ALTER TABLE egress_webhooks ADD COLUMN rate_limit INTEGER;

CREATE INDEX delivery_attempts_by_message ON delivery_attempts (webhook_id, msg_offset, id);
CREATE INDEX delivery_attempts_by_age ON delivery_attempts (time);

-- One row per message a destination attempted or skipped; a message without
-- one is pending if at or after the cursor. Written with the attempt, so
-- publishing costs nothing per destination.
CREATE TABLE deliveries (
  webhook_id      TEXT NOT NULL,
  msg_offset      INTEGER NOT NULL,
  status          TEXT NOT NULL,      -- pending | success | failed | skipped
  attempts        INTEGER NOT NULL,
  next_attempt_at INTEGER,            -- ms since the epoch, while pending
  status_code     INTEGER,            -- of the last attempt; NULL without a response
  updated_at      INTEGER NOT NULL,   -- ms since the epoch
  PRIMARY KEY (webhook_id, msg_offset)
) WITHOUT ROWID;
CREATE INDEX deliveries_by_status ON deliveries (webhook_id, status, updated_at);
CREATE INDEX deliveries_by_age ON deliveries (updated_at);

CREATE TABLE delivery_tasks (
  id         TEXT PRIMARY KEY,
  webhook_id TEXT NOT NULL,
  kind       TEXT NOT NULL,           -- resend | replay | recover
  status     TEXT NOT NULL,           -- running | finished | failed
  since      INTEGER NOT NULL,        -- replay: offset or µs; recover: ms
  until      INTEGER,                 -- replay by time: µs, exclusive
  by_time    INTEGER NOT NULL,
  position   INTEGER NOT NULL,        -- the next offset to consider
  end_offset INTEGER NOT NULL,        -- exclusive
  total      INTEGER,          -- NULL: not known (a replay by time)
  sent       INTEGER NOT NULL,
  succeeded  INTEGER NOT NULL,
  failed     INTEGER NOT NULL,
  error      TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX delivery_tasks_by_webhook ON delivery_tasks (webhook_id, status);
CREATE INDEX delivery_tasks_by_age ON delivery_tasks (updated_at);
