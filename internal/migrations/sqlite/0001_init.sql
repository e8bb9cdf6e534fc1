-- Core TMS schema. Times are INTEGER microseconds since the Unix epoch (UTC);
-- booleans are INTEGER 0/1.

CREATE TABLE tenants (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant  TEXT    NOT NULL UNIQUE,
    enabled INTEGER NOT NULL,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL
);

CREATE TABLE admin (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant       TEXT    NOT NULL REFERENCES tenants(tenant) ON UPDATE CASCADE ON DELETE RESTRICT,
    admin_user   TEXT    NOT NULL,
    admin_secret TEXT    NOT NULL,
    privilege    TEXT    NOT NULL,
    created      INTEGER NOT NULL,
    updated      INTEGER NOT NULL,
    UNIQUE (tenant, admin_user)
);

CREATE TABLE clients (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant        TEXT    NOT NULL REFERENCES tenants(tenant) ON UPDATE CASCADE ON DELETE RESTRICT,
    app_name      TEXT    NOT NULL,
    app_version   TEXT    NOT NULL,
    client_id     TEXT    NOT NULL,
    client_secret TEXT    NOT NULL,
    enabled       INTEGER NOT NULL,
    created       INTEGER NOT NULL,
    updated       INTEGER NOT NULL,
    UNIQUE (tenant, app_name, app_version),
    UNIQUE (tenant, client_id)
);

CREATE TABLE user_mfa (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant      TEXT    NOT NULL REFERENCES tenants(tenant) ON UPDATE CASCADE ON DELETE RESTRICT,
    tms_user_id TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL,
    enabled     INTEGER NOT NULL,
    created     INTEGER NOT NULL,
    updated     INTEGER NOT NULL,
    UNIQUE (tenant, tms_user_id)
);

CREATE TABLE user_hosts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant       TEXT    NOT NULL REFERENCES tenants(tenant) ON UPDATE CASCADE ON DELETE RESTRICT,
    tms_user_id  TEXT    NOT NULL,
    host         TEXT    NOT NULL,
    host_account TEXT    NOT NULL,
    expires_at   INTEGER NOT NULL,
    created      INTEGER NOT NULL,
    updated      INTEGER NOT NULL,
    UNIQUE (tenant, tms_user_id, host, host_account),
    FOREIGN KEY (tenant, tms_user_id) REFERENCES user_mfa(tenant, tms_user_id)
        ON UPDATE CASCADE ON DELETE CASCADE
);

CREATE TABLE delegations (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant         TEXT    NOT NULL REFERENCES tenants(tenant) ON UPDATE CASCADE ON DELETE RESTRICT,
    client_id      TEXT    NOT NULL,
    client_user_id TEXT    NOT NULL,
    expires_at     INTEGER NOT NULL,
    created        INTEGER NOT NULL,
    updated        INTEGER NOT NULL,
    UNIQUE (tenant, client_id, client_user_id),
    FOREIGN KEY (tenant, client_user_id) REFERENCES user_mfa(tenant, tms_user_id)
        ON UPDATE CASCADE ON DELETE CASCADE,
    FOREIGN KEY (tenant, client_id) REFERENCES clients(tenant, client_id)
        ON UPDATE CASCADE ON DELETE CASCADE
);
CREATE INDEX delegations_user ON delegations(tenant, client_user_id);

CREATE TABLE pubkeys (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant                 TEXT    NOT NULL REFERENCES tenants(tenant) ON UPDATE CASCADE ON DELETE RESTRICT,
    client_id              TEXT    NOT NULL,
    client_user_id         TEXT    NOT NULL,
    host                   TEXT    NOT NULL,
    host_account           TEXT    NOT NULL,
    public_key_fingerprint TEXT    NOT NULL,
    public_key             TEXT    NOT NULL,
    key_type               TEXT    NOT NULL,
    key_bits               INTEGER NOT NULL,
    max_uses               INTEGER NOT NULL CHECK (max_uses >= 0),
    remaining_uses         INTEGER NOT NULL CHECK (remaining_uses >= 0),
    initial_ttl_minutes    INTEGER NOT NULL CHECK (initial_ttl_minutes >= 0),
    expires_at             INTEGER NOT NULL,
    last_used_at           INTEGER,
    created                INTEGER NOT NULL,
    updated                INTEGER NOT NULL,
    UNIQUE (public_key_fingerprint, host),
    FOREIGN KEY (tenant, client_user_id) REFERENCES user_mfa(tenant, tms_user_id)
        ON UPDATE CASCADE ON DELETE CASCADE,
    FOREIGN KEY (tenant, client_id) REFERENCES clients(tenant, client_id)
        ON UPDATE CASCADE ON DELETE CASCADE,
    FOREIGN KEY (tenant, client_user_id, host, host_account)
        REFERENCES user_hosts(tenant, tms_user_id, host, host_account)
        ON UPDATE CASCADE ON DELETE CASCADE,
    FOREIGN KEY (tenant, client_id, client_user_id)
        REFERENCES delegations(tenant, client_id, client_user_id)
        ON UPDATE CASCADE ON DELETE CASCADE
);
CREATE INDEX pubkeys_user_host ON pubkeys(tenant, client_user_id, host, host_account);
CREATE INDEX pubkeys_client_user ON pubkeys(tenant, client_id, client_user_id);

CREATE TABLE reservations (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    resid                  TEXT    NOT NULL UNIQUE,
    parent_resid           TEXT    NOT NULL,
    tenant                 TEXT    NOT NULL REFERENCES tenants(tenant) ON UPDATE CASCADE ON DELETE RESTRICT,
    client_id              TEXT    NOT NULL,
    client_user_id         TEXT    NOT NULL,
    host                   TEXT    NOT NULL,
    public_key_fingerprint TEXT    NOT NULL,
    expires_at             INTEGER NOT NULL,
    created                INTEGER NOT NULL,
    updated                INTEGER NOT NULL,
    FOREIGN KEY (tenant, client_user_id) REFERENCES user_mfa(tenant, tms_user_id)
        ON UPDATE CASCADE ON DELETE CASCADE,
    FOREIGN KEY (tenant, client_id) REFERENCES clients(tenant, client_id)
        ON UPDATE CASCADE ON DELETE CASCADE,
    FOREIGN KEY (public_key_fingerprint, host) REFERENCES pubkeys(public_key_fingerprint, host)
        ON UPDATE CASCADE ON DELETE CASCADE
);
CREATE INDEX reservations_key ON reservations(public_key_fingerprint, host);
CREATE INDEX reservations_client ON reservations(tenant, client_id);
CREATE INDEX reservations_user ON reservations(tenant, client_user_id);
CREATE INDEX reservations_parent ON reservations(parent_resid);

CREATE TABLE hosts (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant  TEXT    NOT NULL REFERENCES tenants(tenant) ON UPDATE CASCADE ON DELETE RESTRICT,
    host    TEXT    NOT NULL,
    addr    TEXT    NOT NULL,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    UNIQUE (tenant, host, addr)
);
