-- Leases: which node delivers each egress webhook, and which runs the
-- cluster-wide jobs. A single SQLite process always holds them all, but the
-- dispatcher is the same for every backend.

ALTER TABLE egress_webhooks ADD COLUMN lease_owner TEXT;
ALTER TABLE egress_webhooks ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;   -- ms since the epoch

CREATE TABLE leases (
  name  TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  until INTEGER NOT NULL
);

-- Worker nodes and when each was last seen, to share webhooks between them.
CREATE TABLE nodes (
  id      TEXT PRIMARY KEY,
  seen_at INTEGER NOT NULL
);
