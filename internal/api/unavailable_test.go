package api_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/api"
	"github.com/tmsproject/tms/internal/clocktest"
	"github.com/tmsproject/tms/internal/store/postgres"
	"github.com/tmsproject/tms/internal/store/postgres/pgtest"
	"github.com/tmsproject/tms/internal/store/readcache"
	"github.com/tmsproject/tms/internal/store/sqlite"
	"github.com/tmsproject/tms/internal/tms"
)

// wantUnavailable fails unless r is a 503 envelope with Retry-After.
func wantUnavailable(t *testing.T, r reply) {
	t.Helper()
	r.wantError(t, http.StatusServiceUnavailable)
	if ra := r.Header.Get("Retry-After"); ra == "" {
		t.Fatalf("503 without Retry-After: %s", r.Raw)
	}
}

// familyRequests is one request of every route family that needs the
// database, each one that would succeed on a healthy server.
func familyRequests(s *stack) []struct {
	method, path string
	h            hdr
	body         any
} {
	return []struct {
		method, path string
		h            hdr
		body         any
	}{
		{"GET", "/v1/tms/client/testclient1", testClient(), nil},
		{"GET", "/v1/tms/client/list", s.admin("test"), nil},
		{"POST", "/v1/tms/client", s.admin("test"), newClientBody("c9", "test")},
		{"GET", "/v1/tms/tenants/list", s.admin("default"), nil},
		{"GET", "/v1/tms/tenants/test", hdr{}, nil},
		{"POST", "/v1/tms/tenants/acme", s.admin("default"), nil},
		{"PATCH", "/v1/tms/tenants/upd", s.admin("test"), map[string]any{"tenant": "test", "enabled": true}},
		{"POST", "/v1/tms/usermfa", s.admin("test"), map[string]any{"tenant": "test", "tms_user_id": "u9", "ttl_minutes": 5}},
		{"GET", "/v1/tms/usermfa/list", s.admin("test"), nil},
		{"GET", "/v1/tms/userhosts/list", s.admin("test"), nil},
		{"GET", "/v1/tms/delegations/list", s.admin("test"), nil},
		{"GET", "/v1/tms/hosts/list", s.admin("test"), nil},
		{"POST", "/v1/tms/pubkeys/creds", testClient(), keyBody(tms.TestUser, 1, 1)},
		{"POST", "/v1/tms/pubkeys/creds/retrieve", hdr{}, map[string]any{"user": tms.TestHostAccount, "host": tms.TestHost, "public_key_fingerprint": "SHA256:x"}},
		{"GET", "/v1/tms/pubkeys/list", testClient(), nil},
		{"GET", "/v1/tms/reservations/testclient1/r1", testClient(), nil},
	}
}

// TestAdmissionControl: with one request in flight allowed and one held,
// the next is refused at once with 503 and Retry-After.
func TestAdmissionControl(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	hold := func(mux *http.ServeMux) {
		mux.HandleFunc("GET /v1/test/hold", func(w http.ResponseWriter, r *http.Request) {
			entered <- struct{}{}
			<-release
			w.WriteHeader(http.StatusNoContent)
		})
	}
	s := newStack(t, backends[0], stackOptions{API: api.Options{MaxInFlight: 1, RetryAfter: 3 * time.Second, Extra: []func(*http.ServeMux){hold}}})
	held := make(chan int, 1)
	go func() {
		r, err := s.send(context.Background(), "GET", "/v1/test/hold", hdr{}, nil)
		if err != nil {
			t.Error(err)
		}
		held <- r.Status
	}()
	<-entered

	start := time.Now()
	r := s.call(t, "GET", "/v1/tms/version", hdr{}, nil)
	t.Logf("refused while one request is held, after %v", time.Since(start).Round(time.Microsecond))
	wantUnavailable(t, r)
	if ra := r.Header.Get("Retry-After"); ra != "3" {
		t.Errorf("Retry-After %q, want 3", ra)
	}
	select {
	case status := <-held:
		t.Fatalf("the held request ended (%d) before the refusal was checked", status)
	default:
	}

	close(release)
	if status := <-held; status != http.StatusNoContent {
		t.Fatalf("held request: status %d", status)
	}
	s.call(t, "GET", "/v1/tms/version", hdr{}, nil).want(t, 200)
}

