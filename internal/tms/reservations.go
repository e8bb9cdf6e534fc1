package tms

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/tmsproject/tms/internal/store"
)

// maxReservationMinutes caps a reservation at 48 hours.
const maxReservationMinutes = 2880

// ReservationRequest reserves a key for a user.
type ReservationRequest struct {
	ClientUserID string
	Host         string
	Fingerprint  string
	TTLMinutes   int64
}

// CreateReservation records that the calling client reserves its key for
// a user. The key must have uses left, be unexpired, and its dependencies
// must hold.
func (s *Service) CreateReservation(ctx context.Context, c Credentials, req ReservationRequest) (store.Reservation, error) {
	if err := checkTexts("client_user_id", req.ClientUserID, "host", req.Host, "public_key_fingerprint", req.Fingerprint); err != nil {
		return store.Reservation{}, err
	}
	p, err := s.authKey(ctx, c, "create reservations")
	if err != nil {
		return store.Reservation{}, err
	}
	key, err := s.store.FindPubkey(ctx, store.PubkeyKey{Tenant: p.Tenant, ClientID: p.ID, Host: req.Host, Fingerprint: req.Fingerprint})
	if errors.Is(err, store.ErrNotFound) {
		return store.Reservation{}, newError(KindNotFound, "NOT FOUND: No pubkey for client %s@%s on host %s with fingerprint %s.",
			p.ID, p.Tenant, req.Host, req.Fingerprint)
	}
	if err != nil {
		return store.Reservation{}, storeError(err, "find key")
	}
	now := s.now()
	deps, err := s.store.Dependencies(ctx, p.Tenant, p.ID, req.ClientUserID, req.Host, key.HostAccount)
	if err != nil {
		return store.Reservation{}, storeError(err, "check dependencies")
	}
	ks := store.KeyState{Key: key, Deps: deps}
	if r := creationRule.refusal(ks, now); r != "" {
		keyReq := KeyRequest{ClientUserID: req.ClientUserID, Host: req.Host, HostAccount: key.HostAccount}
		return store.Reservation{}, refusalError(r, ks, p.Tenant, p.ID, keyReq)
	}
	minutes := int64(maxReservationMinutes)
	if req.TTLMinutes >= 0 {
		minutes = min(req.TTLMinutes, maxReservationMinutes)
	}
	id := newResID()
	r := store.Reservation{ResID: id, ParentResID: id, Tenant: p.Tenant, ClientID: p.ID, ClientUserID: req.ClientUserID,
		Host: req.Host, Fingerprint: req.Fingerprint, ExpiresAt: addMinutes(now, minutes), Created: now, Updated: now}
	if err := s.store.CreateReservation(ctx, r); err != nil {
		return store.Reservation{}, storeError(err, "create reservation")
	}
	return r, nil
}

// ExtensionRequest adds a child reservation to a top-level reservation.
type ExtensionRequest struct {
	ClientUserID string
	Host         string
	Fingerprint  string
	ParentResID  string
}

