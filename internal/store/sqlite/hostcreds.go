package sqlite

import (
	"context"

	"github.com/tmsproject/tms/internal/store"
)

const hostCredentialCols = `id, tenant, host, host_secret, created, updated`

func scanHostCredential(s scanner, c *store.HostCredential) error {
	var created, updated int64
	if err := s.Scan(&c.ID, &c.Tenant, &c.Host, &c.SecretHash, &created, &updated); err != nil {
		return err
	}
	c.Created, c.Updated = fromMicros(created), fromMicros(updated)
	return nil
}

// CreateHostCredential implements store.HostCredentialStore.
func (db *DB) CreateHostCredential(ctx context.Context, c store.HostCredential) error {
	_, err := db.writeCount(ctx, "insert host credential", `INSERT INTO host_credentials(tenant, host, host_secret, created, updated)
		VALUES (?, ?, ?, ?, ?)`, c.Tenant, c.Host, c.SecretHash, micros(c.Created), micros(c.Updated))
	return err
}

// ListHostCredentials implements store.HostCredentialStore.
func (db *DB) ListHostCredentials(ctx context.Context, tenant string) ([]store.HostCredential, error) {
	return db.hostCredentials(ctx, "list host credentials", `SELECT `+hostCredentialCols+` FROM host_credentials
		WHERE tenant = ? ORDER BY host`, tenant)
}

// HostCredentialsFor implements store.HostCredentialStore.
// It runs on every key lookup, so its answer is cached above the store
// (see readcache).
func (db *DB) HostCredentialsFor(ctx context.Context, host string) ([]store.HostCredential, error) {
	return db.hostCredentials(ctx, "find host credentials", `SELECT `+hostCredentialCols+` FROM host_credentials
		WHERE host = ? ORDER BY tenant`, host)
}

func (db *DB) hostCredentials(ctx context.Context, op, query string, arg string) ([]store.HostCredential, error) {
	out := []store.HostCredential{}
	err := db.queryRows(ctx, op, query, func(s scanner) error {
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
	return db.writeCount(ctx, "delete host credential", `DELETE FROM host_credentials WHERE tenant = ? AND host = ?`, tenant, host)
}
