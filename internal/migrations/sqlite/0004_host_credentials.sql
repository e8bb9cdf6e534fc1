-- Host credentials: the secret a login host presents when it looks keys up
-- for sshd, so that only registered hosts can probe keys or consume their
-- uses. Only the hex SHA-512 of the secret is stored, as for client secrets.

CREATE TABLE host_credentials (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant      TEXT    NOT NULL REFERENCES tenants(tenant) ON UPDATE CASCADE ON DELETE RESTRICT,
    host        TEXT    NOT NULL,
    host_secret TEXT    NOT NULL,
    created     INTEGER NOT NULL,
    updated     INTEGER NOT NULL,
    UNIQUE (tenant, host)
);
CREATE INDEX host_credentials_host ON host_credentials(host);
