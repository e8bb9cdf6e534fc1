-- Every server caches that a tenant, client or administrator does not
-- exist, so that an unknown id costs what a known one does; creating one
-- must reach the other servers' caches as well.
DROP TRIGGER IF EXISTS tms_notify_change ON tenants;
CREATE TRIGGER tms_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tenants
    FOR EACH STATEMENT EXECUTE FUNCTION tms_notify_change();
DROP TRIGGER IF EXISTS tms_notify_change ON admin;
CREATE TRIGGER tms_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON admin
    FOR EACH STATEMENT EXECUTE FUNCTION tms_notify_change();
DROP TRIGGER IF EXISTS tms_notify_change ON clients;
CREATE TRIGGER tms_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON clients
    FOR EACH STATEMENT EXECUTE FUNCTION tms_notify_change();
