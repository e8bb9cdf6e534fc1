package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/store"
)

func hostCredential(tenant, host string) store.HostCredential {
	return store.HostCredential{Tenant: tenant, Host: host, SecretHash: "hash-" + tenant + "-" + host, Created: t0, Updated: t0}
}

func testHostCredentials(t *testing.T, s store.Store) {
	c := ctx(t)
	must(t, s.CreateTenant(c, tenantSeed("a")))
	must(t, s.CreateTenant(c, tenantSeed("b")))

	// Nothing yet: an empty list, not an error.
	for name, list := range map[string]func() ([]store.HostCredential, error){
		"ListHostCredentials": func() ([]store.HostCredential, error) { return s.ListHostCredentials(c, "a") },
		"HostCredentialsFor":  func() ([]store.HostCredential, error) { return s.HostCredentialsFor(c, "login1") },
	} {
		got, err := list()
		must(t, err)
		if got == nil || len(got) != 0 {
			t.Fatalf("%s on an empty store: got %#v, want an empty list", name, got)
		}
	}

	a2 := hostCredential("a", "login2")
	a1 := hostCredential("a", "login1")
	b1 := hostCredential("b", "login1")
	b1.Created = time.Date(2030, 1, 2, 3, 4, 5, 987654000, time.FixedZone("X", 3600))
	for _, hc := range []store.HostCredential{a2, a1, b1} {
		must(t, s.CreateHostCredential(c, hc))
	}
	wantErr(t, s.CreateHostCredential(c, a1), store.ErrConflict)
	wantErr(t, s.CreateHostCredential(c, hostCredential("nosuchtenant", "login1")), store.ErrMissingParent)

	list, err := s.ListHostCredentials(c, "a")
	must(t, err)
	if len(list) != 2 || list[0].Host != "login1" || list[1].Host != "login2" {
		t.Fatalf("ListHostCredentials(a): got %+v, want login1 then login2", list)
	}
	for i, want := range []store.HostCredential{a1, a2} {
		if list[i].ID == 0 {
			t.Fatalf("ListHostCredentials(a)[%d] has no id", i)
		}
		want.ID = list[i].ID
		if !reflect.DeepEqual(list[i], want) {
			t.Fatalf("ListHostCredentials(a)[%d]: got %+v, want %+v", i, list[i], want)
		}
	}

	found, err := s.HostCredentialsFor(c, "login1")
	must(t, err)
	if len(found) != 2 || found[0].Tenant != "a" || found[1].Tenant != "b" {
		t.Fatalf("HostCredentialsFor(login1): got %+v, want tenants a then b", found)
	}
	if found[1].SecretHash != b1.SecretHash || !found[1].Created.Equal(b1.Created) || found[1].Created.Location() != time.UTC {
		t.Fatalf("HostCredentialsFor(login1)[1]: got %+v, want %+v with times in UTC", found[1], b1)
	}
	// Host names match exactly.
	for _, host := range []string{"LOGIN1", "login", "login1 "} {
		got, err := s.HostCredentialsFor(c, host)
		must(t, err)
		if len(got) != 0 {
			t.Fatalf("HostCredentialsFor(%q): got %+v, want none", host, got)
		}
	}

	// A tenant with host credentials cannot be deleted; a wipe removes them.
	_, err = s.DeleteTenant(c, "b")
	wantErr(t, err, store.ErrInUse)
	n, err := s.WipeTenant(c, "b")
	wantCount(t, "wipe tenant b (credential, admin, tenant)", n, err, 3)
	found, err = s.HostCredentialsFor(c, "login1")
	must(t, err)
	if len(found) != 1 || found[0].Tenant != "a" {
		t.Fatalf("HostCredentialsFor(login1) after wiping b: got %+v, want only tenant a", found)
	}

	n, err = s.DeleteHostCredential(c, "a", "login1")
	wantCount(t, "delete host credential", n, err, 1)
	n, err = s.DeleteHostCredential(c, "a", "login1")
	wantCount(t, "delete host credential again", n, err, 0)
	n, err = s.DeleteHostCredential(c, "b", "login2")
	wantCount(t, "delete host credential of another tenant", n, err, 0)
	list, err = s.ListHostCredentials(c, "a")
	must(t, err)
	if len(list) != 1 || list[0].Host != "login2" {
		t.Fatalf("ListHostCredentials(a) after delete: got %+v, want login2 only", list)
	}
	// A deleted credential can be created again, with a new secret.
	a1.SecretHash = "hash-new"
	must(t, s.CreateHostCredential(c, a1))
	found, err = s.HostCredentialsFor(c, "login1")
	must(t, err)
	if len(found) != 1 || found[0].SecretHash != "hash-new" {
		t.Fatalf("HostCredentialsFor(login1) after re-creating: got %+v, want the new hash", found)
	}
}
