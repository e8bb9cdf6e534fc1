package api_test

import (
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/secret"
	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/tms"
)

const hostCredentialsPath = "/v1/tms/hosts/credentials"

// hexSecret is the form of every generated secret.
var hexSecret = regexp.MustCompile(`^[0-9a-f]{48}$`)

// createHostCredential creates a credential through the API and returns
// its secret.
func (s *stack) createHostCredential(t *testing.T, tenant, host string) string {
	t.Helper()
	r := s.call(t, "POST", hostCredentialsPath, s.admin(tenant), map[string]any{"tenant": tenant, "host": host}).want(t, 201)
	return r.str(t, "host_secret")
}

// hostCredentials returns the tenant's stored host credentials.
func (s *stack) hostCredentials(t *testing.T, tenant string) []store.HostCredential {
	t.Helper()
	list, err := s.Store.ListHostCredentials(testContext(t), tenant)
	if err != nil {
		t.Fatalf("list host credentials: %v", err)
	}
	return list
}

// retrieveAs asks for a key as a login host that sends the given host
// credential headers (none when hostID is empty).
func (s *stack) retrieveAs(t *testing.T, hostID, hostSecret, account, host, fingerprint string) reply {
	t.Helper()
	h := hdr{}
	if hostID != "" {
		h = h.with("X-TMS-HOST-ID", hostID, "X-TMS-HOST-SECRET", hostSecret)
	}
	return s.call(t, "POST", "/v1/tms/pubkeys/creds/retrieve", h,
		map[string]any{"user": account, "user_uid": "1001", "host": host, "public_key_fingerprint": fingerprint, "key_type": "ssh-ed25519"})
}

func TestHostCredentialRoutes(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{})

		r := s.call(t, "POST", hostCredentialsPath, s.admin("test"), map[string]any{"tenant": "test", "host": "login1"}).want(t, 201)
		wantFields(t, r.JSON, envelopeFields(map[string]string{"tenant": "s", "host": "s", "host_secret": "s"}))
		sec := r.str(t, "host_secret")
		if r.str(t, "tenant") != "test" || r.str(t, "host") != "login1" || !hexSecret.MatchString(sec) {
			t.Fatalf("create answer %s: want tenant test, host login1 and a 48-hex-character secret", r.Raw)
		}
		stored := s.hostCredentials(t, "test")
		if len(stored) != 1 || stored[0].SecretHash != secret.Hash(sec) || !stored[0].Created.Equal(startTime) {
			t.Fatalf("stored credentials %+v: want one with the hash of the secret, created at %v", stored, startTime)
		}
		s.createHostCredential(t, "test", "login2")

		r = s.call(t, "GET", hostCredentialsPath+"/list", s.admin("test"), nil).want(t, 200)
		wantFields(t, r.JSON, envelopeFields(map[string]string{"num_credentials": "i", "credentials": "a"}))
		list := r.list(t, "credentials")
		if r.int(t, "num_credentials") != 2 || len(list) != 2 {
			t.Fatalf("list answer %s: want 2 credentials", r.Raw)
		}
		for i, host := range []string{"login1", "login2"} {
			wantFields(t, list[i], map[string]string{"id": "i", "tenant": "s", "host": "s", "created": "t", "updated": "t"})
			if jsonString(t, list[i], "host") != host || jsonString(t, list[i], "created") != startWire {
				t.Fatalf("credentials[%d] = %v, want host %s created %s", i, list[i], host, startWire)
			}
		}
		r = s.call(t, "GET", hostCredentialsPath+"/list", s.admin("default"), nil).want(t, 200)
		if r.int(t, "num_credentials") != 0 || len(r.list(t, "credentials")) != 0 {
			t.Fatalf("the default tenant lists %s, want no credentials", r.Raw)
		}

		// Each tenant has its own credential for a host name.
		s.createHostCredential(t, "default", "login1")
		s.call(t, "POST", hostCredentialsPath, s.admin("test"), map[string]any{"tenant": "test", "host": "login1"}).
			wantError(t, 409, "login1 already has a credential in tenant test", "delete")

		r = s.call(t, "DELETE", hostCredentialsPath+"/del", s.admin("test"), map[string]any{"tenant": "test", "host": "login1"}).want(t, 200)
		if r.int(t, "num_deleted") != 1 {
			t.Fatalf("delete answer %s: want num_deleted 1", r.Raw)
		}
		r = s.call(t, "DELETE", hostCredentialsPath+"/del", s.admin("test"), map[string]any{"tenant": "test", "host": "login1"}).want(t, 200)
		if r.int(t, "num_deleted") != 0 || r.str(t, "result_msg") != "NOT FOUND - Nothing deleted: credential of host login1 does not exist" {
			t.Fatalf("second delete answer %s: want num_deleted 0 and NOT FOUND", r.Raw)
		}
		if got := s.hostCredentials(t, "default"); len(got) != 1 {
			t.Fatalf("deleting test's credential touched the default tenant's: %+v", got)
		}
	})
}

