package keys

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/clocktest"
)

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{name: "zero means defaults", opts: Options{}},
		{name: "all set", opts: Options{Workers: 4, RSAWorkers: 1, MaxWait: time.Second, RSAMaxWait: time.Millisecond}},
		{name: "negative Workers", opts: Options{Workers: -1}, wantErr: "Workers is -1"},
		{name: "negative RSAWorkers", opts: Options{RSAWorkers: -2}, wantErr: "RSAWorkers is -2"},
		{name: "negative MaxWait", opts: Options{MaxWait: -time.Second}, wantErr: "MaxWait is -1s"},
		{name: "negative RSAMaxWait", opts: Options{RSAMaxWait: -time.Millisecond}, wantErr: "RSAMaxWait is -1ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gen, err := NewGenerator(tt.opts)
			if tt.wantErr == "" {
				if err != nil || gen == nil {
					t.Fatalf("NewGenerator(%+v) = %v, %v; want a generator", tt.opts, gen, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewGenerator(%+v) error = %v; want it to contain %q", tt.opts, err, tt.wantErr)
			}
			if gen != nil {
				t.Errorf("NewGenerator returned a generator along with an error")
			}
		})
	}
}

func TestDefaultCapacities(t *testing.T) {
	gen := mustGenerator(t, Options{})
	procs := runtime.GOMAXPROCS(0)
	stats := gen.Stats()
	if stats.Fast.Capacity != procs {
		t.Errorf("fast pool capacity = %d; want GOMAXPROCS = %d", stats.Fast.Capacity, procs)
	}
	if want := max(1, procs/2); stats.RSA.Capacity != want {
		t.Errorf("RSA pool capacity = %d; want %d", stats.RSA.Capacity, want)
	}
}

func TestGenerateUnknownType(t *testing.T) {
	gen := mustGenerator(t, Options{})
	_, err := gen.Generate(context.Background(), Type("dsa"))
	if err == nil || !strings.Contains(err.Error(), `unknown key type "dsa"`) {
		t.Fatalf("Generate(dsa) error = %v; want unknown key type", err)
	}
}

// TestRSASaturationLeavesFastKeysAlone fills the RSA pool and checks that a
// further RSA request is refused quickly while Ed25519 and ECDSA still work.
func TestRSASaturationLeavesFastKeysAlone(t *testing.T) {
	gen := mustGenerator(t, Options{Workers: 1, RSAWorkers: 1, RSAMaxWait: 50 * time.Millisecond})
	fill(t, gen.rsa)

	start := time.Now()
	_, err := gen.Generate(context.Background(), RSA)
	elapsed := time.Since(start)
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("Generate(rsa) on a full pool: err = %v; want ErrBusy", err)
	}
	t.Logf("RSA refusal took %v (RSAMaxWait 50ms)", elapsed)
	if got := gen.Stats().RSA.Refused; got != 1 {
		t.Errorf("RSA Refused = %d; want 1", got)
	}

	for _, typ := range []Type{Ed25519, ECDSA} {
		if _, err := gen.Generate(context.Background(), typ); err != nil {
			t.Errorf("Generate(%s) while RSA is saturated: %v", typ, err)
		}
	}
	if stats := gen.Stats(); stats.Fast.InUse != 0 || stats.Fast.Refused != 0 || stats.RSA.InUse != 1 {
		t.Errorf("Stats = %+v; want fast pool idle and unrefused, one RSA slot held", stats)
	}
}

func TestFastPoolSaturation(t *testing.T) {
	gen := mustGenerator(t, Options{Workers: 2, MaxWait: 100 * time.Millisecond})
	fill(t, gen.fast)

	start := time.Now()
	_, err := gen.Generate(context.Background(), Ed25519)
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("Generate on a full pool: err = %v; want ErrBusy", err)
	}
	t.Logf("ed25519 refusal took %v (MaxWait 100ms)", time.Since(start))
	if stats := gen.Stats().Fast; stats.InUse != 2 || stats.Capacity != 2 || stats.Refused != 1 {
		t.Errorf("fast Stats = %+v; want InUse 2, Capacity 2, Refused 1", stats)
	}
}

