package sqlstore

import (
	"context"

	"github.com/tmsproject/tms/internal/store"
)

const hostCredentialCols = `id, tenant, host, host_secret, created, updated`

func scanHostCredential(s Row, c *store.HostCredential) error {
	return s.Scan(&c.ID, &c.Tenant, &c.Host, &c.SecretHash, &c.Created, &c.Updated)
}

// CreateHostCredential implements store.HostCredentialStore.
func (r Records) CreateHostCredential(ctx context.Context, c store.HostCredential) error {
	_, err := r.write(ctx, "insert host credential", q(`INSERT INTO host_credentials(tenant, host, host_secret, created, updated)
		VALUES (?, ?, ?, ?, ?)`, c.Tenant, c.Host, c.SecretHash, c.Created, c.Updated))
	return err
}

// ListHostCredentials implements store.HostCredentialStore.
func (r Records) ListHostCredentials(ctx context.Context, tenant string) ([]store.HostCredential, error) {
	return all(ctx, r, "list host credentials", q(`SELECT `+hostCredentialCols+` FROM host_credentials
		WHERE tenant = ? ORDER BY host`, tenant), scanHostCredential)
}

// HostCredentialsFor implements store.HostCredentialStore.
// It runs on every key lookup, so its answer is cached above the store
// (see readcache).
func (r Records) HostCredentialsFor(ctx context.Context, host string) ([]store.HostCredential, error) {
	return all(ctx, r, "find host credentials", q(`SELECT `+hostCredentialCols+` FROM host_credentials
		WHERE host = ? ORDER BY tenant`, host), scanHostCredential)
}

// DeleteHostCredential implements store.HostCredentialStore.
func (r Records) DeleteHostCredential(ctx context.Context, tenant, host string) (int64, error) {
	return r.remove(ctx, "delete host credential", q(`DELETE FROM host_credentials WHERE tenant = ? AND host = ?`, tenant, host))
}
