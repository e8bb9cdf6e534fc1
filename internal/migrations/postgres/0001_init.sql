-- Core TMS schema, the tables of tms_server 0.3.0 with the same uniqueness
-- rules and cascades. IF NOT EXISTS lets TMS adopt a database created by
-- tms_server 0.3.0 (whose search_path points at its "tms" schema).

CREATE TABLE IF NOT EXISTS tenants (
    id      SERIAL PRIMARY KEY,
    tenant  TEXT NOT NULL UNIQUE,
    enabled BOOLEAN NOT NULL,
    created TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS admin (
    id           SERIAL PRIMARY KEY,
    tenant       TEXT NOT NULL REFERENCES tenants(tenant) ON UPDATE CASCADE ON DELETE RESTRICT,
    admin_user   TEXT NOT NULL,
    admin_secret TEXT NOT NULL,
    privilege    TEXT NOT NULL,
    created      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (tenant, admin_user)
);

CREATE TABLE IF NOT EXISTS clients (
    id            SERIAL PRIMARY KEY,
    tenant        TEXT NOT NULL REFERENCES tenants(tenant) ON UPDATE CASCADE ON DELETE RESTRICT,
    app_name      TEXT NOT NULL,
    app_version   TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    client_secret TEXT NOT NULL,
    enabled       BOOLEAN NOT NULL,
    created       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated       TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (tenant, app_name, app_version)
);
CREATE UNIQUE INDEX IF NOT EXISTS clients_tenant_client_id_idx ON clients (tenant, client_id);

CREATE TABLE IF NOT EXISTS user_mfa (
    id          SERIAL PRIMARY KEY,
    tenant      TEXT NOT NULL REFERENCES tenants(tenant) ON UPDATE CASCADE ON DELETE RESTRICT,
    tms_user_id TEXT NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    enabled     BOOLEAN NOT NULL,
    created     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated     TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (tenant, tms_user_id)
);

CREATE TABLE IF NOT EXISTS user_hosts (
    id           SERIAL PRIMARY KEY,
    tenant       TEXT NOT NULL REFERENCES tenants(tenant) ON UPDATE CASCADE ON DELETE RESTRICT,
    tms_user_id  TEXT NOT NULL,
    host         TEXT NOT NULL,
    host_account TEXT NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    created      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (tenant, tms_user_id, host, host_account),
    FOREIGN KEY (tenant, tms_user_id) REFERENCES user_mfa(tenant, tms_user_id)
        ON UPDATE CASCADE ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS delegations (
    id             SERIAL PRIMARY KEY,
    tenant         TEXT NOT NULL REFERENCES tenants(tenant) ON UPDATE CASCADE ON DELETE RESTRICT,
    client_id      TEXT NOT NULL,
    client_user_id TEXT NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL,
    created        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated        TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (tenant, client_id, client_user_id),
    FOREIGN KEY (tenant, client_user_id) REFERENCES user_mfa(tenant, tms_user_id)
        ON UPDATE CASCADE ON DELETE CASCADE,
    FOREIGN KEY (tenant, client_id) REFERENCES clients(tenant, client_id)
        ON UPDATE CASCADE ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS delegations_user_idx ON delegations (tenant, client_user_id);

CREATE TABLE IF NOT EXISTS pubkeys (
    id                     SERIAL PRIMARY KEY,
    tenant                 TEXT NOT NULL REFERENCES tenants(tenant) ON UPDATE CASCADE ON DELETE RESTRICT,
    client_id              TEXT NOT NULL,
    client_user_id         TEXT NOT NULL,
    host                   TEXT NOT NULL,
    host_account           TEXT NOT NULL,
    public_key_fingerprint TEXT NOT NULL,
    public_key             TEXT NOT NULL,
    key_type               TEXT NOT NULL,
    key_bits               INTEGER NOT NULL,
    max_uses               INTEGER NOT NULL CHECK (max_uses >= 0),
    remaining_uses         INTEGER NOT NULL CHECK (remaining_uses >= 0),
    initial_ttl_minutes    INTEGER NOT NULL CHECK (initial_ttl_minutes >= 0),
    expires_at             TIMESTAMPTZ NOT NULL,
    created                TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated                TIMESTAMPTZ NOT NULL DEFAULT now(),
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
ALTER TABLE pubkeys ADD COLUMN IF NOT EXISTS last_used_at TIMESTAMPTZ;
CREATE INDEX IF NOT EXISTS pubkeys_user_host_idx ON pubkeys (tenant, client_user_id, host, host_account);
CREATE INDEX IF NOT EXISTS pubkeys_client_user_idx ON pubkeys (tenant, client_id, client_user_id);

CREATE TABLE IF NOT EXISTS reservations (
    id                     SERIAL PRIMARY KEY,
    resid                  TEXT NOT NULL UNIQUE,
    parent_resid           TEXT NOT NULL,
    tenant                 TEXT NOT NULL REFERENCES tenants(tenant) ON UPDATE CASCADE ON DELETE RESTRICT,
    client_id              TEXT NOT NULL,
    client_user_id         TEXT NOT NULL,
    host                   TEXT NOT NULL,
    public_key_fingerprint TEXT NOT NULL,
    expires_at             TIMESTAMPTZ NOT NULL,
    created                TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated                TIMESTAMPTZ NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant, client_user_id) REFERENCES user_mfa(tenant, tms_user_id)
        ON UPDATE CASCADE ON DELETE CASCADE,
    FOREIGN KEY (tenant, client_id) REFERENCES clients(tenant, client_id)
        ON UPDATE CASCADE ON DELETE CASCADE,
    FOREIGN KEY (public_key_fingerprint, host) REFERENCES pubkeys(public_key_fingerprint, host)
        ON UPDATE CASCADE ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS reservations_key_idx ON reservations (public_key_fingerprint, host);
CREATE INDEX IF NOT EXISTS reservations_client_idx ON reservations (tenant, client_id);
CREATE INDEX IF NOT EXISTS reservations_user_idx ON reservations (tenant, client_user_id);
CREATE INDEX IF NOT EXISTS reservations_parent_idx ON reservations (parent_resid);

CREATE TABLE IF NOT EXISTS hosts (
    id      SERIAL PRIMARY KEY,
    tenant  TEXT NOT NULL REFERENCES tenants(tenant) ON UPDATE CASCADE ON DELETE RESTRICT,
    host    TEXT NOT NULL,
    addr    TEXT NOT NULL,
    created TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (tenant, host, addr)
);
