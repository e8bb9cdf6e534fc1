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
// key whose user has no MFA record, a key that collides with an existing
// one and a key that needs provisioning, and checks what each caller is
// told.
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
	if _, err := db.CreatePubkey(ctx, key("u", "SHA256:existing"), false, nil); err != nil {
		t.Fatal(err)
	}
	errNoMFA := errors.New("no MFA record")
	check := func(d store.Dependencies) error {
		if d.UserMFA.ID == 0 {
			return errNoMFA
		}
		return nil
	}
	job := func(user, fp string) *keyJob {
		return &keyJob{ctx: ctx, key: key(user, fp), check: check, done: make(chan keyResult, 1)}
	}
	var jobs []*keyJob
	for i := range 5 {
		jobs = append(jobs, job("u", fmt.Sprintf("SHA256:good%d", i)))
	}
	nomfa, dup, again := job("nobody", "SHA256:nomfa"), job("u", "SHA256:existing"), job("u", "SHA256:good0")
	provision := job("newuser", "SHA256:provision")
	provision.provision = true
	abandoned := job("u", "SHA256:abandoned")
	abandoned.state.Store(jobAbandoned)
	db.keys.run(append(jobs, nomfa, dup, again, provision, abandoned))

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
	if r := <-nomfa.done; r.err != errNoMFA || r.alone {
		t.Fatalf("key of a user without MFA: %+v, want the check's refusal", r)
	}
	for _, j := range []*keyJob{dup, again, provision} {
		if r := <-j.done; !r.alone {
			t.Fatalf("%s of %s: %+v, want it sent back to be stored alone", j.key.Fingerprint, j.key.ClientUserID, r)
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
	// Alone, those sent back get their proper outcome.
	if _, err := db.CreatePubkey(ctx, dup.key, false, check); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate key: %v", err)
	}
	if _, err := db.CreatePubkey(ctx, provision.key, true, check); err != nil {
		t.Fatalf("key that needs provisioning: %v", err)
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
				if _, err := db.CreatePubkey(ctx, k, true, nil); err != nil {
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
