-- Histories of deleted webhooks, purged in steps by the retention job rather
-- than in the deleting transaction, as messages of deleted logs are:
-- kind 'delivery_attempts' for an egress webhook's attempts, 'idempotency_keys'
-- for an ingress webhook's delivery ids. id is the webhook's.
CREATE TABLE purges (
  kind TEXT NOT NULL,
  id   TEXT NOT NULL,
  PRIMARY KEY (kind, id)
) WITHOUT ROWID;
