package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/tms"
)

func TestUserAdministration(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{})
		admin := s.admin("test")

		r := s.call(t, "POST", "/v1/tms/users", admin, map[string]any{"username": "alice", "password": "alice password"}).want(t, 201)
		if r.str(t, "username") != "alice" || r.str(t, "tenant") != "test" || r.str(t, "totp") != "none" || !jsonBool(t, r.JSON, "enabled") ||
			r.str(t, "origin") != "local" {
			t.Fatalf("create user answered %s", r.Raw)
		}
		if strings.Contains(string(r.Raw), "argon2") || strings.Contains(string(r.Raw), "password") {
			t.Fatalf("create user answered with the password or its hash: %s", r.Raw)
		}
		s.call(t, "POST", "/v1/tms/users", admin, map[string]any{"tenant": "test", "username": "bob", "password": "bob password"}).want(t, 201)

		for _, tc := range []struct {
			name   string
			h      hdr
			body   any
			status int
			parts  []string
		}{
			{"duplicate", admin, map[string]any{"username": "alice", "password": "alice password"}, 409, []string{"alice", "already exists"}},
			{"bad username", admin, map[string]any{"username": "al ice", "password": "alice password"}, 400, []string{"username:"}},
			{"short password", admin, map[string]any{"username": "carol", "password": "short"}, 400, []string{"password:", "at least 8"}},
			{"missing password", admin, map[string]any{"username": "carol"}, 400, []string{"password:", "missing"}},
			{"password not a string", admin, map[string]any{"username": "carol", "password": 12345678}, 400, []string{"password:"}},
			{"other tenant in the body", admin, map[string]any{"tenant": "default", "username": "carol", "password": "carol password"}, 403, []string{"(test)", "(default)"}},
			{"wrong secret", admin.with("X-TMS-ADMIN-SECRET", "nope"), map[string]any{"username": "carol", "password": "carol password"}, 401, []string{"NOT AUTHORIZED"}},
			{"a client", testClient(), map[string]any{"username": "carol", "password": "carol password"}, 401, []string{"NOT AUTHORIZED"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s.call(t, "POST", "/v1/tms/users", tc.h, tc.body).wantError(t, tc.status, tc.parts...)
			})
		}

		r = s.call(t, "GET", "/v1/tms/users/list", admin, nil).want(t, 200)
		list := r.list(t, "users")
		if r.int(t, "num_users") != 2 || jsonString(t, list[0], "username") != "alice" || jsonString(t, list[1], "username") != "bob" {
			t.Fatalf("list users answered %s", r.Raw)
		}
		s.call(t, "GET", "/v1/tms/users/list", s.admin("default"), nil).want(t, 200)

		r = s.call(t, "POST", "/v1/tms/users/alice/totp", admin, nil).want(t, 201)
		secret, uri := r.str(t, "secret"), r.str(t, "otpauth_uri")
		if _, err := tms.TOTPCode(secret, s.Clock.Now()); err != nil || !strings.HasPrefix(uri, "otpauth://totp/TMS%20test:alice?") ||
			!strings.Contains(uri, "secret="+secret) {
			t.Fatalf("provision TOTP answered %s", r.Raw)
		}
		s.call(t, "POST", "/v1/tms/users/nobody/totp", admin, nil).wantError(t, 404, "nobody")
		r = s.call(t, "GET", "/v1/tms/users/alice", admin, nil).want(t, 200)
		if r.str(t, "totp") != "enrolled" || strings.Contains(string(r.Raw), secret) {
			t.Fatalf("get user answered %s", r.Raw)
		}
		s.call(t, "GET", "/v1/tms/users/nobody", admin, nil).wantError(t, 404, "nobody")

		r = s.call(t, "PATCH", "/v1/tms/users/upd", admin, map[string]any{"username": "bob", "enabled": false, "password": "new bob password"}).want(t, 200)
		if r.int(t, "fields_updated") != 2 {
			t.Fatalf("update answered %s", r.Raw)
		}
		u, err := s.Store.GetUser(testContext(t), "test", "bob")
		if err != nil || u.Enabled {
			t.Fatalf("bob after the update: %+v %v", u, err)
		}
		s.call(t, "PATCH", "/v1/tms/users/upd", admin, map[string]any{"username": "nobody", "enabled": true}).wantError(t, 404, "nobody")
		s.call(t, "PATCH", "/v1/tms/users/upd", admin, map[string]any{"username": "bob", "password": "short"}).wantError(t, 400, "password:")
		s.call(t, "PATCH", "/v1/tms/users/upd", admin, map[string]any{"username": "bob", "enabled": "yes"}).wantError(t, 400, "enabled:")

		r = s.call(t, "DELETE", "/v1/tms/users/del/bob", admin, nil).want(t, 200)
		if r.int(t, "num_deleted") != 1 {
			t.Fatalf("delete answered %s", r.Raw)
		}
		r = s.call(t, "DELETE", "/v1/tms/users/del/bob", admin, nil).want(t, 200)
		if r.int(t, "num_deleted") != 0 || !strings.Contains(r.str(t, "result_msg"), "NOT FOUND") {
			t.Fatalf("second delete answered %s", r.Raw)
		}
	})
}

