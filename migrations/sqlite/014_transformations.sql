-- A destination's transformation (src/transformation/): apart from the
-- webhook's row, which every lane and list reads, since code may be long.
CREATE TABLE egress_transformations (
  webhook_id TEXT PRIMARY KEY,
  code       TEXT NOT NULL,
  enabled    INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
