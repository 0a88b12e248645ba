-- The key index leads with the key's generation: its offset divided by 65,536,
-- as on SQLite (see migrations/sqlite/013_key_generations.sql). Ordered by key
-- alone, a log of unique keys (delivery ids) inserted each one at a random
-- page, and once the index outgrew shared_buffers every insert read and
-- dirtied a page of its own. A lookup walks the generations newest first.
DROP INDEX messages_by_key;
CREATE INDEX messages_by_key ON messages (log_seq, (msg_offset >> 16), key, msg_offset) WHERE key IS NOT NULL;
