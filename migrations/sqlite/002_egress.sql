-- Egress webhooks: destinations a log's messages are pushed to, with their
-- delivery state, signing secrets, attempt history and parallel-mode retries.

CREATE TABLE egress_webhooks (
  seq             INTEGER PRIMARY KEY AUTOINCREMENT,
  id              TEXT NOT NULL UNIQUE,
  log_id          TEXT NOT NULL,
  metadata        TEXT NOT NULL,
  destination     TEXT NOT NULL,
  payload         TEXT NOT NULL,      -- message | key | value
  mode            TEXT NOT NULL,      -- ordered | parallel
  active          INTEGER NOT NULL,
  inactive_reason TEXT NOT NULL,
  next_offset     INTEGER NOT NULL,   -- the cursor
  failures        INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,   -- ms since the epoch
  last_offset     INTEGER,
  last_time       INTEGER,
  last_response   TEXT NOT NULL,
  last_error      TEXT NOT NULL
);
CREATE INDEX egress_webhooks_by_log ON egress_webhooks (log_id);

-- The current secret has expires_at NULL; rotated-out secrets stay valid until
-- expires_at (ms since the epoch). Signing secrets must be readable, so they
-- cannot be hashed; they never appear in list or get responses.
CREATE TABLE egress_secrets (
  webhook_id TEXT NOT NULL,
  secret     TEXT NOT NULL,
  expires_at INTEGER
);
CREATE INDEX egress_secrets_by_webhook ON egress_secrets (webhook_id);

-- No AUTOINCREMENT: it costs an extra page write per attempt, and attempt ids
-- only order one webhook's history.
CREATE TABLE delivery_attempts (
  id          INTEGER PRIMARY KEY,
  webhook_id  TEXT NOT NULL,
  msg_offset  INTEGER NOT NULL,
  attempt     INTEGER NOT NULL,
  time        INTEGER NOT NULL,
  status_code INTEGER,
  duration_ms INTEGER NOT NULL,
  response    TEXT NOT NULL,
  error       TEXT NOT NULL,
  trigger     TEXT NOT NULL          -- scheduled | manual
);
CREATE INDEX delivery_attempts_by_webhook ON delivery_attempts (webhook_id, id);

CREATE TABLE retry_set (
  webhook_id      TEXT NOT NULL,
  msg_offset      INTEGER NOT NULL,
  failures        INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  PRIMARY KEY (webhook_id, msg_offset)
) WITHOUT ROWID;
