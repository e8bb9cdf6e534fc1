package api_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/tms"
)

// uuidV4 is the form of a reservation id.
var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// reservationFields are the fields of a stored reservation.
var reservationFields = envelopeFields(map[string]string{"id": "i", "resid": "s", "parent_resid": "s", "tenant": "s", "client_id": "s",
	"client_user_id": "s", "host": "s", "public_key_fingerprint": "s", "expires_at": "t", "created": "t", "updated": "t"})

func reservationBody(fp string, ttl int) map[string]any {
	return map[string]any{"client_user_id": tms.TestUser, "host": tms.TestHost, "public_key_fingerprint": fp, "ttl_minutes": ttl}
}

func TestReservations(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{})
		w := s.seedWorld(t)
		fp := w.Fingerprint(t)

		r := s.call(t, "POST", "/v1/tms/reservations", testClient(), reservationBody(fp, 30)).want(t, 201)
		wantFields(t, r.JSON, envelopeFields(map[string]string{"resid": "s", "parent_resid": "s", "expires_at": "t"}))
		parent := r.str(t, "resid")
		if !uuidV4.MatchString(parent) || r.str(t, "parent_resid") != parent || r.str(t, "expires_at") != s.wireAfter(30*time.Minute) {
			t.Fatalf("create reservation answered %s", r.Raw)
		}
		s.resIDs["test"] = append(s.resIDs["test"], parent)
		for ttl, want := range map[int]time.Duration{-1: 48 * time.Hour, 5000: 48 * time.Hour, 0: 0} {
			r := s.call(t, "POST", "/v1/tms/reservations", testClient(), reservationBody(fp, ttl)).want(t, 201)
			if got := r.str(t, "expires_at"); got != s.wireAfter(want) {
				t.Errorf("ttl_minutes %d: expires_at %s, want %s", ttl, got, s.wireAfter(want))
			}
			s.resIDs["test"] = append(s.resIDs["test"], r.str(t, "resid"))
		}

		s.Clock.Add(time.Minute)
		ext := map[string]any{"client_user_id": tms.TestUser, "host": tms.TestHost, "public_key_fingerprint": fp, "parent_resid": parent}
		r = s.call(t, "POST", "/v1/tms/reservations/extend", testClient(), ext).want(t, 201)
		child := r.str(t, "resid")
		if !uuidV4.MatchString(child) || child == parent || r.str(t, "parent_resid") != parent || r.str(t, "expires_at") != s.wireAfter(29*time.Minute) {
			t.Fatalf("extend answered %s; the child shares its parent's expiry", r.Raw)
		}
		s.resIDs["test"] = append(s.resIDs["test"], child)

		for _, h := range []hdr{testClient(), s.admin("test")} {
			g := s.call(t, "GET", "/v1/tms/reservations/testclient1/"+child, h, nil).want(t, 200)
			wantFields(t, g.JSON, reservationFields)
			if g.str(t, "parent_resid") != parent || g.str(t, "client_id") != "testclient1" || g.str(t, "created") != s.wireAfter(0) {
				t.Fatalf("get reservation answered %s", g.Raw)
			}
		}
		s.call(t, "GET", "/v1/tms/reservations/testclient1/nosuch", testClient(), nil).wantError(t, 404, "NOT_FOUND")
		// The reservation belongs to testclient1: client2's path does not find it.
		s.call(t, "GET", "/v1/tms/reservations/client2/"+child, w.Client2, nil).wantError(t, 404, "NOT_FOUND")

		r = s.call(t, "DELETE", "/v1/tms/reservations/del/related/testclient1/"+parent, testClient(), nil).want(t, 200)
		if r.int(t, "num_deleted") != 2 {
			t.Fatalf("delete related answered %s, want the parent and its child", r.Raw)
		}
		r = s.call(t, "DELETE", "/v1/tms/reservations/del/testclient1/"+w.ResID, s.admin("test"), nil).want(t, 200)
		if r.int(t, "num_deleted") != 1 {
			t.Fatalf("delete answered %s", r.Raw)
		}
		r = s.call(t, "DELETE", "/v1/tms/reservations/del/testclient1/"+w.ResID, testClient(), nil).want(t, 200)
		if r.int(t, "num_deleted") != 0 {
			t.Fatalf("second delete answered %s", r.Raw)
		}
	})
}

