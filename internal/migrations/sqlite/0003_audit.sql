-- The audit log: security events, appended in batches and pruned after their
-- retention, never changed. No foreign keys: events outlive the records
-- they name, and an event may name a tenant that does not exist (such as a
-- failed sign-in with a wrong tenant). AUTOINCREMENT keeps ids growing after
-- a prune, so that an id is a stable cursor.

CREATE TABLE audit_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    event_time   INTEGER NOT NULL,
    tenant       TEXT    NOT NULL,
    type         TEXT    NOT NULL,
    outcome      TEXT    NOT NULL,
    actor        TEXT    NOT NULL,
    request_id   TEXT    NOT NULL,
    remote_addr  TEXT    NOT NULL,
    username     TEXT    NOT NULL,
    host         TEXT    NOT NULL,
    host_account TEXT    NOT NULL,
    client_id    TEXT    NOT NULL,
    fingerprint  TEXT    NOT NULL,
    detail       TEXT    NOT NULL
);
CREATE INDEX audit_events_tenant_id ON audit_events(tenant, id);
CREATE INDEX audit_events_time ON audit_events(event_time);

CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events cannot be changed');
END;
