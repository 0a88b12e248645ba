-- How a destination's requests are signed (klev | standard-webhooks), and the
-- headers sent with each of them, as a JSON object by lower-case name.
ALTER TABLE egress_webhooks ADD COLUMN signing text NOT NULL DEFAULT 'klev';
ALTER TABLE egress_webhooks ADD COLUMN headers text NOT NULL DEFAULT '{}';
