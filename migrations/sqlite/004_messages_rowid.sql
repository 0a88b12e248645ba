-- Messages move from a WITHOUT ROWID table to a rowid table. Rows of a
-- WITHOUT ROWID table are stored like index entries, which keep only about a
-- quarter of a page in the leaf: a 2 KB webhook body spilled into overflow
-- pages on every insert. A rowid table keeps up to a full page in the leaf.
-- (log_seq, msg_offset) stays unique through its own index, which also serves
-- offset-range reads.

CREATE TABLE messages_new (
  id         INTEGER PRIMARY KEY,
  log_seq    INTEGER NOT NULL,
  msg_offset INTEGER NOT NULL,
  time       INTEGER NOT NULL,
  key        BLOB,
  value      BLOB,
  headers    TEXT
);

INSERT INTO messages_new (log_seq, msg_offset, time, key, value, headers)
  SELECT log_seq, msg_offset, time, key, value, headers FROM messages ORDER BY log_seq, msg_offset;

DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;

CREATE UNIQUE INDEX messages_by_offset ON messages (log_seq, msg_offset);
CREATE INDEX messages_by_key ON messages (log_seq, key, msg_offset) WHERE key IS NOT NULL;