func TestGenerateWaitsForAFreedSlot(t *testing.T) {
	gen := mustGenerator(t, Options{Workers: 1, MaxWait: 5 * time.Second})
	fill(t, gen.fast)
	done := make(chan error, 1)
	go func() {
		_, err := gen.Generate(context.Background(), Ed25519)
		done <- err
	}()
	clocktest.Eventually(t, "Generate waits for a slot", func() bool { return gen.Stats().Fast.Waiting == 1 })
	gen.fast.release()
	if err := <-done; err != nil {
		t.Fatalf("Generate after a slot frees: %v", err)
	}
}

func TestGenerateStopsWaitingWhenContextEnds(t *testing.T) {
	gen := mustGenerator(t, Options{Workers: 1, MaxWait: time.Minute})
	fill(t, gen.fast)

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := gen.Generate(ctx, Ed25519)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrBusy) {
		t.Fatalf("Generate with cancelled context: err = %v; want context.Canceled", err)
	}
	t.Logf("returned %v after cancel was scheduled at 50ms (MaxWait 1m)", time.Since(start))
	if got := gen.Stats().Fast.Refused; got != 0 {
		t.Errorf("Refused = %d; a cancelled wait is not a refusal", got)
	}

	if _, err := gen.Generate(ctx, Ed25519); !errors.Is(err, context.Canceled) {
		t.Errorf("Generate with an already cancelled context: err = %v; want context.Canceled", err)
	}
}

// TestCancelledRSAKeepsItsSlotUntilDone cancels an RSA generation in flight:
// the caller returns at once, and the slot stays taken until the background
// generation ends, so the pool never runs more keys than its size.
func TestCancelledRSAKeepsItsSlotUntilDone(t *testing.T) {
	gen := mustGenerator(t, Options{RSAWorkers: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := gen.Generate(ctx, RSA)
	returned := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Generate(rsa) with a 20ms deadline: err = %v; want context.DeadlineExceeded", err)
	}
	heldAfterReturn := gen.Stats().RSA.InUse
	t.Logf("caller returned after %v; RSA slots in use right after: %d", returned, heldAfterReturn)

	clocktest.Eventually(t, "the RSA slot of the cancelled generation is free", func() bool { return gen.Stats().RSA.InUse == 0 })
	t.Logf("slot freed %v after the start", time.Since(start))
	if _, err := gen.Generate(context.Background(), Ed25519); err != nil {
		t.Errorf("Generate(ed25519) afterwards: %v", err)
	}
}

// TestConcurrentCallersQueueForSlots runs many more callers than slots; with
// a generous wait every caller gets its key.
func TestConcurrentCallersQueueForSlots(t *testing.T) {
	const callers = 64
	gen := mustGenerator(t, Options{Workers: 2, MaxWait: 30 * time.Second})
	errs := make(chan error, callers)
	for range callers {
		go func() {
			_, err := gen.Generate(context.Background(), Ed25519)
			errs <- err
		}()
	}
	for range callers {
		if err := <-errs; err != nil {
			t.Errorf("Generate: %v", err)
		}
	}
	if stats := gen.Stats().Fast; stats.InUse != 0 || stats.Refused != 0 {
		t.Errorf("fast Stats = %+v; want idle with no refusals", stats)
	}
}

func mustGenerator(tb testing.TB, opts Options) *Generator {
	tb.Helper()
	gen, err := NewGenerator(opts)
	if err != nil {
		tb.Fatalf("NewGenerator(%+v): %v", opts, err)
	}
	return gen
}

// fill takes every slot of p.
func fill(tb testing.TB, p *pool) {
	tb.Helper()
	for range cap(p.slots) {
		if err := p.acquire(context.Background()); err != nil {
			tb.Fatalf("take a slot: %v", err)
		}
	}
}