func TestOAuthClientAdministration(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{})
		admin := s.admin("test")
		r := s.call(t, "POST", "/v1/tms/oauthclients", admin, map[string]any{"client_id": "desktop", "app_name": "Desktop app", "app_version": "2.0"}).want(t, 201)
		if r.str(t, "client_id") != "desktop" || jsonBool(t, r.JSON, "builtin") {
			t.Fatalf("create public client answered %s", r.Raw)
		}
		s.call(t, "POST", "/v1/tms/oauthclients", admin, map[string]any{"client_id": "desktop", "app_name": "Other", "app_version": "1"}).wantError(t, 409, "desktop")
		s.call(t, "POST", "/v1/tms/oauthclients", admin, map[string]any{"client_id": "x", "app_name": "X", "app_version": "one"}).wantError(t, 400, "app_version:")
		r = s.call(t, "GET", "/v1/tms/oauthclients/list", admin, nil).want(t, 200)
		list := r.list(t, "clients")
		if len(list) != 2 || jsonString(t, list[0], "client_id") != "desktop" || jsonString(t, list[1], "client_id") != tms.CLIClientID ||
			!jsonBool(t, list[1], "builtin") {
			t.Fatalf("list public clients answered %s", r.Raw)
		}
		// A public client cannot authenticate with a secret.
		s.call(t, "GET", "/v1/tms/client/desktop", clientHdr("test", "desktop", tms.TestClientSecret), nil).wantError(t, 401, "NOT AUTHORIZED")
		// It is deleted like any client.
		s.call(t, "DELETE", "/v1/tms/client/del/desktop", admin, nil).want(t, 200)
		r = s.call(t, "GET", "/v1/tms/oauthclients/list", admin, nil).want(t, 200)
		if r.int(t, "num_clients") != 1 {
			t.Fatalf("list after delete answered %s", r.Raw)
		}
	})
}

