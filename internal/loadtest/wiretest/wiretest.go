// Package wiretest runs a small HTTP server that speaks the part of the TMS
// wire contract the load-testing suite drives: version, client get, key
// creation and key retrieval, plus Prometheus metrics. It issues real
// ed25519 keys and keeps them in memory. It is a test fixture, not a TMS
// server: it has one tenant and one client, and no storage.
package wiretest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// Options shape the fixture's behaviour. The zero value is a healthy server
// with the development server's test tenant and client.
type Options struct {
	// Tenant, ClientID and ClientSecret are the one tenant and client the
	// server knows; they default to test, testclient1 and secret1.
	Tenant       string
	ClientID     string
	ClientSecret string
	// TenantDisabled makes every tenant-checked request answer 400
	// "Tenant not enabled.".
	TenantDisabled bool
	// RefuseKeys makes key creation answer 403 for a missing delegation.
	RefuseKeys bool
	// Latency delays every API response.
	Latency time.Duration
	// AnswerLimit, when positive, is how many API requests the server
	// answers; after that it stops answering, and requests hang until the
	// client gives up or the server closes.
	AnswerLimit int64
	// OverloadEvery, when positive, answers every n-th API request with 503
	// and Retry-After.
	OverloadEvery int64
	// Metrics serves /metrics with process_resident_memory_bytes.
	Metrics bool
	// TLS serves HTTPS with a certificate no system trusts.
	TLS bool
}

// Seen is a request as the server received it.
type Seen struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// Server is a running fixture.
type Server struct {
	// URL is the server's base URL.
	URL string

	opts     Options
	srv      *httptest.Server
	requests atomic.Int64
	closing  chan struct{}

	mu    sync.Mutex
	keys  map[keyID]string
	seen  map[string]Seen
	count map[string]int64
}

type keyID struct{ account, host, fingerprint string }

// Route names, as used by Count and First.
const (
	RouteVersion   = "version"
	RouteClient    = "client"
	RouteCreateKey = "createkey"
	RouteRetrieve  = "retrieve"
)

// Start runs a fixture until the test ends.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	if opts.Tenant == "" {
		opts.Tenant = "test"
	}
	if opts.ClientID == "" {
		opts.ClientID = "testclient1"
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "secret1"
	}
	s := &Server{
		opts:    opts,
		closing: make(chan struct{}),
		keys:    map[keyID]string{},
		seen:    map[string]Seen{},
		count:   map[string]int64{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/tms/version", s.api(RouteVersion, s.version))
	mux.HandleFunc("GET /v1/tms/client/{id}", s.api(RouteClient, s.client))
	mux.HandleFunc("POST /v1/tms/pubkeys/creds", s.api(RouteCreateKey, s.createKey))
	mux.HandleFunc("POST /v1/tms/pubkeys/creds/retrieve", s.api(RouteRetrieve, s.retrieve))
	if opts.Metrics {
		mux.HandleFunc("GET /metrics", s.metrics)
	}
	if opts.TLS {
		s.srv = httptest.NewTLSServer(mux)
	} else {
		s.srv = httptest.NewServer(mux)
	}
	s.URL = s.srv.URL
	tb.Cleanup(s.Close)
	return s
}

// Close releases hanging requests and stops the server.
func (s *Server) Close() {
	select {
	case <-s.closing:
		return
	default:
	}
	close(s.closing)
	s.srv.Close()
}

// CACertPEM returns the PEM certificate a client must trust to reach a TLS
// fixture.
func (s *Server) CACertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}

// Count returns how many requests a route received.
func (s *Server) Count(route string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count[route]
}

// First returns the first request a route received.
func (s *Server) First(route string) Seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[route]
}

// api wraps a route handler with request accounting, the answer limit, the
// overload simulation and the latency.
func (s *Server) api(route string, h func(w http.ResponseWriter, r *http.Request, body []byte)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return
		}
		s.mu.Lock()
		if _, ok := s.seen[route]; !ok {
			s.seen[route] = Seen{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
		}
		s.count[route]++
		s.mu.Unlock()

		n := s.requests.Add(1)
		if s.opts.AnswerLimit > 0 && n > s.opts.AnswerLimit {
			select {
			case <-r.Context().Done():
			case <-s.closing:
			}
			return
		}
		if s.opts.Latency > 0 {
			select {
			case <-time.After(s.opts.Latency):
			case <-r.Context().Done():
				return
			}
		}
		if s.opts.OverloadEvery > 0 && n%s.opts.OverloadEvery == 0 {
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusServiceUnavailable, "server busy, retry later")
			return
		}
		h(w, r, body)
	}
}

func (s *Server) version(w http.ResponseWriter, _ *http.Request, _ []byte) {
	writeJSON(w, http.StatusOK, map[string]string{"tms_version": "0.3.0", "git_branch": "fixture", "result_code": "0", "result_msg": "success"})
}

