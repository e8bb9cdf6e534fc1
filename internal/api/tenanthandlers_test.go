package api_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/tms"
)

// These tests run the tenant handlers over a fake service: they check what
// a handler does with the request and with the service's answer. The rules
// behind them are tested over real stores in tenants_test.go.

// adminHdr is an administrator's headers with a secret the fake accepts.
func adminHdr(tenant string) hdr {
	return hdr{"X-TMS-TENANT": tenant, "X-TMS-ADMIN-ID": tms.AdminID, "X-TMS-ADMIN-SECRET": "s3cret"}
}

// wantAdmin fails the test unless c carries the credentials of adminHdr.
func wantAdmin(t *testing.T, c tms.Credentials, tenant string) {
	t.Helper()
	if !c.TenantSet || c.Tenant != tenant || c.AdminID != tms.AdminID || c.AdminSecret != "s3cret" || c.ClientSet {
		t.Errorf("service got credentials %+v, want tenant %s's administrator", c, tenant)
	}
}

func TestTenantHandlerCreate(t *testing.T) {
	svc := &fakeService{}
	svc.CreateTenantFn = func(_ context.Context, c tms.Credentials, name string) (tms.AdminSecret, error) {
		wantAdmin(t, c, "default")
		if name != "acme" {
			t.Errorf("service got tenant %q, want the path's acme", name)
		}
		return tms.AdminSecret{Tenant: name, AdminID: tms.AdminID, Secret: "0123"}, nil
	}
	s := newFakeStack(t, svc)
	r := s.call(t, "POST", "/v1/tms/tenants/acme", adminHdr("default"), nil).want(t, 201)
	wantFields(t, r.JSON, envelopeFields(map[string]string{"tenant": "s", "admin_id": "s", "admin_secret": "s", "enabled": "b"}))
	if r.str(t, "tenant") != "acme" || r.str(t, "admin_id") != tms.AdminID || r.str(t, "admin_secret") != "0123" || !jsonBool(t, r.JSON, "enabled") {
		t.Errorf("create answered %s", r.Raw)
	}
}

func TestTenantHandlerGetAndList(t *testing.T) {
	acme := store.Tenant{ID: 7, Name: "acme", Enabled: false, Created: startTime, Updated: startTime.Add(time.Hour)}
	other := store.Tenant{ID: 9, Name: "other", Enabled: true, Created: startTime, Updated: startTime}
	svc := &fakeService{}
	svc.GetTenantFn = func(_ context.Context, name string) (store.Tenant, error) {
		if name != "acme" {
			return store.Tenant{}, &tms.Error{Kind: tms.KindNotFound, Message: "NOT_FOUND: tenant " + name}
		}
		return acme, nil
	}
	svc.ListTenantsFn = func(_ context.Context, c tms.Credentials) ([]store.Tenant, error) {
		wantAdmin(t, c, "default")
		return []store.Tenant{acme, other}, nil
	}
	s := newFakeStack(t, svc)

	// No credentials are needed to read one tenant.
	r := s.call(t, "GET", "/v1/tms/tenants/acme", hdr{}, nil).want(t, 200)
	if r.int(t, "id") != 7 || r.str(t, "tenant") != "acme" || jsonBool(t, r.JSON, "enabled") ||
		r.str(t, "created") != startWire || r.str(t, "updated") != "2026-07-13T19:02:11.123456+00:00" {
		t.Errorf("get answered %s", r.Raw)
	}
	s.call(t, "GET", "/v1/tms/tenants/nosuch", hdr{}, nil).wantError(t, 404, "NOT_FOUND: tenant nosuch")

	r = s.call(t, "GET", "/v1/tms/tenants/list", adminHdr("default"), nil).want(t, 200)
	list := r.list(t, "tenants")
	if r.int(t, "num_tenants") != 2 || len(list) != 2 {
		t.Fatalf("list answered %s, want both tenants", r.Raw)
	}
	// List elements give enabled as 0 or 1, in the service's order.
	for i, want := range []struct {
		name    string
		enabled int64
	}{{"acme", 0}, {"other", 1}} {
		if got := jsonString(t, list[i], "tenant"); got != want.name {
			t.Errorf("element %d is %s, want %s", i, got, want.name)
		}
		if got := jsonInt(t, list[i], "enabled"); got != want.enabled {
			t.Errorf("%s: enabled %d, want %d", want.name, got, want.enabled)
		}
	}
}