// userToken signs the test tenant's development user in through the device
// flow of the service and returns an access token of tms-cli.
func userToken(t *testing.T, s *stack) string {
	t.Helper()
	ctx := testContext(t)
	user, err := s.Svc.EnsureDevUser(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	g, err := s.Svc.StartDeviceAuthorization(ctx, tms.DeviceRequest{Tenant: tms.TestTenant, ClientID: tms.CLIClientID})
	if err != nil {
		t.Fatal(err)
	}
	otp, err := tms.TOTPCode(user.TOTPSecret, s.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Svc.SignInForDevice(ctx, tms.SignIn{UserCode: g.UserCode, Username: user.Username, Password: user.Password,
		OTP: otp, SessionHash: "session"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Svc.DecideDevice(ctx, tms.Decision{UserCode: g.UserCode, SessionHash: "session", Approve: true, Days: "2"}); err != nil {
		t.Fatal(err)
	}
	tok, err := s.Svc.PollDeviceToken(ctx, tms.DevicePoll{ClientID: tms.CLIClientID, DeviceCode: g.DeviceCode, Style: store.PollBody})
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

func TestUserAPI(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{})
		token := userToken(t, s)
		user := hdr{"Authorization": "Bearer " + token}

		r := s.call(t, "GET", "/v1/tms/user/me", hdr{}, nil)
		r.wantError(t, 401, "bearer")
		if r.Header.Get("WWW-Authenticate") != `Bearer realm="tms"` {
			t.Errorf("WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
		}
		r = s.call(t, "GET", "/v1/tms/user/me", hdr{"Authorization": "Bearer tmsat_nope"}, nil)
		r.wantError(t, 401, "unknown")
		if !strings.Contains(r.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
		}
		s.call(t, "GET", "/v1/tms/user/me", testClient(), nil).wantError(t, 401)

		r = s.call(t, "GET", "/v1/tms/user/me", user, nil).want(t, 200)
		if r.str(t, "username") != tms.TestUser || r.str(t, "tenant") != tms.TestTenant || r.str(t, "client_id") != tms.CLIClientID ||
			!jsonBool(t, r.JSON, "mfa_enabled") || r.str(t, "mfa_expires_at") == "" || r.str(t, "delegation_expires_at") == "" {
			t.Fatalf("user/me answered %s", r.Raw)
		}

		keyBody := map[string]any{"host": tms.TestHost, "host_account": tms.TestHostAccount, "num_uses": 3, "ttl_minutes": 60}
		r = s.call(t, "POST", "/v1/tms/user/keys", user, keyBody).want(t, 201)
		fp := r.str(t, "public_key_fingerprint")
		if !strings.HasPrefix(r.str(t, "private_key"), "-----BEGIN OPENSSH PRIVATE KEY-----") || r.str(t, "max_uses") != "3" {
			t.Fatalf("create user key answered %s", r.Raw)
		}
		s.retrieve(t, tms.TestHostAccount, tms.TestHost, fp).want(t, 200)

		s.call(t, "POST", "/v1/tms/user/keys", user, map[string]any{"host": tms.TestHost, "host_account": "root", "num_uses": 1, "ttl_minutes": 1}).
			wantError(t, 403, "user host record not found")
		s.call(t, "POST", "/v1/tms/user/keys", user, map[string]any{"host": tms.TestHost, "host_account": tms.TestHostAccount}).wantError(t, 400, "num_uses:")
		s.call(t, "POST", "/v1/tms/user/keys", user, map[string]any{"host": tms.TestHost, "host_account": tms.TestHostAccount, "num_uses": 1,
			"ttl_minutes": 1, "key_type": "dsa"}).wantError(t, 400, "key_type:")
		s.call(t, "POST", "/v1/tms/user/keys", hdr{}, keyBody).wantError(t, 401)

		r = s.call(t, "GET", "/v1/tms/user/keys", user, nil).want(t, 200)
		if r.int(t, "num_pubkeys") != 1 || jsonString(t, r.list(t, "pubkeys")[0], "public_key_fingerprint") != fp {
			t.Fatalf("list user keys answered %s", r.Raw)
		}

		path := "/v1/tms/user/keys/" + url.PathEscape(fp)
		s.call(t, "DELETE", path, user, nil).wantError(t, 400, "host:")
		s.call(t, "DELETE", "/v1/tms/user/keys/SHA256:nope?host="+tms.TestHost, user, nil).wantError(t, 404, "SHA256:nope")
		r = s.call(t, "DELETE", path+"?host="+tms.TestHost, user, nil).want(t, 200)
		if r.int(t, "num_deleted") != 1 {
			t.Fatalf("delete user key answered %s", r.Raw)
		}
		s.retrieve(t, tms.TestHostAccount, tms.TestHost, fp).wantError(t, 404)

		r = s.call(t, "GET", "/v1/tms/user/delegations", user, nil).want(t, 200)
		if r.int(t, "num_delegations") != 2 { // testclient1 from the test data, and tms-cli
			t.Fatalf("list delegations answered %s", r.Raw)
		}
		s.call(t, "DELETE", "/v1/tms/user/delegations/nope", user, nil).wantError(t, 404, "nope")
		s.call(t, "DELETE", "/v1/tms/user/delegations/"+tms.CLIClientID, user, nil).want(t, 200)
		s.call(t, "GET", "/v1/tms/user/me", user, nil).wantError(t, http.StatusUnauthorized, "revoked")
	})
}
