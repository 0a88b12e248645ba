-- Two facts per log, kept by every append:
-- max_message_bytes: the largest message (key, value and headers) ever appended.
--   A read of `limit` messages that cannot pass the response cap even at this
--   size reads them all at once; otherwise it stops once the cap is reached.
-- max_time: the latest message time ever appended. A message given an earlier
--   time than that is marked late, so that trimming by age finds the old
--   messages that sit after young ones (times published out of order).
ALTER TABLE logs ADD COLUMN max_message_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE logs ADD COLUMN max_time INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN late INTEGER;   -- 1 when its time is before an earlier message's; NULL otherwise

UPDATE messages SET late = 1 WHERE id IN (
  SELECT id FROM (
    SELECT id, time, max(time) OVER (PARTITION BY log_seq ORDER BY msg_offset ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS earlier
    FROM messages)
  WHERE time < earlier);

UPDATE logs SET
  max_message_bytes = (SELECT ifnull(max(ifnull(length(key), 0) + ifnull(length(value), 0) + ifnull(length(CAST(headers AS BLOB)), 0)), 0) FROM messages WHERE log_seq = logs.seq),
  max_time = (SELECT ifnull(max(time), 0) FROM messages WHERE log_seq = logs.seq);

-- Only late messages are indexed by time: in-order ones are trimmed as a prefix.
CREATE INDEX messages_late_by_time ON messages (log_seq, time) WHERE late = 1;
