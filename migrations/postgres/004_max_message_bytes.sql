-- max_message_bytes: the largest message (key, value and headers) ever appended
-- to a log. A read whose whole page fits its byte limit at that size is read
-- without counting bytes row by row, which costs a window over the page.
ALTER TABLE logs ADD COLUMN max_message_bytes bigint NOT NULL DEFAULT 0;

UPDATE logs SET max_message_bytes = coalesce((
  SELECT max(coalesce(octet_length(key), 0) + coalesce(octet_length(value), 0) + coalesce(octet_length(headers), 0))
  FROM messages WHERE log_seq = logs.seq), 0);
