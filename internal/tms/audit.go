package tms

import (
	"context"

	"github.com/tmsproject/tms/internal/store"
)

// ListAudit returns the audit events of the caller's tenant that q selects,
// newest first; q.Tenant is ignored. Only a tenant administrator may list
// them. With noTenant, the administrator of the default tenant lists the
// events that belong to no tenant instead (such as lookups of unknown keys
// and failed requests without a tenant); others get 403.
func (s *Service) ListAudit(ctx context.Context, c Credentials, q store.AuditQuery, noTenant bool) ([]store.AuditEvent, error) {
	p, err := s.authHeader(ctx, c, allowAdmin, "list audit events")
	if err != nil {
		return nil, err
	}
	q.Tenant = p.Tenant
	if noTenant {
		if p.Tenant != DefaultTenant {
			return nil, newError(KindForbidden, "ERROR: FORBIDDEN - Only the administrator of the 'default' tenant can list events that belong to no tenant.")
		}
		q.Tenant = ""
	}
	events, err := s.store.ListAudit(ctx, q)
	return events, storeError(err, "list audit events")
}
