package tms

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
)

// errPasswordsBusy reports that every password hashing slot stayed taken
// for the whole allowed wait.
var errPasswordsBusy = errors.New("password hashing is at capacity")

// argon2id parameters of new hashes (the first recommendation of the OWASP
// password storage cheat sheet: 19 MiB, two passes, one lane). Stored
// hashes carry their own parameters, so these can change later.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonLanes     = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
)

// maxArgonMemoryKiB bounds the memory a stored hash may ask for, so that a
// corrupt or hostile hash cannot exhaust memory.
const maxArgonMemoryKiB = 256 * 1024

// passwordPool hashes and checks passwords with argon2id, at most size at
// once. A call waits at most maxWait for a slot and then fails with
// errPasswordsBusy, so a burst of sign-ins is refused quickly rather than
// queued, and never starves other work of CPU and memory.
type passwordPool struct {
	slots   chan struct{}
	maxWait time.Duration

	// dummyOnce prepares dummyHash, checked for unknown users so that a
	// sign-in takes as long whether or not the user exists.
	dummyOnce sync.Once
	dummyHash string

	// checks counts the passwords checked.
	checks atomic.Uint64
}

func newPasswordPool(size int, maxWait time.Duration) *passwordPool {
	if size <= 0 {
		size = max(1, runtime.GOMAXPROCS(0)/2)
	}
	if maxWait <= 0 {
		maxWait = 2 * time.Second
	}
	return &passwordPool{slots: make(chan struct{}, size), maxWait: maxWait}
}

// run calls fn in a slot of the pool. When ctx ends first it returns at
// once; fn then finishes in the background before it frees its slot.
func (p *passwordPool) run(ctx context.Context, fn func()) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	timer := time.NewTimer(p.maxWait)
	defer timer.Stop()
	select {
	case p.slots <- struct{}{}:
	case <-timer.C:
		return errPasswordsBusy
	case <-ctx.Done():
		return ctx.Err()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { <-p.slots }()
		fn()
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// hash returns the encoded argon2id hash of password.
func (p *passwordPool) hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	rand.Read(salt)
	var encoded string
	err := p.run(ctx, func() {
		key := argon2.IDKey([]byte(password), salt, argonTime, argonMemoryKiB, argonLanes, argonKeyLen)
		encoded = fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonTime, argonLanes,
			base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
	})
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return encoded, nil
}

// verify reports whether password matches the encoded hash. An empty or
// malformed hash never matches, after the same work as a real check.
func (p *passwordPool) verify(ctx context.Context, password, encoded string) (bool, error) {
	p.checks.Add(1)
	params, err := parseArgonHash(encoded)
	if err != nil {
		params, _ = parseArgonHash(p.dummy())
		params.never = true
	}
	var ok bool
	err = p.run(ctx, func() {
		key := argon2.IDKey([]byte(password), params.salt, params.time, params.memory, params.lanes, uint32(len(params.key)))
		ok = subtle.ConstantTimeCompare(key, params.key) == 1 && !params.never
	})
	if err != nil {
		return false, fmt.Errorf("check password: %w", err)
	}
	return ok, nil
}

// dummy returns a valid hash that no password is checked against for real.
func (p *passwordPool) dummy() string {
	p.dummyOnce.Do(func() {
		salt := make([]byte, argonSaltLen)
		rand.Read(salt)
		key := make([]byte, argonKeyLen)
		p.dummyHash = fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonTime, argonLanes,
			base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
	})
	return p.dummyHash
}

type argonParams struct {
	memory, time uint32
	lanes        uint8
	salt, key    []byte
	never        bool
}

// parseArgonHash decodes "$argon2id$v=19$m=M,t=T,p=P$SALT$KEY".
func parseArgonHash(encoded string) (argonParams, error) {
	var p argonParams
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, errors.New("not an argon2id hash")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, fmt.Errorf("argon2id version %q is not supported", parts[2])
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &p.lanes); err != nil {
		return p, fmt.Errorf("argon2id parameters %q: %w", parts[3], err)
	}
	if p.memory == 0 || p.memory > maxArgonMemoryKiB || p.time == 0 || p.time > 100 || p.lanes == 0 {
		return p, fmt.Errorf("argon2id parameters %q are out of range", parts[3])
	}
	var err error
	if p.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(p.salt) < 8 {
		return p, errors.New("argon2id salt is malformed")
	}
	if p.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(p.key) < 16 {
		return p, errors.New("argon2id key is malformed")
	}
	return p, nil
}

// PasswordChecks returns how many passwords sign-ins have checked (or tried
// to check: a check refused because the pool was busy counts too).
func (s *Service) PasswordChecks() uint64 { return s.accounts.passwords.checks.Load() }
