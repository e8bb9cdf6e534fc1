-- Every server caches the host credentials of each host, including "none",
-- so creating one must reach the other servers' caches as well.
DROP TRIGGER IF EXISTS tms_notify_change ON host_credentials;
CREATE TRIGGER tms_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON host_credentials
    FOR EACH STATEMENT EXECUTE FUNCTION tms_notify_change();
