-- End users who sign in through the browser pages of the device flow, public
-- OAuth clients, device authorizations (RFC 8628) and OAuth tokens. Device
-- codes and tokens are stored only as their hex SHA-256.

CREATE TABLE users (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant         TEXT    NOT NULL REFERENCES tenants(tenant) ON UPDATE CASCADE ON DELETE RESTRICT,
    username       TEXT    NOT NULL,
    password_hash  TEXT    NOT NULL,
    totp_secret    TEXT    NOT NULL,
    totp_confirmed INTEGER NOT NULL,
    totp_last_step INTEGER NOT NULL,
    enabled        INTEGER NOT NULL,
    created        INTEGER NOT NULL,
    updated        INTEGER NOT NULL,
    UNIQUE (tenant, username)
);

-- A public OAuth client is also a row of clients (whose client_secret can
-- never match a secret), so that delegations and keys can refer to it.
CREATE TABLE oauth_clients (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant    TEXT    NOT NULL,
    client_id TEXT    NOT NULL,
    builtin   INTEGER NOT NULL,
    created   INTEGER NOT NULL,
    updated   INTEGER NOT NULL,
    UNIQUE (tenant, client_id),
    FOREIGN KEY (tenant, client_id) REFERENCES clients(tenant, client_id)
        ON UPDATE CASCADE ON DELETE CASCADE
);

CREATE TABLE device_authorizations (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    device_code_hash TEXT    NOT NULL UNIQUE,
    user_code        TEXT    NOT NULL UNIQUE,
    tenant           TEXT    NOT NULL,
    client_id        TEXT    NOT NULL,
    scope            TEXT    NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'redeemed')),
    username         TEXT,
    session_hash     TEXT,
    signed_in_at     INTEGER,
    days             INTEGER NOT NULL CHECK (days >= 0),
    interval_seconds INTEGER NOT NULL CHECK (interval_seconds > 0),
    expires_at       INTEGER NOT NULL,
    last_poll_at     INTEGER,
    last_poll_style  TEXT    NOT NULL,
    created          INTEGER NOT NULL,
    updated          INTEGER NOT NULL,
    FOREIGN KEY (tenant, client_id) REFERENCES oauth_clients(tenant, client_id)
        ON UPDATE CASCADE ON DELETE CASCADE,
    FOREIGN KEY (tenant, username) REFERENCES users(tenant, username)
        ON UPDATE CASCADE ON DELETE CASCADE
);
CREATE INDEX device_authorizations_client ON device_authorizations(tenant, client_id);
CREATE INDEX device_authorizations_user ON device_authorizations(tenant, username);
CREATE INDEX device_authorizations_expiry ON device_authorizations(expires_at);

CREATE TABLE oauth_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT    NOT NULL UNIQUE,
    kind       TEXT    NOT NULL CHECK (kind IN ('access', 'refresh')),
    family     TEXT    NOT NULL,
    tenant     TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    username   TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    rotated_at INTEGER,
    revoked_at INTEGER,
    created    INTEGER NOT NULL,
    FOREIGN KEY (tenant, client_id) REFERENCES oauth_clients(tenant, client_id)
        ON UPDATE CASCADE ON DELETE CASCADE,
    FOREIGN KEY (tenant, username) REFERENCES users(tenant, username)
        ON UPDATE CASCADE ON DELETE CASCADE
);
CREATE INDEX oauth_tokens_family ON oauth_tokens(family);
CREATE INDEX oauth_tokens_client ON oauth_tokens(tenant, client_id);
CREATE INDEX oauth_tokens_user ON oauth_tokens(tenant, username, client_id);
CREATE INDEX oauth_tokens_expiry ON oauth_tokens(expires_at);

-- Every tenant that exists already gets the public client of the tms command
-- line, as new tenants do when they are created.
INSERT INTO clients(tenant, app_name, app_version, client_id, client_secret, enabled, created, updated)
    SELECT tenant, 'TMS command line', '*', 'tms-cli', '!public-client:no-secret', 1,
        CAST(strftime('%s', 'now') AS INTEGER) * 1000000, CAST(strftime('%s', 'now') AS INTEGER) * 1000000
    FROM tenants WHERE true
    ON CONFLICT DO NOTHING;
INSERT INTO oauth_clients(tenant, client_id, builtin, created, updated)
    SELECT tenant, client_id, 1, created, created FROM clients
    WHERE client_id = 'tms-cli' AND client_secret = '!public-client:no-secret'
    ON CONFLICT DO NOTHING;