func TestHostCredentialRoutesRefuseBadRequests(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{})
		s.createHostCredential(t, "test", "login1")
		before := s.hostCredentials(t, "test")
		beforeDefault := s.hostCredentials(t, "default")
		body := map[string]any{"tenant": "test", "host": "login9"}
		tests := []struct {
			name   string
			method string
			path   string
			h      hdr
			body   any
			status int
			parts  []string
		}{
			{"create without a host", "POST", hostCredentialsPath, s.admin("test"), map[string]any{"tenant": "test"}, 400, []string{"host: required field is missing"}},
			{"create with an empty host", "POST", hostCredentialsPath, s.admin("test"), map[string]any{"tenant": "test", "host": ""}, 400, []string{"host: must not be empty"}},
			{"create with a non-ASCII host", "POST", hostCredentialsPath, s.admin("test"), map[string]any{"tenant": "test", "host": "lögin"}, 400, []string{"host:", "printable ASCII", "X-TMS-HOST-ID"}},
			{"create with a padded host", "POST", hostCredentialsPath, s.admin("test"), map[string]any{"tenant": "test", "host": " login9"}, 400, []string{"host:", "leading or trailing spaces"}},
			{"create with a numeric host", "POST", hostCredentialsPath, s.admin("test"), `{"tenant":"test","host":9}`, 400, []string{"host: expected a string"}},
			{"create without content type", "POST", hostCredentialsPath, s.admin("test").with("Content-Type", ""), body, 415, []string{"Content-Type"}},
			{"create as a client", "POST", hostCredentialsPath, testClient(), body, 401, []string{"NOT AUTHORIZED to create host credentials"}},
			{"create with a wrong secret", "POST", hostCredentialsPath, s.admin("test").with("X-TMS-ADMIN-SECRET", "wrong"), body, 401, []string{"NOT AUTHORIZED"}},
			{"create for another tenant", "POST", hostCredentialsPath, s.admin("default"), body, 403, []string{"does not match the tenant in the request body"}},
			{"list as a client", "GET", hostCredentialsPath + "/list", testClient(), nil, 401, []string{"NOT AUTHORIZED to list host credentials"}},
			{"list without a tenant", "GET", hostCredentialsPath + "/list", s.admin("test").with("X-TMS-TENANT", "-"), nil, 400, []string{"X-TMS-TENANT"}},
			{"delete as a client", "DELETE", hostCredentialsPath + "/del", testClient(), map[string]any{"tenant": "test", "host": "login1"}, 401, []string{"NOT AUTHORIZED to delete host credentials"}},
			{"delete for another tenant", "DELETE", hostCredentialsPath + "/del", s.admin("default"), map[string]any{"tenant": "test", "host": "login1"}, 403, []string{"does not match"}},
			{"delete without a host", "DELETE", hostCredentialsPath + "/del", s.admin("test"), map[string]any{"tenant": "test"}, 400, []string{"host: required field is missing"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s.call(t, tt.method, tt.path, tt.h, tt.body).wantError(t, tt.status, tt.parts...)
				if got := s.hostCredentials(t, "test"); !reflect.DeepEqual(got, before) {
					t.Fatalf("the request changed the test tenant's credentials:\nbefore: %+v\nafter:  %+v", before, got)
				}
				if got := s.hostCredentials(t, "default"); !reflect.DeepEqual(got, beforeDefault) {
					t.Fatalf("the request changed the default tenant's credentials: %+v", got)
				}
			})
		}
	})
}

