-- max_time: the latest message time ever appended to a log (µs). A message
-- given an earlier time than that is marked late, so that trimming by age
-- finds the old messages that sit after young ones (times published out of
-- order) through an index of late messages alone.
ALTER TABLE logs ADD COLUMN max_time bigint NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN late boolean;   -- true when its time is before an earlier message's; NULL otherwise

UPDATE messages m SET late = true
FROM (
  SELECT log_seq, msg_offset, time,
         max(time) OVER (PARTITION BY log_seq ORDER BY msg_offset ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS earlier
  FROM messages) o
WHERE m.log_seq = o.log_seq AND m.msg_offset = o.msg_offset AND o.time < o.earlier;

UPDATE logs SET max_time = coalesce((SELECT max(time) FROM messages WHERE log_seq = logs.seq), 0);

CREATE INDEX messages_late_by_time ON messages (log_seq, time) WHERE late;
