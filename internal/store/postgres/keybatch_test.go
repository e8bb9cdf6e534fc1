package postgres

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/postgres/pgtest"
)

// TestKeyBatch runs one batch by hand with keys that must be inserted, a
// key whose user has no MFA record, and a key that collides with an
// existing one, and checks what each caller is told.
func TestKeyBatch(t *testing.T) {
	db := openTest(t, Options{URL: pgtest.NewSchema(t)})
	ctx := testContext(t)
	now := store.Micro(time.Now())
	never := store.Never
	seed := store.Seed{
		Tenants:     []store.Tenant{{Name: "t", Enabled: true, Created: now, Updated: now}},
		Clients:     []store.Client{{Tenant: "t", ClientID: "c", AppName: "a", AppVersion: "1", SecretHash: "h", Enabled: true, Created: now, Updated: now}},
		UserMFA:     []store.UserMFA{{Tenant: "t", TMSUserID: "u", ExpiresAt: never, Enabled: true, Created: now, Updated: now}},
		UserHosts:   []store.UserHost{{Tenant: "t", TMSUserID: "u", Host: "h", HostAccount: "a", ExpiresAt: never, Created: now, Updated: now}},
		Delegations: []store.Delegation{{Tenant: "t", ClientID: "c", ClientUserID: "u", ExpiresAt: never, Created: now, Updated: now}},
	}
	if err := db.CreateTenant(ctx, seed); err != nil {
		t.Fatal(err)
	}
	key := func(user, fp string) store.Pubkey {
		return store.Pubkey{Tenant: "t", ClientID: "c", ClientUserID: user, Host: "h", HostAccount: "a", Fingerprint: fp,
			PublicKey: "ssh-ed25519 AAAA" + fp, KeyType: "ed25519", KeyBits: 256, MaxUses: 1, RemainingUses: 1,
			InitialTTLMinutes: 5, ExpiresAt: never, Created: now, Updated: now}
	}
	if _, err := db.CreatePubkey(ctx, key("u", "SHA256:existing"), false); err != nil {
		t.Fatal(err)
	}
	var jobs []*keyJob
	for i := range 5 {
		jobs = append(jobs, &keyJob{ctx: ctx, key: key("u", fmt.Sprintf("SHA256:good%d", i)), done: make(chan keyResult, 1)})
	}
	nomfa := &keyJob{ctx: ctx, key: key("nobody", "SHA256:nomfa"), done: make(chan keyResult, 1)}
	dup := &keyJob{ctx: ctx, key: key("u", "SHA256:existing"), done: make(chan keyResult, 1)}
	abandoned := &keyJob{ctx: ctx, key: key("u", "SHA256:abandoned"), done: make(chan keyResult, 1)}
	abandoned.state.Store(jobAbandoned)
	db.keys.run(append(jobs, nomfa, dup, abandoned))

	for _, j := range jobs {
		r := <-j.done
		if r.alone || r.id == 0 {
			t.Fatalf("%s: %+v, want inserted", j.key.Fingerprint, r)
		}
		got, err := db.GetPubkey(ctx, "t", r.id, "")
		if err != nil || got.Fingerprint != j.key.Fingerprint {
			t.Fatalf("%s: stored %+v, %v", j.key.Fingerprint, got, err)
		}
	}
	for _, j := range []*keyJob{nomfa, dup} {
		if r := <-j.done; !r.alone {
			t.Fatalf("%s: %+v, want it sent back to insert alone", j.key.Fingerprint, r)
		}
	}
	select {
	case r := <-abandoned.done:
		t.Fatalf("an abandoned job was answered: %+v", r)
	default:
	}
	if _, err := db.FindPubkey(ctx, store.PubkeyKey{Tenant: "t", ClientID: "c", Host: "h", Fingerprint: "SHA256:abandoned"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an abandoned key was inserted: %v", err)
	}
	// Alone, the two sent back get their proper errors.
	var de *store.DependencyError
	if _, err := db.CreatePubkey(ctx, nomfa.key, false); !errors.As(err, &de) || de.Dependency != store.DependencyUserMFA {
		t.Fatalf("key of a user without MFA: %v", err)
	}
	if _, err := db.CreatePubkey(ctx, dup.key, false); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate key: %v", err)
	}
}

// TestKeyBatchUnderLoad creates keys from many goroutines and checks that
// they share batches and that every one is stored.
func TestKeyBatchUnderLoad(t *testing.T) {
	db := openTest(t, Options{URL: pgtest.NewSchema(t)})
	ctx := context.Background()
	now := store.Micro(time.Now())
	seed := store.Seed{
		Tenants: []store.Tenant{{Name: "t", Enabled: true, Created: now, Updated: now}},
		Clients: []store.Client{{Tenant: "t", ClientID: "c", AppName: "a", AppVersion: "1", SecretHash: "h", Enabled: true, Created: now, Updated: now}},
	}
	if err := db.CreateTenant(ctx, seed); err != nil {
		t.Fatal(err)
	}
	const goroutines, each = 50, 20
	errs := make(chan error, goroutines)
	for g := range goroutines {
		go func() {
			for i := range each {
				k := store.Pubkey{Tenant: "t", ClientID: "c", ClientUserID: "u", Host: "h", HostAccount: "a",
					Fingerprint: fmt.Sprintf("SHA256:%d-%d", g, i), PublicKey: "ssh-ed25519 AAAA", KeyType: "ed25519", KeyBits: 256,
					MaxUses: store.MaxCount, RemainingUses: store.MaxCount, InitialTTLMinutes: store.MaxCount, ExpiresAt: store.Never,
					Created: now, Updated: now}
				if _, err := db.CreatePubkey(ctx, k, true); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range goroutines {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	keys, err := db.ListPubkeys(ctx, "t", "")
	if err != nil || len(keys) != goroutines*each {
		t.Fatalf("%d keys stored, want %d (%v)", len(keys), goroutines*each, err)
	}
	s := db.KeyBatchStats()
	if s.Batched == 0 || s.Batches*2 > s.Batched {
		t.Fatalf("no batching under load: %+v", s)
	}
	t.Logf("%d keys: %d inserted in %d batches, the rest alone", goroutines*each, s.Batched, s.Batches)
}