// TestRequestDeadline: every request carries the configured deadline.
func TestRequestDeadline(t *testing.T) {
	const timeout = 2 * time.Second
	deadlines := make(chan time.Duration, 1)
	probe := func(mux *http.ServeMux) {
		mux.HandleFunc("GET /v1/test/deadline", func(w http.ResponseWriter, r *http.Request) {
			d, ok := r.Context().Deadline()
			if !ok {
				deadlines <- -1
				return
			}
			deadlines <- time.Until(d)
		})
	}
	s := newStack(t, backends[0], stackOptions{API: api.Options{RequestTimeout: timeout, Extra: []func(*http.ServeMux){probe}}})
	s.call(t, "GET", "/v1/test/deadline", hdr{}, nil)
	left := <-deadlines
	if left <= 0 || left > timeout {
		t.Fatalf("request deadline %v ahead, want within the %v request timeout", left, timeout)
	}
}

// TestDeadlineReachesDatabase: a request stuck on a database lock ends with
// 503 at its deadline, while the lock is still held, although the store's
// own timeouts are much longer.
func TestDeadlineReachesDatabase(t *testing.T) {
	const timeout = 500 * time.Millisecond
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{
			API:      api.Options{RequestTimeout: timeout},
			SQLite:   sqlite.Options{BusyTimeout: time.Minute},
			Postgres: postgres.Options{AcquireTimeout: time.Minute, StatementTimeout: time.Minute},
		})
		before := s.snapshot(t)
		unlock := lockDatabase(t, s)
		start := time.Now()
		// SQLite readers never wait for the lock, so the request must write.
		r := s.call(t, "POST", "/v1/tms/usermfa", s.admin("test"), map[string]any{"tenant": "test", "tms_user_id": "late", "ttl_minutes": 5})
		elapsed := time.Since(start)
		wantUnavailable(t, r)
		t.Logf("request timeout %v: answered %d after %v with the database locked", timeout, r.Status, elapsed.Round(time.Millisecond))
		unlock()
		// The next write goes through the same writer: once it is done,
		// the refused one can no longer land.
		s.call(t, "POST", "/v1/tms/usermfa", s.admin("test"), map[string]any{"tenant": "test", "tms_user_id": "next", "ttl_minutes": 5}).want(t, 201)
		s.call(t, "DELETE", "/v1/tms/usermfa/del/next", s.admin("test"), nil).want(t, 200)
		s.wantUnchanged(t, before)
	})
}

// lockDatabase makes the stack's database wait: on SQLite it holds the
// write lock from another connection, on PostgreSQL an exclusive lock on
// the tenants table, which every authorized request reads. It returns the
// function that releases the lock.
func lockDatabase(t *testing.T, s *stack) (unlock func()) {
	t.Helper()
	ctx := testContext(t)
	if s.pgURL != "" {
		conn := pgtest.Connect(t, s.pgURL)
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatalf("begin: %v", err)
		}
		if _, err := tx.Exec(ctx, `LOCK TABLE tenants IN ACCESS EXCLUSIVE MODE`); err != nil {
			t.Fatalf("lock tenants: %v", err)
		}
		return releaseOnce(t, func() error { return tx.Rollback(ctx) })
	}
	db, err := sql.Open("sqlite", "file:"+s.sqlitePath)
	if err != nil {
		t.Fatalf("open %s: %v", s.sqlitePath, err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatalf("connect to %s: %v", s.sqlitePath, err)
	}
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatalf("take the write lock: %v", err)
	}
	return releaseOnce(t, func() error {
		_, err := conn.ExecContext(ctx, `ROLLBACK`)
		return errors.Join(err, conn.Close())
	})
}

