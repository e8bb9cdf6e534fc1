package postgres

import (
	"context"

	"github.com/tmsproject/tms/internal/store"
)

const hostCredentialCols = `id, tenant, host, host_secret, created, updated`

func scanHostCredential(s scanner, c *store.HostCredential) error {
	return s.Scan(&c.ID, &c.Tenant, &c.Host, &c.SecretHash, &c.Created, &c.Updated)
}

// CreateHostCredential implements store.HostCredentialStore.
func (db *DB) CreateHostCredential(ctx context.Context, c store.HostCredential) error {
	_, err := db.exec(ctx, "insert host credential", `INSERT INTO host_credentials(tenant, host, host_secret, created, updated)
		VALUES ($1, $2, $3, $4, $5)`, c.Tenant, c.Host, c.SecretHash, store.Micro(c.Created), store.Micro(c.Updated))
	return err
}

// ListHostCredentials implements store.HostCredentialStore.
func (db *DB) ListHostCredentials(ctx context.Context, tenant string) ([]store.HostCredential, error) {
	return db.hostCredentials(ctx, "list host credentials", `SELECT `+hostCredentialCols+` FROM host_credentials
		WHERE tenant = $1 ORDER BY host`, tenant)
}

// HostCredentialsFor implements store.HostCredentialStore.
// It runs on every key lookup, so its answer is cached above the store
// (see readcache).
func (db *DB) HostCredentialsFor(ctx context.Context, host string) ([]store.HostCredential, error) {
	return db.hostCredentials(ctx, "find host credentials", `SELECT `+hostCredentialCols+` FROM host_credentials
		WHERE host = $1 ORDER BY tenant`, host)
}

func (db *DB) hostCredentials(ctx context.Context, op, query string, arg string) ([]store.HostCredential, error) {
	out := []store.HostCredential{}
	err := db.queryAll(ctx, op, query, func(s scanner) error {
		var c store.HostCredential
		if err := scanHostCredential(s, &c); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	}, arg)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteHostCredential implements store.HostCredentialStore.
func (db *DB) DeleteHostCredential(ctx context.Context, tenant, host string) (int64, error) {
	return db.exec(ctx, "delete host credential", `DELETE FROM host_credentials WHERE tenant = $1 AND host = $2`, tenant, host)
}
