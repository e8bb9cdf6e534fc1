package client

import (
	"context"
	"net/http"
	"time"
)

// Reservation books a key for a user on a host until ExpiresAt. The
// creation and extension answers fill only ResID, ParentResID and
// ExpiresAt.
type Reservation struct {
	Envelope
	ID           int64     `json:"id"`
	ResID        string    `json:"resid"`
	ParentResID  string    `json:"parent_resid"`
	Tenant       string    `json:"tenant"`
	ClientID     string    `json:"client_id"`
	ClientUserID string    `json:"client_user_id"`
	Host         string    `json:"host"`
	Fingerprint  string    `json:"public_key_fingerprint"`
	ExpiresAt    time.Time `json:"expires_at"`
	Created      time.Time `json:"created"`
	Updated      time.Time `json:"updated"`
}

// ReservationRequest asks to reserve one of the client's keys.
type ReservationRequest struct {
	User        string
	Host        string
	Fingerprint string
	// TTLMinutes is capped at 2880 by the server; less than 0 means the cap.
	TTLMinutes int64
}

// ExtensionRequest asks for a reservation that shares the deadline of a
// top-level reservation.
type ExtensionRequest struct {
	User        string
	Host        string
	Fingerprint string
	ParentResID string
}

// CreateReservation reserves a key (POST /v1/tms/reservations). It needs
// client credentials.
func (c *Client) CreateReservation(ctx context.Context, req ReservationRequest) (Reservation, error) {
	body := struct {
		ClientUserID string `json:"client_user_id"`
		Host         string `json:"host"`
		Fingerprint  string `json:"public_key_fingerprint"`
		TTLMinutes   int64  `json:"ttl_minutes"`
	}{req.User, req.Host, req.Fingerprint, req.TTLMinutes}
	return call[Reservation](ctx, c, http.MethodPost, "/v1/tms/reservations", nil, body)
}

// ExtendReservation adds a reservation under a top-level one
// (POST /v1/tms/reservations/extend). It needs client credentials.
func (c *Client) ExtendReservation(ctx context.Context, req ExtensionRequest) (Reservation, error) {
	body := struct {
		ClientUserID string `json:"client_user_id"`
		Host         string `json:"host"`
		Fingerprint  string `json:"public_key_fingerprint"`
		ParentResID  string `json:"parent_resid"`
	}{req.User, req.Host, req.Fingerprint, req.ParentResID}
	return call[Reservation](ctx, c, http.MethodPost, "/v1/tms/reservations/extend", nil, body)
}

// GetReservation returns a reservation
// (GET /v1/tms/reservations/{client_id}/{resid}).
func (c *Client) GetReservation(ctx context.Context, clientID, resID string) (Reservation, error) {
	return call[Reservation](ctx, c, http.MethodGet, pathf("/v1/tms/reservations/%s/%s", clientID, resID), nil, nil)
}

// DeleteReservation deletes one reservation
// (DELETE /v1/tms/reservations/del/{client_id}/{resid}).
func (c *Client) DeleteReservation(ctx context.Context, clientID, resID string) (Deleted, error) {
	return call[Deleted](ctx, c, http.MethodDelete, pathf("/v1/tms/reservations/del/%s/%s", clientID, resID), nil, nil)
}

// DeleteRelatedReservations deletes a reservation and its extensions
// (DELETE /v1/tms/reservations/del/related/{client_id}/{resid}).
func (c *Client) DeleteRelatedReservations(ctx context.Context, clientID, resID string) (Deleted, error) {
	return call[Deleted](ctx, c, http.MethodDelete, pathf("/v1/tms/reservations/del/related/%s/%s", clientID, resID), nil, nil)
}
