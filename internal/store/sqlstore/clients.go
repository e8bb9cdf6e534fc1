package sqlstore

import (
	"context"
	"time"

	"github.com/tmsproject/tms/internal/store"
)

const clientCols = `id, tenant, client_id, app_name, app_version, client_secret, enabled, created, updated`

func scanClient(s Row, c *store.Client) error {
	return s.Scan(&c.ID, &c.Tenant, &c.ClientID, &c.AppName, &c.AppVersion, &c.SecretHash, &c.Enabled, &c.Created, &c.Updated)
}

func insertClient(c store.Client) Stmt {
	return q(`INSERT INTO clients(tenant, app_name, app_version, client_id, client_secret, enabled, created, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Tenant, c.AppName, c.AppVersion, c.ClientID, c.SecretHash, c.Enabled, c.Created, c.Updated)
}

// insertOAuthClient inserts an OAuth client: a public client in clients,
// marked in oauth_clients.
func insertOAuthClient(c store.OAuthClient) []Stmt {
	return []Stmt{
		insertClient(store.Client{Tenant: c.Tenant, ClientID: c.ClientID, AppName: c.AppName, AppVersion: c.AppVersion,
			SecretHash: store.PublicClientSecret, Enabled: true, Created: c.Created, Updated: c.Updated}),
		q(`INSERT INTO oauth_clients(tenant, client_id, builtin, created, updated) VALUES (?, ?, ?, ?, ?)`,
			c.Tenant, c.ClientID, c.Builtin, c.Created, c.Updated),
	}
}

// CreateClient implements store.ClientStore.
func (r Records) CreateClient(ctx context.Context, c store.Client) error {
	_, err := r.write(ctx, "insert client", insertClient(c))
	return err
}

// CreateOAuthClient implements store.OAuthClientStore.
func (r Records) CreateOAuthClient(ctx context.Context, c store.OAuthClient) error {
	_, err := r.c.Exec(ctx, "insert oauth client", store.ErrMissingParent, insertOAuthClient(c)...)
	return err
}

// GetClient implements store.ClientStore.
func (r Records) GetClient(ctx context.Context, tenant, clientID string) (store.Client, error) {
	return one(ctx, r, "get client", q(`SELECT `+clientCols+` FROM clients WHERE tenant = ? AND client_id = ?`, tenant, clientID), scanClient)
}

// ListClients implements store.ClientStore.
func (r Records) ListClients(ctx context.Context, tenant, onlyClientID string) ([]store.Client, error) {
	s := q(`SELECT `+clientCols+` FROM clients WHERE tenant = ? ORDER BY client_id`, tenant)
	if onlyClientID != "" {
		s = q(`SELECT `+clientCols+` FROM clients WHERE tenant = ? AND client_id = ? ORDER BY client_id`, tenant, onlyClientID)
	}
	return all(ctx, r, "list clients", s, scanClient)
}

// UpdateClient implements store.ClientStore. Both changes happen in one
// transaction.
func (r Records) UpdateClient(ctx context.Context, tenant, clientID string, upd store.ClientUpdate, now time.Time) (int64, error) {
	var stmts []Stmt
	if upd.AppVersion != nil {
		stmts = append(stmts, q(`UPDATE clients SET app_version = ?, updated = ? WHERE tenant = ? AND client_id = ?`,
			*upd.AppVersion, now, tenant, clientID))
	}
	if upd.Enabled != nil {
		stmts = append(stmts, q(`UPDATE clients SET enabled = ?, updated = ? WHERE tenant = ? AND client_id = ?`,
			*upd.Enabled, now, tenant, clientID))
	}
	if len(stmts) == 0 {
		return 0, nil
	}
	counts, err := r.c.Exec(ctx, "update client", store.ErrMissingParent, stmts...)
	var changed int64
	for _, n := range counts {
		changed = max(changed, n)
	}
	return changed, err
}

// SetClientSecret implements store.ClientStore.
func (r Records) SetClientSecret(ctx context.Context, tenant, clientID, secretHash string, now time.Time) (int64, error) {
	return r.write(ctx, "set client secret", q(`UPDATE clients SET client_secret = ?, updated = ? WHERE tenant = ? AND client_id = ?`,
		secretHash, now, tenant, clientID))
}

// DeleteClient implements store.ClientStore.
func (r Records) DeleteClient(ctx context.Context, tenant, clientID string) (int64, error) {
	return r.remove(ctx, "delete client", q(`DELETE FROM clients WHERE tenant = ? AND client_id = ?`, tenant, clientID))
}
