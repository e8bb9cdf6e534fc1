-- An audit event may stand for several identical events that happened
-- within one flush of the recorder (repeated key lookups, authentication
-- failures); repeats counts them.
ALTER TABLE audit_events ADD COLUMN repeats INTEGER NOT NULL DEFAULT 1;