// ExtendReservation creates a child of a top-level reservation of the
// calling client, sharing the parent's expiry.
func (s *Service) ExtendReservation(ctx context.Context, c Credentials, req ExtensionRequest) (store.Reservation, error) {
	if err := checkTexts("client_user_id", req.ClientUserID, "host", req.Host, "public_key_fingerprint", req.Fingerprint,
		"parent_resid", req.ParentResID); err != nil {
		return store.Reservation{}, err
	}
	p, err := s.authKey(ctx, c, "extend reservations")
	if err != nil {
		return store.Reservation{}, err
	}
	parent, err := s.store.GetReservation(ctx, p.Tenant, req.ParentResID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && parent.ClientID != p.ID) {
		return store.Reservation{}, newError(KindNotFound, "Missing or expired dependency: NOT_FOUND: Reservation %s not found for client %s in tenant %s.",
			req.ParentResID, p.ID, p.Tenant)
	}
	if err != nil {
		return store.Reservation{}, storeError(err, "get reservation")
	}
	now := s.now()
	forbidden := func(format string, args ...any) (store.Reservation, error) {
		return store.Reservation{}, newError(KindForbidden, "Missing or expired dependency: "+format, args...)
	}
	if parent.ParentResID != parent.ResID {
		return forbidden("Reservation %s is itself an extension of %s; extend the top-level reservation.", parent.ResID, parent.ParentResID)
	}
	if parent.ExpiresAt.Before(now) {
		return forbidden("Reservation %s expired at %s.", parent.ResID, fmtTime(parent.ExpiresAt))
	}
	if _, err := s.store.GetUserMFA(ctx, p.Tenant, req.ClientUserID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return forbidden("Required user MFA record not found for user ID %s in tenant %s.", req.ClientUserID, p.Tenant)
		}
		return store.Reservation{}, storeError(err, "get user MFA record")
	}
	key, err := s.store.FindPubkey(ctx, store.PubkeyKey{Tenant: p.Tenant, ClientID: p.ID, Host: req.Host, Fingerprint: req.Fingerprint})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return forbidden("No pubkey for client %s@%s on host %s with fingerprint %s.", p.ID, p.Tenant, req.Host, req.Fingerprint)
		}
		return store.Reservation{}, storeError(err, "find key")
	}
	if _, err := s.store.FindUserHost(ctx, store.UserHostKey{Tenant: p.Tenant, TMSUserID: req.ClientUserID, Host: req.Host, HostAccount: key.HostAccount}); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return forbidden("Required user host record not found for user %s@%s with account %s on host %s.", req.ClientUserID, p.Tenant, key.HostAccount, req.Host)
		}
		return store.Reservation{}, storeError(err, "find user host mapping")
	}
	if _, err := s.store.FindDelegation(ctx, store.DelegationKey{Tenant: p.Tenant, ClientID: p.ID, ClientUserID: req.ClientUserID}); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return forbidden("Required delegation record not found for client %s and client_user_id %s in tenant %s.", p.ID, req.ClientUserID, p.Tenant)
		}
		return store.Reservation{}, storeError(err, "find delegation")
	}
	r := store.Reservation{ResID: newResID(), ParentResID: parent.ResID, Tenant: p.Tenant, ClientID: p.ID, ClientUserID: req.ClientUserID,
		Host: req.Host, Fingerprint: req.Fingerprint, ExpiresAt: parent.ExpiresAt, Created: now, Updated: now}
	if err := s.store.CreateReservation(ctx, r); err != nil {
		return store.Reservation{}, storeError(err, "create reservation")
	}
	return r, nil
}

// GetReservation returns a reservation of the client in the path.
func (s *Service) GetReservation(ctx context.Context, c Credentials, clientID, resID string) (store.Reservation, error) {
	if _, err := s.authClientPath(ctx, c, allowEither, clientID, "get reservations"); err != nil {
		return store.Reservation{}, err
	}
	r, err := s.store.GetReservation(ctx, c.Tenant, resID)
	if err == nil && r.ClientID != clientID {
		return store.Reservation{}, newError(KindNotFound, notFound)
	}
	return r, storeError(err, "get reservation")
}

// DeleteReservation deletes a reservation of the client in the path.
func (s *Service) DeleteReservation(ctx context.Context, c Credentials, clientID, resID string) (int64, error) {
	if _, err := s.authClientPath(ctx, c, allowEither, clientID, "delete reservations"); err != nil {
		return 0, err
	}
	n, err := s.store.DeleteReservation(ctx, c.Tenant, clientID, resID)
	return n, storeError(err, "delete reservation")
}

// DeleteRelatedReservations deletes a reservation and its extensions.
func (s *Service) DeleteRelatedReservations(ctx context.Context, c Credentials, clientID, resID string) (int64, error) {
	if _, err := s.authClientPath(ctx, c, allowEither, clientID, "delete reservations"); err != nil {
		return 0, err
	}
	n, err := s.store.DeleteRelatedReservations(ctx, c.Tenant, clientID, resID)
	return n, storeError(err, "delete reservations")
}

// newResID returns a random UUID version 4 in lowercase hyphenated form.
func newResID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
