package client_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/client"
	"github.com/tmsproject/tms/internal/server/servertest"
)

// startServer runs a development server (MVP mode on) and returns a client
// with the test tenant's administrator credentials and one with its client
// credentials.
func startServer(t *testing.T) (admin, app *client.Client) {
	t.Helper()
	srv := servertest.StartDev(t)
	adminSecret := srv.DevEnv(t)["X_TMS_ADMIN_SECRET"]
	opts := client.Options{BaseURL: srv.URL, Timeout: 10 * time.Second}
	admin, err := client.New(opts, client.Credentials{Tenant: "test", AdminID: "~~admin", AdminSecret: adminSecret})
	if err != nil {
		t.Fatal(err)
	}
	app, err = client.New(opts, client.Credentials{Tenant: "test", ClientID: "testclient1", ClientSecret: "secret1"})
	if err != nil {
		t.Fatal(err)
	}
	return admin, app
}

func TestAgainstDevServer(t *testing.T) {
	t.Parallel()
	admin, app := startServer(t)
	ctx := t.Context()

	t.Run("hello and version", func(t *testing.T) {
		if got, err := app.Hello(ctx, "tms"); err != nil || got != "hello, tms!" {
			t.Errorf("Hello: %q, %v", got, err)
		}
		v, err := app.Version(ctx)
		if err != nil || v.TMSVersion == "" || v.ResultCode != "0" {
			t.Errorf("Version: %+v, %v", v, err)
		}
	})

	t.Run("records keep their JSON; enabled is read in both forms", func(t *testing.T) {
		one, err := app.GetClient(ctx, "testclient1")
		if err != nil {
			t.Fatal(err)
		}
		if !bool(one.Enabled) || one.AppName != "testapp1" || !strings.Contains(string(one.Raw()), `"enabled":true`) {
			t.Errorf("GetClient: %+v, raw %s", one, one.Raw())
		}
		list, err := admin.ListClients(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// testclient1, and tms-cli that every tenant has
		if list.NumClients != 2 || !bool(list.Clients[0].Enabled) || !strings.Contains(string(list.Raw()), `"enabled":1`) {
			t.Errorf("ListClients: %+v, raw %s", list, list.Raw())
		}
		if list.Clients[0].Raw() != nil {
			t.Error("a list element has a raw answer")
		}
	})

	t.Run("path values are escaped", func(t *testing.T) {
		// Unescaped, these would not reach the user MFA route at all.
		for _, user := range []string{"a/b", "x y", "100%", "list?x=1"} {
			_, err := admin.GetUserMFA(ctx, user)
			var apiErr *client.Error
			if !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound || apiErr.Message != "NOT_FOUND" {
				t.Errorf("GetUserMFA(%q): %v, want 404 NOT_FOUND", user, err)
			}
		}
	})

	t.Run("error answers", func(t *testing.T) {
		_, err := app.ListUserMFA(ctx)
		var apiErr *client.Error
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized || apiErr.Code != "401" || !strings.Contains(apiErr.Message, "NOT AUTHORIZED") {
			t.Errorf("ListUserMFA with client credentials: %v", err)
		}
	})

	t.Run("key creation and retrieval", func(t *testing.T) {
		k, err := app.CreateKey(ctx, client.KeyRequest{User: "u1", Host: "h1", Account: "a1", NumUses: 2, TTLMinutes: -1})
		if err != nil {
			t.Fatal(err)
		}
		bits, err := k.Bits()
		if err != nil || bits != 256 {
			t.Errorf("Bits: %d, %v", bits, err)
		}
		maxUses, remaining, err := k.Uses()
		if err != nil || maxUses != 2 || remaining != 2 {
			t.Errorf("Uses: %d, %d, %v", maxUses, remaining, err)
		}
		if !client.Never(k.ExpiresAt) {
			t.Errorf("ExpiresAt %v, want never", k.ExpiresAt)
		}
		got, err := app.RetrieveKey(ctx, client.RetrieveRequest{Account: "a1", Host: "h1", Fingerprint: k.Fingerprint})
		if err != nil || got.PublicKey != k.PublicKey {
			t.Errorf("RetrieveKey: %+v, %v", got, err)
		}
		upd, err := app.UpdatePubkey(ctx, client.PubkeyRef{ClientID: "testclient1", Host: "h1", Fingerprint: k.Fingerprint}, client.PubkeyChange{TTLMinutes: new(int64(0))})
		if err != nil || upd.FieldsUpdated != 1 {
			t.Errorf("UpdatePubkey: %+v, %v", upd, err)
		}
		_, err = app.RetrieveKey(ctx, client.RetrieveRequest{Account: "a1", Host: "h1", Fingerprint: k.Fingerprint})
		var apiErr *client.Error
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
			t.Errorf("RetrieveKey of an expired key: %v, want 404", err)
		}
	})
}

func TestBoolAcceptsBothForms(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{"true": true, "1": true, "false": false, "0": false} {
		var b client.Bool
		if err := b.UnmarshalJSON([]byte(in)); err != nil || bool(b) != want {
			t.Errorf("%s: %v, %v", in, b, err)
		}
	}
	var b client.Bool
	if err := b.UnmarshalJSON([]byte(`"yes"`)); err == nil || !strings.Contains(err.Error(), "enabled") {
		t.Errorf(`"yes": %v, want an error naming enabled`, err)
	}
}