// checkClient applies the header, tenant and client-credential checks in
// the order the reference server does, and reports whether they passed.
func (s *Server) checkClient(w http.ResponseWriter, r *http.Request, clientIDFirst bool) bool {
	tenant, hasTenant := r.Header["X-Tms-Tenant"]
	clientID := r.Header.Get("X-TMS-CLIENT-ID")
	switch {
	case clientIDFirst && clientID == "":
		writeError(w, http.StatusBadRequest, "Required 'X-TMS-CLIENT-ID' HTTP header not found")
	case !hasTenant:
		writeError(w, http.StatusBadRequest, "Required 'X-TMS-TENANT' HTTP header not found")
	case tenant[0] != s.opts.Tenant || s.opts.TenantDisabled:
		writeError(w, http.StatusBadRequest, "Tenant not enabled.")
	case clientID != s.opts.ClientID || r.Header.Get("X-TMS-CLIENT-SECRET") != s.opts.ClientSecret:
		writeError(w, http.StatusUnauthorized, fmt.Sprintf("ERROR: NOT AUTHORIZED Credential mismatch for client %s in tenant %s.", clientID, tenant[0]))
	default:
		return true
	}
	return false
}

func (s *Server) client(w http.ResponseWriter, r *http.Request, _ []byte) {
	if !s.checkClient(w, r, false) {
		return
	}
	if r.PathValue("id") != s.opts.ClientID {
		writeError(w, http.StatusForbidden, "ERROR: FORBIDDEN - client id mismatch")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"client_id": s.opts.ClientID, "tenant": s.opts.Tenant, "app_name": "fixture", "enabled": true,
		"result_code": "0", "result_msg": "success",
	})
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		ClientUserID *string `json:"client_user_id"`
		Host         *string `json:"host"`
		HostAccount  *string `json:"host_account"`
		NumUses      *int32  `json:"num_uses"`
		TTLMinutes   *int32  `json:"ttl_minutes"`
		KeyType      *string `json:"key_type"`
	}
	if !decodeBody(w, r, body, &req) {
		return
	}
	if req.ClientUserID == nil || req.Host == nil || req.HostAccount == nil || req.NumUses == nil || req.TTLMinutes == nil {
		writeError(w, http.StatusBadRequest, "parse request payload error: missing field")
		return
	}
	if !s.checkClient(w, r, true) {
		return
	}
	if s.opts.RefuseKeys {
		writeError(w, http.StatusForbidden, fmt.Sprintf("Missing or expired dependency: Required delegation record not found for client %s and client_user_id %s in tenant %s.",
			s.opts.ClientID, *req.ClientUserID, s.opts.Tenant))
		return
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "ERROR: key generation failed")
		return
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "ERROR: key encoding failed")
		return
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		writeError(w, http.StatusInternalServerError, "ERROR: key encoding failed")
		return
	}
	publicKey := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))
	fingerprint := ssh.FingerprintSHA256(sshPub)
	s.mu.Lock()
	s.keys[keyID{*req.HostAccount, *req.Host, fingerprint}] = publicKey
	s.mu.Unlock()
	uses := "2147483647"
	if *req.NumUses >= 0 {
		uses = fmt.Sprint(*req.NumUses)
	}
	writeJSON(w, http.StatusCreated, map[string]string{
		"public_key_fingerprint": fingerprint,
		"public_key":             publicKey,
		"private_key":            string(pem.EncodeToMemory(block)),
		"key_type":               "ed25519",
		"key_bits":               "256",
		"max_uses":               uses,
		"remaining_uses":         uses,
		"expires_at":             "9999-12-31T23:59:59+00:00",
		"result_code":            "0",
		"result_msg":             "success",
	})
}

func (s *Server) retrieve(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		User        *string `json:"user"`
		Host        *string `json:"host"`
		Fingerprint *string `json:"public_key_fingerprint"`
	}
	if !decodeBody(w, r, body, &req) {
		return
	}
	if req.User == nil || req.Host == nil || req.Fingerprint == nil {
		writeError(w, http.StatusBadRequest, "parse request payload error: missing field")
		return
	}
	s.mu.Lock()
	publicKey, ok := s.keys[keyID{*req.User, *req.Host, *req.Fingerprint}]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "NOT_FOUND")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"public_key": publicKey, "result_code": "0", "result_msg": "success"})
}

// metrics serves the process's real memory use as the resident-memory
// gauge.
func (s *Server) metrics(w http.ResponseWriter, _ *http.Request) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintf(w, "# HELP process_resident_memory_bytes Resident memory size in bytes.\n# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %d\n", m.Sys)
}

// decodeBody checks the content type and decodes a JSON body, answering
// the error itself when it cannot.
func decodeBody(w http.ResponseWriter, r *http.Request, body []byte, v any) bool {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		writeError(w, http.StatusBadRequest, "parse request payload error: "+err.Error())
		return false
	}
	return true
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"result_code": fmt.Sprint(status), "result_msg": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may have gone; nothing to do
}