// releaseOnce returns a function that calls release the first time it is
// called, and calls it when the test ends if the test has not, so that a
// failed test does not leave the database locked.
func releaseOnce(t *testing.T, release func() error) func() {
	var once sync.Once
	unlock := func() {
		once.Do(func() {
			if err := release(); err != nil {
				t.Errorf("release the database lock: %v", err)
			}
		})
	}
	t.Cleanup(unlock)
	return unlock
}

// TestPostgresPoolExhausted: with every pooled connection taken, each route
// family answers 503 with Retry-After quickly, never 400, 401 or 403; when
// the connections come back, everything works again.
func TestPostgresPoolExhausted(t *testing.T) {
	pgtest.URL(t)
	const conns = 2
	s := newStack(t, backends[1], stackOptions{
		Postgres: postgres.Options{MaxConns: conns, AcquireTimeout: 200 * time.Millisecond, StatementTimeout: time.Minute},
		API:      api.Options{RequestTimeout: time.Minute},
	})
	pool := s.Store.(*readcache.Store).Backend().(*postgres.DB)
	unlock := lockDatabase(t, s)
	// These requests wait for the lock, each holding a pooled connection.
	held := make(chan reply, conns)
	for range conns {
		go func() {
			r, err := s.send(context.Background(), "GET", "/v1/tms/client/testclient1", testClient(), nil)
			if err != nil {
				t.Error(err)
			}
			held <- r
		}()
	}
	clocktest.Eventually(t, "every pooled connection is taken", func() bool { return pool.PoolStats().AcquiredConns == conns })

	for _, req := range familyRequests(s) {
		t.Run(req.method+" "+req.path, func(t *testing.T) {
			start := time.Now()
			r := s.call(t, req.method, req.path, req.h, req.body)
			t.Logf("answered %d after %v", r.Status, time.Since(start).Round(time.Millisecond))
			wantUnavailable(t, r)
		})
	}

	unlock()
	for range conns {
		(<-held).want(t, 200)
	}
	for _, req := range familyRequests(s) {
		if r := s.call(t, req.method, req.path, req.h, req.body); r.Status >= 500 {
			t.Errorf("%s %s after the pool recovered: %d %s", req.method, req.path, r.Status, r.Raw)
		}
	}
}

// TestSQLiteWriteQueueFull: with the writer stuck behind a lock and its
// queue full, writes are refused at once with 503 and Retry-After; those
// refused are not written later.
func TestSQLiteWriteQueueFull(t *testing.T) {
	const n = 5
	s := newStack(t, backends[0], stackOptions{
		SQLite: sqlite.Options{WriteQueue: 1, MaxBatch: 1, BusyTimeout: time.Minute},
		API:    api.Options{RequestTimeout: time.Minute},
	})
	before := s.snapshot(t)
	unlock := lockDatabase(t, s)
	replies := make(chan reply, n)
	for i := range n {
		go func() {
			r, err := s.send(context.Background(), "POST", "/v1/tms/usermfa", s.admin("test"),
				map[string]any{"tenant": "test", "tms_user_id": fmt.Sprintf("queued%d", i), "ttl_minutes": 5})
			if err != nil {
				t.Error(err)
			}
			replies <- r
		}()
	}
	// The writer holds one write (batches of one) and the queue one more:
	// at least three are refused while the lock is still held.
	for range n - 2 {
		select {
		case r := <-replies:
			wantUnavailable(t, r)
		case <-time.After(30 * time.Second):
			t.Fatal("writes were not refused while the writer was stuck")
		}
	}
	unlock()
	created := 0
	for range 2 {
		r := <-replies
		switch r.Status {
		case 201:
			created++
		case 503:
		default:
			t.Fatalf("after the lock: status %d: %s", r.Status, r.Raw)
		}
	}
	mfa := s.snapshot(t).UserMFA["test"]
	if got := len(mfa) - len(before.UserMFA["test"]); got != created || created == 0 {
		t.Fatalf("%d MFA records written for %d acknowledged writes (want equal, at least one)", got, created)
	}
}

