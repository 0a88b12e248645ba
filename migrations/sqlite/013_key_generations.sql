-- The key index leads with the key's generation: its offset divided by 65,536.
-- An index ordered by key alone takes each insert at a random place, so once
-- it outgrows the page cache every keyed message dirtied a page of its own,
-- written whole to the WAL at each commit, and a keyed log slowed to a third
-- as it grew. Ordered by generation first, a log's inserts all land in the
-- newest generation's part of the index, whatever the keys. A lookup by key
-- walks the generations newest first (see src/store/sqlite/messages.ts).
DROP INDEX messages_by_key;
CREATE INDEX messages_by_key ON messages (log_seq, msg_offset >> 16, key, msg_offset) WHERE key IS NOT NULL;
