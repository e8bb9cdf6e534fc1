-- Failed sign-ins for a device authorization: at the budget the request
-- is denied. The index serves the count of a tenant's live authorizations
-- and the deletion of its expired ones when a new one is inserted.
ALTER TABLE device_authorizations ADD COLUMN failed_signins INTEGER NOT NULL DEFAULT 0;
CREATE INDEX device_authorizations_tenant_expiry ON device_authorizations(tenant, expires_at);
