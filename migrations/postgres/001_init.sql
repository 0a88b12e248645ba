-- The whole schema as of hooklog's fifth SQLite migration: tokens, logs and
-- messages, cursor offsets, egress and ingress webhooks, and the leases that
-- let several nodes share the work. Times are ms since the epoch unless a
-- comment says otherwise.

CREATE TABLE meta (
  key   text PRIMARY KEY,
  value text NOT NULL
);

CREATE TABLE tokens (
  seq         bigserial,
  id          text PRIMARY KEY,
  metadata    text NOT NULL,
  acl         text NOT NULL,          -- JSON array of ACL entries
  secret_hash text NOT NULL           -- sha256 of the bearer's secret, hex
);

-- A sequence never hands out a number twice, so a deleted log's seq is never
-- reused: its messages are purged in the background and must not reappear.
CREATE TABLE logs (
  seq             bigserial PRIMARY KEY,
  id              text NOT NULL UNIQUE,
  metadata        text NOT NULL,
  compacting      boolean NOT NULL,
  trim_bytes      bigint NOT NULL,
  trim_seconds    bigint NOT NULL,
  compact_seconds bigint NOT NULL,
  expire_seconds  bigint NOT NULL,
  next_offset     bigint NOT NULL DEFAULT 0,   -- also the lock that orders appends to the log
  size_bytes      bigint NOT NULL DEFAULT 0    -- key and value bytes held, for trim_bytes
);

CREATE TABLE messages (
  log_seq    bigint NOT NULL,
  msg_offset bigint NOT NULL,
  time       bigint NOT NULL,   -- microseconds since the epoch
  key        bytea,             -- NULL is nil, distinct from an empty value
  value      bytea,
  headers    text,              -- JSON object of HTTP headers, for messages that came in over HTTP
  PRIMARY KEY (log_seq, msg_offset)
);
CREATE INDEX messages_by_key ON messages (log_seq, key, msg_offset) WHERE key IS NOT NULL;

CREATE TABLE deleted_logs (
  seq bigint PRIMARY KEY
);

CREATE TABLE offsets (
  seq            bigserial,
  id             text PRIMARY KEY,
  log_id         text NOT NULL,
  metadata       text NOT NULL,
  value          bigint NOT NULL,
  value_metadata text NOT NULL
);
CREATE INDEX offsets_by_log ON offsets (log_id);

CREATE TABLE egress_webhooks (
  seq             bigserial PRIMARY KEY,
  id              text NOT NULL UNIQUE,
  log_id          text NOT NULL,
  metadata        text NOT NULL,
  destination     text NOT NULL,
  payload         text NOT NULL,      -- message | key | value
  mode            text NOT NULL,      -- ordered | parallel
  active          boolean NOT NULL,
  inactive_reason text NOT NULL,
  next_offset     bigint NOT NULL,    -- the cursor
  failures        integer NOT NULL,
  next_attempt_at bigint NOT NULL,
  last_offset     bigint,
  last_time       bigint,
  last_response   text NOT NULL,
  last_error      text NOT NULL,
  lease_owner     text,               -- the node delivering it
  lease_until     bigint NOT NULL DEFAULT 0
);
CREATE INDEX egress_webhooks_by_log ON egress_webhooks (log_id);
CREATE INDEX egress_webhooks_claimable ON egress_webhooks (lease_until) WHERE active;

-- Signing secrets must be readable, so they cannot be hashed; they never
-- appear in list or get responses. The current one has expires_at NULL.
CREATE TABLE egress_secrets (
  webhook_id text NOT NULL,
  secret     text NOT NULL,
  expires_at bigint
);
CREATE INDEX egress_secrets_by_webhook ON egress_secrets (webhook_id);

CREATE TABLE delivery_attempts (
  id          bigserial PRIMARY KEY,
  webhook_id  text NOT NULL,
  msg_offset  bigint NOT NULL,
  attempt     integer NOT NULL,
  time        bigint NOT NULL,
  status_code integer,
  duration_ms integer NOT NULL,
  response    text NOT NULL,
  error       text NOT NULL,
  trigger     text NOT NULL          -- scheduled | manual
);
CREATE INDEX delivery_attempts_by_webhook ON delivery_attempts (webhook_id, id);

CREATE TABLE retry_set (
  webhook_id      text NOT NULL,
  msg_offset      bigint NOT NULL,
  failures        integer NOT NULL,
  next_attempt_at bigint NOT NULL,
  PRIMARY KEY (webhook_id, msg_offset)
);

CREATE TABLE ingress_webhooks (
  seq         bigserial PRIMARY KEY,
  id          text NOT NULL UNIQUE,
  log_id      text NOT NULL,
  metadata    text NOT NULL,
  type        text NOT NULL,
  secret      text NOT NULL,      -- needed to verify signatures, so kept readable; never returned
  header      text NOT NULL,
  algorithm   text NOT NULL,
  encoding    text NOT NULL,
  prefix      text NOT NULL,
  deduplicate boolean NOT NULL
);
CREATE INDEX ingress_webhooks_by_log ON ingress_webhooks (log_id);

CREATE TABLE ingress_metrics (
  webhook_id text NOT NULL,
  name       text NOT NULL,
  count      bigint NOT NULL,
  PRIMARY KEY (webhook_id, name)
);

CREATE TABLE idempotency_keys (
  scope      text NOT NULL,
  key        text NOT NULL,
  created_at bigint NOT NULL,
  PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

-- Cluster-wide jobs (retention) run where their lease is held.
CREATE TABLE leases (
  name  text PRIMARY KEY,
  owner text NOT NULL,
  until bigint NOT NULL
);

-- Worker nodes and when each was last seen, to share webhooks between them.
CREATE TABLE nodes (
  id      text PRIMARY KEY,
  seen_at bigint NOT NULL
);