func TestTenantHandlerUpdate(t *testing.T) {
	svc := &fakeService{}
	calls := 0
	svc.UpdateTenantFn = func(_ context.Context, c tms.Credentials, tenant string, enabled bool) (int64, error) {
		calls++
		wantAdmin(t, c, "acme")
		if tenant != "acme" || enabled {
			t.Errorf("service got tenant %q enabled %t, want the body's acme and false", tenant, enabled)
		}
		return 1, nil
	}
	s := newFakeStack(t, svc)
	r := s.call(t, "PATCH", "/v1/tms/tenants/upd", adminHdr("acme"), map[string]any{"tenant": "acme", "enabled": false}).want(t, 200)
	if r.int(t, "fields_updated") != 1 || r.str(t, "result_msg") != "1 update(s) to tenant acme completed, enabled = false" {
		t.Errorf("update answered %s", r.Raw)
	}

	// A body the handler cannot use never reaches the service.
	for _, tc := range []struct {
		name   string
		body   any
		status int
		part   string
	}{
		{"missing enabled", map[string]any{"tenant": "acme"}, 400, "enabled"},
		{"null tenant", map[string]any{"tenant": nil, "enabled": true}, 400, "tenant"},
		{"enabled not a boolean", map[string]any{"tenant": "acme", "enabled": "no"}, 400, "enabled"},
		{"not JSON", "{", 400, "request body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := calls
			s.call(t, "PATCH", "/v1/tms/tenants/upd", adminHdr("acme"), tc.body).wantError(t, tc.status, tc.part)
			if calls != before {
				t.Errorf("the service was called for a body the handler refused")
			}
		})
	}
}

func TestTenantHandlerDeleteAndWipe(t *testing.T) {
	svc := &fakeService{}
	var deleted, wiped int64
	svc.DeleteTenantFn = func(_ context.Context, c tms.Credentials, tenant string) (int64, error) {
		wantAdmin(t, c, "acme")
		if tenant != "acme" {
			t.Errorf("delete got tenant %q, want the path's acme", tenant)
		}
		return deleted, nil
	}
	svc.WipeTenantFn = func(_ context.Context, c tms.Credentials, tenant string) (int64, error) {
		wantAdmin(t, c, "acme")
		if tenant != "acme" {
			t.Errorf("wipe got tenant %q, want the path's acme", tenant)
		}
		return wiped, nil
	}
	s := newFakeStack(t, svc)
	for _, tc := range []struct {
		path string
		n    *int64
		set  int64
		msg  string
	}{
		{"/v1/tms/tenants/del/acme", &deleted, 3, "3 deleted: tenant acme"},
		{"/v1/tms/tenants/del/acme", &deleted, 0, "NOT FOUND - Nothing deleted: tenant acme does not exist"},
		{"/v1/tms/tenants/wipe/acme", &wiped, 9, "Tenant acme and dependencies wiped"},
		{"/v1/tms/tenants/wipe/acme", &wiped, 0, "NOT FOUND - Nothing deleted: tenant acme does not exist"},
	} {
		*tc.n = tc.set
		r := s.call(t, "DELETE", tc.path, adminHdr("acme"), nil).want(t, 200)
		if r.int(t, "num_deleted") != tc.set || r.str(t, "result_msg") != tc.msg {
			t.Errorf("DELETE %s with %d rows answered %s, want num_deleted %d and %q", tc.path, tc.set, r.Raw, tc.set, tc.msg)
		}
	}
}

// TestTenantHandlerErrors shows how a handler answers the service's errors:
// a tms.Error with its status and message, anything else as an internal
// error whose cause the client never sees.
func TestTenantHandlerErrors(t *testing.T) {
	var err error
	svc := &fakeService{}
	svc.CreateTenantFn = func(context.Context, tms.Credentials, string) (tms.AdminSecret, error) {
		return tms.AdminSecret{}, err
	}
	s := newFakeStack(t, svc)
	for _, tc := range []struct {
		err    error
		status int
		parts  []string
	}{
		{&tms.Error{Kind: tms.KindInvalid, Message: "tenant: bad"}, 400, []string{"tenant: bad"}},
		{&tms.Error{Kind: tms.KindUnauthorized, Message: "NOT AUTHORIZED"}, 401, []string{"NOT AUTHORIZED"}},
		{&tms.Error{Kind: tms.KindForbidden, Message: "only the 'default' tenant"}, 403, []string{"'default' tenant"}},
		{&tms.Error{Kind: tms.KindConflict, Message: "acme already exists"}, 409, []string{"already exists"}},
		{&tms.Error{Kind: tms.KindUnavailable, Message: "busy"}, 503, []string{"busy"}},
		{errors.New("disk on fire at /var/lib/tms"), 500, []string{"Internal error.", "request id"}},
	} {
		err = tc.err
		r := s.call(t, "POST", "/v1/tms/tenants/acme", adminHdr("default"), nil)
		r.wantError(t, tc.status, tc.parts...)
		if strings.Contains(string(r.Raw), "disk on fire") {
			t.Errorf("the answer shows the internal cause: %s", r.Raw)
		}
		if tc.status == 503 && r.Header.Get("Retry-After") == "" {
			t.Errorf("503 without Retry-After")
		}
	}
}
