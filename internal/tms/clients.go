package tms

import (
	"context"
	"errors"

	"github.com/tmsproject/tms/internal/secret"
	"github.com/tmsproject/tms/internal/store"
)

// NewClient is a client registration request.
type NewClient struct {
	Tenant     string
	ClientID   string
	AppName    string
	AppVersion string
}

// CreateClient registers a client application and returns its secret. The
// tenant administrator of the body's tenant must call it.
func (s *Service) CreateClient(ctx context.Context, c Credentials, req NewClient) (string, error) {
	if err := checkTexts("tenant", req.Tenant, "client_id", req.ClientID, "app_name", req.AppName); err != nil {
		return "", err
	}
	if _, err := s.authBody(ctx, c, req.Tenant, "create clients"); err != nil {
		return "", err
	}
	if s.opts.DisallowNewClients {
		return "", newError(KindForbidden, "ERROR: FORBIDDEN - Client registration is disabled on this server (new_clients = \"disallow\").")
	}
	if err := checkVersionReq("app_version", req.AppVersion); err != nil {
		return "", err
	}
	sec := secret.New()
	now := s.now()
	err := s.store.CreateClient(ctx, store.Client{Tenant: req.Tenant, ClientID: req.ClientID, AppName: req.AppName,
		AppVersion: req.AppVersion, SecretHash: secret.Hash(sec), Enabled: true, Created: now, Updated: now})
	if errors.Is(err, store.ErrConflict) {
		return "", &Error{Kind: KindConflict, Err: err, Message: "Client " + req.ClientID + " or application " + req.AppName + " " +
			req.AppVersion + " is already registered in tenant " + req.Tenant + "."}
	}
	if err != nil {
		return "", storeError(err, "create client")
	}
	return sec, nil
}

// GetClient returns a client; a client may read only itself.
func (s *Service) GetClient(ctx context.Context, c Credentials, clientID string) (store.Client, error) {
	if _, err := s.authClientPath(ctx, c, allowEither, clientID, "get client "+clientID); err != nil {
		return store.Client{}, err
	}
	cl, err := s.store.GetClient(ctx, c.Tenant, clientID)
	return cl, storeError(err, "get client")
}

// ListClients lists the tenant's clients; a client sees only itself.
func (s *Service) ListClients(ctx context.Context, c Credentials) ([]store.Client, error) {
	p, err := s.authHeader(ctx, c, allowEither, "list clients")
	if err != nil {
		return nil, err
	}
	list, err := s.store.ListClients(ctx, c.Tenant, p.onlyClient())
	return list, storeError(err, "list clients")
}

// UpdateClient changes a client's app_version and enabled flag and returns
// the number of fields changed.
func (s *Service) UpdateClient(ctx context.Context, c Credentials, clientID string, upd store.ClientUpdate) (int64, error) {
	if _, err := s.authClientPath(ctx, c, allowEither, clientID, "update client "+clientID); err != nil {
		return 0, err
	}
	if upd.AppVersion == nil && upd.Enabled == nil {
		return 0, nil
	}
	if upd.AppVersion != nil {
		if err := checkVersionReq("app_version", *upd.AppVersion); err != nil {
			return 0, err
		}
	}
	n, err := s.store.UpdateClient(ctx, c.Tenant, clientID, upd, s.now())
	if err != nil {
		return 0, storeError(err, "update client")
	}
	fields := int64(0)
	if upd.AppVersion != nil {
		fields++
	}
	if upd.Enabled != nil {
		fields++
	}
	return n * fields, nil
}

// RotateClientSecret gives a client a new secret and returns it.
func (s *Service) RotateClientSecret(ctx context.Context, c Credentials, clientID string) (string, error) {
	if _, err := s.authClientPath(ctx, c, allowEither, clientID, "rotate the secret of client "+clientID); err != nil {
		return "", err
	}
	sec := secret.New()
	n, err := s.store.SetClientSecret(ctx, c.Tenant, clientID, secret.Hash(sec), s.now())
	if err != nil {
		return "", storeError(err, "rotate client secret")
	}
	if n == 0 {
		return "", newError(KindNotFound, "%s: client %s does not exist in tenant %s", notFound, clientID, c.Tenant)
	}
	return sec, nil
}

// DeleteClient deletes a client with its delegations, keys and reservations
// and returns the number of clients deleted.
func (s *Service) DeleteClient(ctx context.Context, c Credentials, clientID string) (int64, error) {
	if _, err := s.authClientPath(ctx, c, allowEither, clientID, "delete client "+clientID); err != nil {
		return 0, err
	}
	n, err := s.store.DeleteClient(ctx, c.Tenant, clientID)
	return n, storeError(err, "delete client")
}
