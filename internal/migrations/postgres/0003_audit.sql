-- The audit log: security events, appended in batches and pruned after their
-- retention, never changed. No foreign keys: events outlive the records
-- they name, and an event may name a tenant that does not exist (such as a
-- failed sign-in with a wrong tenant).

CREATE TABLE IF NOT EXISTS audit_events (
    id           BIGSERIAL PRIMARY KEY,
    event_time   TIMESTAMPTZ NOT NULL,
    tenant       TEXT NOT NULL,
    type         TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    actor        TEXT NOT NULL,
    request_id   TEXT NOT NULL,
    remote_addr  TEXT NOT NULL,
    username     TEXT NOT NULL,
    host         TEXT NOT NULL,
    host_account TEXT NOT NULL,
    client_id    TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    detail       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_events_tenant_id ON audit_events(tenant, id);
CREATE INDEX IF NOT EXISTS audit_events_time ON audit_events(event_time);

CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events cannot be changed';
END;
$$;
DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
