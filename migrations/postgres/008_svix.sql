-- The Svix API's objects on the core: application fields on a log, endpoint
-- fields on an egress webhook, the event type catalogue, answers kept for
-- idempotency keys, integrations, and tokens scoped to one application.

-- A log with a row here is an application. Removed with its log.
-- Keys that lists page by are byte-ordered (COLLATE "C"), as in SQLite: ids
-- then sort by creation time whatever the database's collation, and the
-- primary key's index serves the pages.
CREATE TABLE applications (
  log_id     text COLLATE "C" PRIMARY KEY,
  uid        text UNIQUE,            -- NULL: none; unique among applications
  name       text NOT NULL,
  rate_limit integer,
  metadata   text NOT NULL,          -- JSON object of strings
  created_at bigint NOT NULL,       -- ms since the epoch
  updated_at bigint NOT NULL
);

-- An egress webhook with a row here is an endpoint. Removed with its webhook.
CREATE TABLE endpoints (
  webhook_id  text COLLATE "C" PRIMARY KEY,
  log_id      text NOT NULL,
  uid         text,                  -- unique within the application
  description text NOT NULL,
  version     integer NOT NULL,
  metadata    text NOT NULL,         -- JSON object of strings
  created_at  bigint NOT NULL,
  updated_at  bigint NOT NULL
);
CREATE UNIQUE INDEX endpoints_by_uid ON endpoints (log_id, uid);

CREATE TABLE event_types (
  name         text COLLATE "C" PRIMARY KEY,
  description  text NOT NULL,
  schemas      text,                 -- JSON, or NULL
  archived     boolean NOT NULL,
  deprecated   boolean NOT NULL,
  feature_flag text,
  group_name   text,
  created_at   bigint NOT NULL,
  updated_at   bigint NOT NULL
);

-- The first 2xx answer to a POST with an Idempotency-Key, by the token that
-- sent it; status is NULL while that first request is still running.
CREATE TABLE idempotent_responses (
  scope      text NOT NULL,
  key        text NOT NULL,
  status     integer,
  body       text,
  created_at bigint NOT NULL,
  PRIMARY KEY (scope, key)
);
CREATE INDEX idempotent_responses_by_age ON idempotent_responses (created_at);

-- The message an idempotency key or event id was first appended as, to answer
-- a repeat with it.
ALTER TABLE idempotency_keys ADD COLUMN msg_offset bigint;

-- An integration's key is a token scoped to its application; the bearer is
-- kept (the API shows it again), the token stores only its hash as always.
CREATE TABLE integrations (
  id            text COLLATE "C" PRIMARY KEY,
  log_id        text NOT NULL,
  name          text NOT NULL,
  feature_flags text NOT NULL,       -- JSON array
  token_id      text NOT NULL,
  key           text NOT NULL,
  created_at    bigint NOT NULL,
  updated_at    bigint NOT NULL
);
CREATE INDEX integrations_by_log ON integrations (log_id);

-- A token made for one application (app portal access, an integration's key)
-- names it, so that expiring them all is one statement; it may expire.
ALTER TABLE tokens ADD COLUMN application text;
ALTER TABLE tokens ADD COLUMN expires_at bigint;
CREATE INDEX tokens_by_application ON tokens (application) WHERE application IS NOT NULL;
CREATE INDEX tokens_by_expiry ON tokens (expires_at) WHERE expires_at IS NOT NULL;
