-- A message's attributes (event type, event id, channels, tags) as compact
-- JSON of the present ones; NULL for a message without any. Reads count these
-- bytes against their limit, as they count headers, and so does
-- max_message_bytes; messages before this migration have none, so it stays right.
ALTER TABLE messages ADD COLUMN attributes TEXT;
