-- What arrived: a small record of each request an ingress webhook accepted,
-- kept as long as the attempt history (after retention removed its message,
-- the event still lists and its payload answers 410), and the quarantine:
-- requests refused for their signature, kept with their headers and body.

CREATE TABLE events (
  id           text COLLATE "C" PRIMARY KEY, -- evt_<KSUID>: sorts by time received
  source_id    text COLLATE "C" NOT NULL, -- the ingress webhook
  log_id       text NOT NULL,
  msg_offset   bigint,               -- NULL: refused, never appended
  received_at  bigint NOT NULL,      -- ms since the epoch
  validated_at bigint NOT NULL,      -- ms: the signature was checked
  queued_at    bigint,               -- ms: its append committed; NULL when refused
  size         bigint NOT NULL,      -- body bytes
  hash         text NOT NULL,         -- sha256 of the body, hex
  reason       text,                  -- refused: why (a reject reason); NULL when accepted
  detail       text,                  -- refused: the message the sender got
  headers      text,                  -- refused: JSON (an accepted event's are its message's)
  body         bytea                  -- refused: the body as received (its first 64 KiB)
);
CREATE INDEX events_by_source ON events (source_id, id);
-- Lists of the events of some logs (a token limited to them), newest first; and a deleted log's purge.
CREATE INDEX events_by_log ON events (log_id, id);
CREATE INDEX events_refused ON events (source_id, id) WHERE reason IS NOT NULL;
CREATE INDEX events_refused_by_age ON events (id) WHERE reason IS NOT NULL;

-- Whether requests refused for their signature are kept (quarantined).
ALTER TABLE ingress_webhooks ADD COLUMN keep_rejected boolean NOT NULL DEFAULT true;

-- A resend of chosen offsets (an event replay): a JSON array, ascending; NULL for a range.
ALTER TABLE delivery_tasks ADD COLUMN offsets text;

-- Kaiman Webhooks Proxy channels: a log fed by an ingress webhook, drained by
-- a bearer of its own. Offsets below the cursor were read. A reader holds the
-- channel while its answer is written, so two never get the same webhooks.
CREATE TABLE channels (
  name        text PRIMARY KEY,
  log_id      text NOT NULL,
  source_id   text NOT NULL,
  token_hash  text NOT NULL UNIQUE,   -- sha256 of the reading bearer, hex
  cursor      bigint NOT NULL,
  reader      text,                   -- who holds it, until read_until (ms)
  read_until  bigint,
  from_config boolean NOT NULL,       -- declared in the YAML config
  created_at  bigint NOT NULL
);
-- Deleting a log deletes its channel.
CREATE INDEX channels_by_log ON channels (log_id);
