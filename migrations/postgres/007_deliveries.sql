-- Delivery operations: per-destination filters and rate limits, the delivery
-- state of each message a destination has dealt with, attempts readable by
-- message and by age, and persisted background tasks (resend, replay, recover).

-- JSON arrays; empty means no filter.
ALTER TABLE egress_webhooks ADD COLUMN filter_event_types text NOT NULL DEFAULT '[]';
ALTER TABLE egress_webhooks ADD COLUMN filter_channels text NOT NULL DEFAULT '[]';
-- At most this many requests per second; NULL is no limit.
ALTER TABLE egress_webhooks ADD COLUMN rate_limit integer;

CREATE INDEX delivery_attempts_by_message ON delivery_attempts (webhook_id, msg_offset, id);
CREATE INDEX delivery_attempts_by_age ON delivery_attempts (time);

-- One row per message a destination attempted or skipped; a message without
-- one is pending if at or after the cursor. Written with the attempt, so
-- publishing costs nothing per destination.
CREATE TABLE deliveries (
  webhook_id      text NOT NULL,
  msg_offset      bigint NOT NULL,
  status          text NOT NULL,      -- pending | success | failed | skipped
  attempts        integer NOT NULL,
  next_attempt_at bigint,            -- ms since the epoch, while pending
  status_code     integer,            -- of the last attempt; NULL without a response
  updated_at      bigint NOT NULL,   -- ms since the epoch
  PRIMARY KEY (webhook_id, msg_offset)
);
CREATE INDEX deliveries_by_status ON deliveries (webhook_id, status, updated_at);
CREATE INDEX deliveries_by_age ON deliveries (updated_at);

CREATE TABLE delivery_tasks (
  id         text PRIMARY KEY,
  webhook_id text NOT NULL,
  kind       text NOT NULL,           -- resend | replay | recover
  status     text NOT NULL,           -- running | finished | failed
  since      bigint NOT NULL,        -- replay: offset or µs; recover: ms
  until      bigint,                 -- replay by time: µs, exclusive
  by_time    boolean NOT NULL,
  position   bigint NOT NULL,        -- the next offset to consider
  end_offset bigint NOT NULL,        -- exclusive
  total      bigint,          -- NULL: not known (a replay by time)
  sent       bigint NOT NULL,
  succeeded  bigint NOT NULL,
  failed     bigint NOT NULL,
  error      text NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL
);
CREATE INDEX delivery_tasks_by_webhook ON delivery_tasks (webhook_id, status);
CREATE INDEX delivery_tasks_by_age ON delivery_tasks (updated_at);
