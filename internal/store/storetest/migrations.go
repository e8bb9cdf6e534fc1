package storetest

import (
	"testing"

	"github.com/tmsproject/tms/internal/store"
)

// OpenVersion1 creates a database at schema version 1, the tables alone as
// tms_server 0.3.0 leaves them, holding the given tenants (name and
// enabled only), and opens a store on it, which applies the later
// migrations.
type OpenVersion1 func(t *testing.T, tenants []store.Tenant) store.Store

// RunMigrations checks what the migrations do to a database created
// before users and OAuth existed.
func RunMigrations(t *testing.T, open OpenVersion1) {
	t.Run("AddsCLIClient", func(t *testing.T) {
		s := open(t, []store.Tenant{{Name: "default", Enabled: true}, {Name: "other", Enabled: false}})
		defer watchdog("AddsCLIClient", caseTimeout)()
		c := ctx(t)
		for _, tenant := range []string{"default", "other"} {
			oc, err := s.GetOAuthClient(c, tenant, "tms-cli")
			if err != nil {
				t.Fatalf("tenant %s after the migration: %v", tenant, err)
			}
			if !oc.Builtin || !oc.Enabled {
				t.Fatalf("tenant %s: %+v", tenant, oc)
			}
			row, err := s.GetClient(c, tenant, "tms-cli")
			if err != nil || row.SecretHash != store.PublicClientSecret {
				t.Fatalf("tenant %s clients row: %+v %v", tenant, row, err)
			}
		}
	})
}
