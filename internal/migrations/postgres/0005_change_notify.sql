-- Every server keeps an in-memory cache of key lookups and credential
-- checks. Statements that may change a cached answer notify the channel
-- tms_changes when they commit; every server listens and drops its cache.
-- Counting a use of a key (remaining_uses, last_used_at) changes no cached
-- answer and does not notify.

CREATE OR REPLACE FUNCTION tms_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tms_changes', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS tms_notify_change ON tenants;
CREATE TRIGGER tms_notify_change AFTER UPDATE OR DELETE OR TRUNCATE ON tenants
    FOR EACH STATEMENT EXECUTE FUNCTION tms_notify_change();
DROP TRIGGER IF EXISTS tms_notify_change ON admin;
CREATE TRIGGER tms_notify_change AFTER UPDATE OR DELETE OR TRUNCATE ON admin
    FOR EACH STATEMENT EXECUTE FUNCTION tms_notify_change();
DROP TRIGGER IF EXISTS tms_notify_change ON clients;
CREATE TRIGGER tms_notify_change AFTER UPDATE OR DELETE OR TRUNCATE ON clients
    FOR EACH STATEMENT EXECUTE FUNCTION tms_notify_change();
DROP TRIGGER IF EXISTS tms_notify_change ON user_mfa;
CREATE TRIGGER tms_notify_change AFTER UPDATE OR DELETE OR TRUNCATE ON user_mfa
    FOR EACH STATEMENT EXECUTE FUNCTION tms_notify_change();
DROP TRIGGER IF EXISTS tms_notify_change ON user_hosts;
CREATE TRIGGER tms_notify_change AFTER UPDATE OR DELETE OR TRUNCATE ON user_hosts
    FOR EACH STATEMENT EXECUTE FUNCTION tms_notify_change();
DROP TRIGGER IF EXISTS tms_notify_change ON delegations;
CREATE TRIGGER tms_notify_change AFTER UPDATE OR DELETE OR TRUNCATE ON delegations
    FOR EACH STATEMENT EXECUTE FUNCTION tms_notify_change();
DROP TRIGGER IF EXISTS tms_notify_change ON pubkeys;
CREATE TRIGGER tms_notify_change
    AFTER UPDATE OF tenant, client_id, client_user_id, host, host_account, public_key_fingerprint, public_key,
        key_type, key_bits, max_uses, initial_ttl_minutes, expires_at
    OR DELETE OR TRUNCATE ON pubkeys
    FOR EACH STATEMENT EXECUTE FUNCTION tms_notify_change();