// TestRetrieveRequiresHostCredential checks retrieval on a server that
// requires host credentials: only a valid credential for the host asked
// about, of the key's tenant, gets the key, and nothing else uses it up.
func TestRetrieveRequiresHostCredential(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{RequireHostCredential: true, RepeatWindow: 10 * time.Second})
		key := s.createKey(t, testClient(), keyBody(tms.TestUser, 1, -1))
		fp := key.str(t, "public_key_fingerprint")
		id := s.keyID(t, fp)
		testSecret := s.createHostCredential(t, "test", tms.TestHost)
		otherHostSecret := s.createHostCredential(t, "test", "login2")
		otherTenantSecret := s.createHostCredential(t, "default", tms.TestHost)
		account, host := tms.TestHostAccount, tms.TestHost

		refusals := []struct {
			name               string
			hostID, hostSecret string
			host               string
			status             int
			parts              []string
		}{
			{"no credential", "", "", host, 401, []string{"requires a host credential", "X-TMS-HOST-ID", "X-TMS-HOST-SECRET"}},
			{"id without a secret", host, "", host, 401, []string{"requires a host credential"}},
			{"wrong secret", host, "0123456789abcdef0123456789abcdef0123456789abcdef", host, 401, []string{"no valid host credential for host \"testhost1\""}},
			{"secret of another host", host, otherHostSecret, host, 401, []string{"no valid host credential"}},
			{"credential names another host", "login2", otherHostSecret, host, 401, []string{"credential is for host \"login2\"", "asks about host \"testhost1\""}},
			{"unregistered host", "nohost", testSecret, "nohost", 401, []string{"no valid host credential for host \"nohost\""}},
		}
		for _, tt := range refusals {
			t.Run(tt.name, func(t *testing.T) {
				s.retrieveAs(t, tt.hostID, tt.hostSecret, account, tt.host, fp).wantError(t, tt.status, tt.parts...)
				if n := s.remainingUses(t, id); n != 1 {
					t.Fatalf("remaining uses %d after a refused lookup, want 1", n)
				}
			})
		}
		t.Run("credential of another tenant", func(t *testing.T) {
			s.retrieveAs(t, host, otherTenantSecret, account, host, fp).wantError(t, 404, "NOT_FOUND")
			if n := s.remainingUses(t, id); n != 1 {
				t.Fatalf("remaining uses %d after a lookup with another tenant's credential, want 1", n)
			}
		})
		t.Run("valid credential", func(t *testing.T) {
			r := s.retrieveAs(t, host, testSecret, account, host, fp).want(t, 200)
			if r.str(t, "public_key") != key.str(t, "public_key") {
				t.Fatalf("retrieved %s, want the created key", r.Raw)
			}
			if n := s.remainingUses(t, id); n != 0 {
				t.Fatalf("remaining uses %d after the accepted lookup, want 0", n)
			}
			// Unknown keys stay 404 for an authenticated host.
			s.retrieveAs(t, host, testSecret, account, host, "SHA256:unknown").wantError(t, 404, "NOT_FOUND")
		})
		t.Run("deleted credential", func(t *testing.T) {
			s.call(t, "DELETE", hostCredentialsPath+"/del", s.admin("test"), map[string]any{"tenant": "test", "host": host}).want(t, 200)
			s.retrieveAs(t, host, testSecret, account, host, fp).wantError(t, 401, "no valid host credential")
		})
	})
}

// TestRetrieveIgnoresHostCredentialByDefault checks that a server that does
// not require host credentials answers as tms_server 0.3.0, whatever host
// headers a request carries.
func TestRetrieveIgnoresHostCredentialByDefault(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{RepeatWindow: 10 * time.Second})
		key := s.createKey(t, testClient(), keyBody(tms.TestUser, -1, -1))
		fp := key.str(t, "public_key_fingerprint")
		s.retrieveAs(t, "", "", tms.TestHostAccount, tms.TestHost, fp).want(t, 200)
		s.retrieveAs(t, "otherhost", "not-a-secret", tms.TestHostAccount, tms.TestHost, fp).want(t, 200)
		s.retrieveAs(t, tms.TestHost, "wrong", tms.TestHostAccount, tms.TestHost, fp).want(t, 200)
	})
}

// TestRetrieveKeepsTenantsApart checks that a host registered in a tenant
// (it has a host credential there) gets only that tenant's keys, although
// host credentials are not required, and that a host no tenant registered
// gets keys of any tenant or of none, as configured.
func TestRetrieveKeepsTenantsApart(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		for _, refuse := range []bool{false, true} {
			name := "unregistered hosts accepted"
			if refuse {
				name = "unregistered hosts refused"
			}
			t.Run(name, func(t *testing.T) {
				s := newStack(t, b, stackOptions{MVP: true, RefuseUnregisteredHosts: refuse})
				r := s.call(t, "POST", "/v1/tms/client", s.admin("default"), newClientBody("gateway", "default")).want(t, 201)
				otherClient := clientHdr("default", "gateway", r.str(t, "client_secret"))
				testKey := s.createKey(t, testClient(), keyBody(tms.TestUser, -1, -1)).str(t, "public_key_fingerprint")
				otherKey := s.createKey(t, otherClient, keyBody(tms.TestUser, 1, -1)).str(t, "public_key_fingerprint")
				account, host := tms.TestHostAccount, tms.TestHost

				unregistered := 200
				if refuse {
					unregistered = 404
				}
				s.retrieveAs(t, "", "", account, host, testKey).want(t, unregistered)
				s.retrieveAs(t, "", "", account, "nohost", testKey).want(t, 404)

				// Registered in the test tenant, the host gets no key of
				// the default tenant, whatever host headers it sends, and
				// the refusal uses nothing up.
				s.createHostCredential(t, "test", host)
				s.retrieveAs(t, "", "", account, host, testKey).want(t, 200)
				s.retrieveAs(t, "", "", account, host, otherKey).wantError(t, 404, "NOT_FOUND")
				otherSecret := s.createHostCredential(t, "default", "login2")
				s.retrieveAs(t, "login2", otherSecret, account, host, otherKey).wantError(t, 404, "NOT_FOUND")

				// Registered in both tenants, it gets keys of both; the
				// default tenant's key still has its one use.
				s.createHostCredential(t, "default", host)
				s.retrieveAs(t, "", "", account, host, otherKey).want(t, 200)
				s.retrieveAs(t, "", "", account, host, testKey).want(t, 200)
			})
		}
	})
}
