-- The Svix API's objects on the core: application fields on a log, endpoint
-- fields on an egress webhook, the event type catalogue, answers kept for
-- idempotency keys, integrations, and tokens scoped to one application.

-- A log with a row here is an application. Removed with its log.
CREATE TABLE applications (
  log_id     TEXT PRIMARY KEY,
  uid        TEXT UNIQUE,            -- NULL: none; unique among applications
  name       TEXT NOT NULL,
  rate_limit INTEGER,
  metadata   TEXT NOT NULL,          -- JSON object of strings
  created_at INTEGER NOT NULL,       -- ms since the epoch
  updated_at INTEGER NOT NULL
);

-- An egress webhook with a row here is an endpoint. Removed with its webhook.
CREATE TABLE endpoints (
  webhook_id  TEXT PRIMARY KEY,
  log_id      TEXT NOT NULL,
  uid         TEXT,                  -- unique within the application
  description TEXT NOT NULL,
  version     INTEGER NOT NULL,
  metadata    TEXT NOT NULL,         -- JSON object of strings
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX endpoints_by_uid ON endpoints (log_id, uid);

CREATE TABLE event_types (
  name         TEXT PRIMARY KEY,
  description  TEXT NOT NULL,
  schemas      TEXT,                 -- JSON, or NULL
  archived     INTEGER NOT NULL,
  deprecated   INTEGER NOT NULL,
  feature_flag TEXT,
  group_name   TEXT,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);

-- The first 2xx answer to a POST with an Idempotency-Key, by the token that
-- sent it; status is NULL while that first request is still running.
CREATE TABLE idempotent_responses (
  scope      TEXT NOT NULL,
  key        TEXT NOT NULL,
  status     INTEGER,
  body       TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (scope, key)
) WITHOUT ROWID;
CREATE INDEX idempotent_responses_by_age ON idempotent_responses (created_at);

-- The message an idempotency key or event id was first appended as, to answer
-- a repeat with it.
ALTER TABLE idempotency_keys ADD COLUMN msg_offset INTEGER;

-- An integration's key is a token scoped to its application; the bearer is
-- kept (the API shows it again), the token stores only its hash as always.
CREATE TABLE integrations (
  id            TEXT PRIMARY KEY,
  log_id        TEXT NOT NULL,
  name          TEXT NOT NULL,
  feature_flags TEXT NOT NULL,       -- JSON array
  token_id      TEXT NOT NULL,
  key           TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
);
CREATE INDEX integrations_by_log ON integrations (log_id);

-- A token made for one application (app portal access, an integration's key)
-- names it, so that expiring them all is one statement; it may expire.
ALTER TABLE tokens ADD COLUMN application TEXT;
ALTER TABLE tokens ADD COLUMN expires_at INTEGER;
CREATE INDEX tokens_by_application ON tokens (application) WHERE application IS NOT NULL;
CREATE INDEX tokens_by_expiry ON tokens (expires_at) WHERE expires_at IS NOT NULL;