// TestSQLiteClosedStore: a store closed under the running server answers
// every route family with 503 and Retry-After.
func TestSQLiteClosedStore(t *testing.T) {
	s := newStack(t, backends[0], stackOptions{})
	// Warm the caches first: cached answers must not hide the closed store.
	for _, req := range familyRequests(s) {
		s.call(t, req.method, req.path, req.h, req.body)
	}
	s.closeStore(t)
	for _, req := range familyRequests(s) {
		t.Run(req.method+" "+req.path, func(t *testing.T) {
			wantUnavailable(t, s.call(t, req.method, req.path, req.h, req.body))
		})
	}
}

// TestSQLiteCloseDuringWrites: closing the store while writes wait for the
// writer lets them finish; every write acknowledged is in the database
// afterwards, and later requests get 503.
func TestSQLiteCloseDuringWrites(t *testing.T) {
	const n = 2
	s := newStack(t, backends[0], stackOptions{SQLite: sqlite.Options{BusyTimeout: time.Minute, MaxBatch: 1}, API: api.Options{RequestTimeout: time.Minute}})
	db := s.Store.(*readcache.Store).Backend().(*sqlite.DB)
	unlock := lockDatabase(t, s)
	replies := make(chan reply, n)
	for i := range n {
		go func() {
			r, err := s.send(context.Background(), "POST", "/v1/tms/usermfa", s.admin("test"),
				map[string]any{"tenant": "test", "tms_user_id": fmt.Sprintf("inflight%d", i), "ttl_minutes": 5})
			if err != nil {
				t.Error(err)
			}
			replies <- r
		}()
	}
	// The writer is stuck on the first write, so the second stays queued
	// (batches of one: otherwise both may be taken into the stuck batch).
	clocktest.Eventually(t, "a write is queued", func() bool { return db.WriterStats().Queued >= 1 })
	closed := make(chan error, 1)
	go func() {
		s.storeClosed.Store(true)
		closed <- db.Close()
	}()
	clocktest.Eventually(t, "the store refuses new writes", func() bool {
		// A write sent before Close queues behind the lock: give up on it
		// soon; the writer then skips it.
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		r, err := s.send(ctx, "POST", "/v1/tms/hosts", s.admin("test"), map[string]any{"tenant": "test", "host": "h", "addr": "a"})
		return err == nil && r.Status == http.StatusServiceUnavailable
	})
	unlock()
	if err := <-closed; err != nil {
		t.Fatalf("close: %v", err)
	}
	acknowledged := map[string]bool{}
	for range n {
		r := <-replies
		if r.Status == http.StatusCreated {
			acknowledged[r.str(t, "tms_user_id")] = true
		} else {
			wantUnavailable(t, r)
		}
	}
	if len(acknowledged) == 0 {
		t.Fatal("no write in flight at Close was acknowledged")
	}
	for _, req := range familyRequests(s) {
		wantUnavailable(t, s.call(t, req.method, req.path, req.h, req.body))
	}

	reopened, err := sqlite.Open(testContext(t), sqlite.Options{Path: s.sqlitePath})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer reopened.Close()
	list, err := reopened.ListUserMFA(testContext(t), "test")
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, m := range list {
		stored[m.TMSUserID] = true
	}
	for user := range acknowledged {
		if !stored[user] {
			t.Errorf("acknowledged write of %s is not in the database", user)
		}
	}
	for i := range n {
		user := fmt.Sprintf("inflight%d", i)
		if stored[user] && !acknowledged[user] {
			t.Errorf("%s was written although the request was refused", user)
		}
	}
}
