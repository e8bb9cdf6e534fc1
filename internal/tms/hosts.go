package tms

import (
	"context"
	"errors"

	"github.com/tmsproject/tms/internal/store"
)

// CreateHost records an address of a host.
func (s *Service) CreateHost(ctx context.Context, c Credentials, tenant, host, addr string) (store.Host, error) {
	if err := checkTexts("tenant", tenant, "host", host, "addr", addr); err != nil {
		return store.Host{}, err
	}
	if _, err := s.authBody(ctx, c, tenant, "create hosts"); err != nil {
		return store.Host{}, err
	}
	now := s.now()
	h := store.Host{Tenant: tenant, Host: host, Addr: addr, Created: now, Updated: now}
	err := s.store.CreateHost(ctx, h)
	if errors.Is(err, store.ErrConflict) {
		return store.Host{}, &Error{Kind: KindConflict, Err: err, Message: "Host " + host + " with address " + addr + " already exists."}
	}
	return h, storeError(err, "create host")
}

// GetHost returns a host record by id.
func (s *Service) GetHost(ctx context.Context, c Credentials, id int64) (store.Host, error) {
	if _, err := s.authHeader(ctx, c, allowAdmin, "get hosts"); err != nil {
		return store.Host{}, err
	}
	h, err := s.store.GetHost(ctx, c.Tenant, id)
	return h, storeError(err, "get host")
}

// ListHosts lists the tenant's host records.
func (s *Service) ListHosts(ctx context.Context, c Credentials) ([]store.Host, error) {
	if _, err := s.authHeader(ctx, c, allowAdmin, "list hosts"); err != nil {
		return nil, err
	}
	list, err := s.store.ListHosts(ctx, c.Tenant)
	return list, storeError(err, "list hosts")
}

// DeleteHost deletes a host record.
func (s *Service) DeleteHost(ctx context.Context, c Credentials, tenant, host, addr string) (int64, error) {
	if err := checkTexts("tenant", tenant, "host", host, "addr", addr); err != nil {
		return 0, err
	}
	if _, err := s.authBody(ctx, c, tenant, "delete hosts"); err != nil {
		return 0, err
	}
	n, err := s.store.DeleteHost(ctx, tenant, host, addr)
	return n, storeError(err, "delete host")
}
