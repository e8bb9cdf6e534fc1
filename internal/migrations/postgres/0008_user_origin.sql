-- Where a user signs in: 'local' (password and TOTP kept by TMS),
-- 'upstream:<id>' (the OpenID Connect provider configured with that id) or
-- 'ldap:<id>' (the directory configured with that id). Only local users
-- have a TMS password.
ALTER TABLE users ADD COLUMN origin TEXT NOT NULL DEFAULT 'local'
    CHECK (origin = 'local' OR origin LIKE 'upstream:_%' OR origin LIKE 'ldap:_%');