func TestReservationRefusals(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{})
		w := s.seedWorld(t)
		fp := w.Fingerprint(t)
		usedUp := s.createKey(t, testClient(), keyBody(tms.TestUser, 1, -1)).str(t, "public_key_fingerprint")
		s.retrieve(t, tms.TestHostAccount, tms.TestHost, usedUp).want(t, 200)
		expiring := s.createKey(t, testClient(), keyBody(tms.TestUser, -1, 1)).str(t, "public_key_fingerprint")
		r := s.call(t, "POST", "/v1/tms/reservations", testClient(), reservationBody(fp, 1)).want(t, 201)
		shortParent := r.str(t, "resid")
		s.resIDs["test"] = append(s.resIDs["test"], shortParent)
		r = s.call(t, "POST", "/v1/tms/reservations/extend", testClient(),
			map[string]any{"client_user_id": tms.TestUser, "host": tms.TestHost, "public_key_fingerprint": fp, "parent_resid": w.ResID}).want(t, 201)
		child := r.str(t, "resid")
		s.resIDs["test"] = append(s.resIDs["test"], child)
		s.Clock.Add(2 * time.Minute)

		extend := func(parent string) map[string]any {
			return map[string]any{"client_user_id": tms.TestUser, "host": tms.TestHost, "public_key_fingerprint": fp, "parent_resid": parent}
		}
		tests := []struct {
			name   string
			path   string
			h      hdr
			body   map[string]any
			status int
			parts  []string
		}{
			{"unknown key", "/v1/tms/reservations", testClient(), reservationBody("SHA256:nosuch", 5), 404, []string{"No pubkey for client testclient1@test"}},
			{"another client's key", "/v1/tms/reservations", w.Client2, reservationBody(fp, 5), 404, []string{"No pubkey for client client2@test"}},
			{"no uses left", "/v1/tms/reservations", testClient(), reservationBody(usedUp, 5), 403, []string{"no remaining uses"}},
			{"key expired", "/v1/tms/reservations", testClient(), reservationBody(expiring, 5), 403, []string{"expired at"}},
			{"user without MFA", "/v1/tms/reservations", testClient(), with(reservationBody(fp, 5), "client_user_id", "ghost"), 403,
				[]string{"Missing or expired dependency", "ghost", "tms usermfa create"}},
			{"extend an unknown reservation", "/v1/tms/reservations/extend", testClient(), extend("nosuch"), 404, []string{"Reservation nosuch not found"}},
			{"extend another client's reservation", "/v1/tms/reservations/extend", w.Client2, extend(w.ResID), 404, []string{"not found for client client2"}},
			{"extend an extension", "/v1/tms/reservations/extend", testClient(), extend(child), 403, []string{"extension of"}},
			{"extend an expired reservation", "/v1/tms/reservations/extend", testClient(), extend(shortParent), 403, []string{"expired at"}},
			{"extend for a key that does not exist", "/v1/tms/reservations/extend", testClient(),
				with(extend(w.ResID), "public_key_fingerprint", "SHA256:nosuch"), 403, []string{"No pubkey"}},
			{"create with admin credentials", "/v1/tms/reservations", s.admin("test").with("X-TMS-CLIENT-ID", "testclient1"), reservationBody(fp, 5), 401, []string{"NOT AUTHORIZED"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := s.snapshot(t)
				s.call(t, "POST", tc.path, tc.h, tc.body).wantError(t, tc.status, tc.parts...)
				s.wantUnchanged(t, before)
			})
		}
	})
}
