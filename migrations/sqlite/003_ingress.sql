-- Ingress webhooks: public URLs that verify a provider's signature and append
-- the exact request body to a log.

-- Request headers kept with a message (JSON object), for messages that came
-- in over HTTP. NULL for messages published through the API.
ALTER TABLE messages ADD COLUMN headers TEXT;

CREATE TABLE ingress_webhooks (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  id          TEXT NOT NULL UNIQUE,
  log_id      TEXT NOT NULL,
  metadata    TEXT NOT NULL,
  type        TEXT NOT NULL,
  secret      TEXT NOT NULL,      -- needed to verify signatures, so kept readable; never returned
  header      TEXT NOT NULL,      -- hmac and secret-header types
  algorithm   TEXT NOT NULL,
  encoding    TEXT NOT NULL,
  prefix      TEXT NOT NULL,
  deduplicate INTEGER NOT NULL
);
CREATE INDEX ingress_webhooks_by_log ON ingress_webhooks (log_id);

-- Counters per webhook: received, accepted, duplicate, rejected:<reason>.
CREATE TABLE ingress_metrics (
  webhook_id TEXT NOT NULL,
  name       TEXT NOT NULL,
  count      INTEGER NOT NULL,
  PRIMARY KEY (webhook_id, name)
) WITHOUT ROWID;

-- Keys already appended, for duplicate detection: a provider retrying the same
-- delivery id, or a client repeating an idempotency key.
CREATE TABLE idempotency_keys (
  scope      TEXT NOT NULL,
  key        TEXT NOT NULL,
  created_at INTEGER NOT NULL,   -- ms since the epoch
  PRIMARY KEY (scope, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
