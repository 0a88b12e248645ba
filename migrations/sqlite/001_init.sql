-- The log service: tokens, logs, messages and cursor offsets.

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE tokens (
  id          TEXT PRIMARY KEY,
  metadata    TEXT NOT NULL,
  acl         TEXT NOT NULL,          -- JSON array of ACL entries
  secret_hash TEXT NOT NULL           -- sha256 of the bearer's secret, hex
);

-- AUTOINCREMENT so that a deleted log's seq is never reused: its messages are
-- purged in the background and must not reappear under a new log.
CREATE TABLE logs (
  seq             INTEGER PRIMARY KEY AUTOINCREMENT,
  id              TEXT NOT NULL UNIQUE,
  metadata        TEXT NOT NULL,
  compacting      INTEGER NOT NULL,
  trim_bytes      INTEGER NOT NULL,
  trim_seconds    INTEGER NOT NULL,
  compact_seconds INTEGER NOT NULL,
  expire_seconds  INTEGER NOT NULL,
  next_offset     INTEGER NOT NULL DEFAULT 0,
  size_bytes      INTEGER NOT NULL DEFAULT 0  -- sum of key and value bytes held, for trim_bytes
);

CREATE TABLE messages (
  log_seq    INTEGER NOT NULL,
  msg_offset INTEGER NOT NULL,
  time       INTEGER NOT NULL,   -- microseconds since the Unix epoch
  key        BLOB,               -- NULL is nil, distinct from an empty blob
  value      BLOB,
  PRIMARY KEY (log_seq, msg_offset)
) WITHOUT ROWID;

-- Get-by-key and compaction. Partial, so logs without keys pay nothing for it.
CREATE INDEX messages_by_key ON messages (log_seq, key) WHERE key IS NOT NULL;

-- Logs deleted whose messages the retention job has still to purge.
CREATE TABLE deleted_logs (
  seq INTEGER PRIMARY KEY
);

CREATE TABLE offsets (
  id             TEXT PRIMARY KEY,
  log_id         TEXT NOT NULL,
  metadata       TEXT NOT NULL,
  value          INTEGER NOT NULL,
  value_metadata TEXT NOT NULL
);
CREATE INDEX offsets_by_log ON offsets (log_id);
