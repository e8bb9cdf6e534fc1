package tms

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestPasswordHashAndVerify(t *testing.T) {
	ctx := context.Background()
	p := newPasswordPool(2, time.Second)
	h1, err := p.hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	h2, err := p.hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if h1 == h2 || !strings.HasPrefix(h1, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hashes %q %q: want distinct salted argon2id hashes", h1, h2)
	}
	for _, tc := range []struct {
		password, hash string
		want           bool
	}{
		{"correct horse", h1, true},
		{"correct horse", h2, true},
		{"correct horsE", h1, false},
		{"", h1, false},
		{"correct horse", "", false},
		{"correct horse", "$argon2id$v=19$m=19456,t=2,p=1$AAAA$AAAA", false},
		{"correct horse", "$argon2id$v=19$m=999999999,t=2,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5", false},
		{"correct horse", "$2a$10$bcrypt", false},
	} {
		got, err := p.verify(ctx, tc.password, tc.hash)
		if err != nil || got != tc.want {
			t.Errorf("verify(%q, %.30q) = %v, %v; want %v", tc.password, tc.hash, got, err, tc.want)
		}
	}
}

func TestPasswordPoolBusy(t *testing.T) {
	p := newPasswordPool(1, 20*time.Millisecond)
	release := make(chan struct{})
	started := make(chan struct{})
	go p.run(context.Background(), func() {
		close(started)
		<-release
	})
	<-started
	_, err := p.hash(context.Background(), "some password")
	if !errors.Is(err, errPasswordsBusy) {
		t.Fatalf("hash while the pool is full: got %v, want errPasswordsBusy", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.verify(ctx, "x", ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("verify with a canceled context: got %v", err)
	}
	close(release)
	if _, err := p.hash(context.Background(), "some password"); err != nil {
		t.Fatalf("hash after the slot freed: %v", err)
	}
}
