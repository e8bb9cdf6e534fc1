package sqlite

import (
	"context"

	"github.com/tmsproject/tms/internal/store"
)

const reservationCols = `id, resid, parent_resid, tenant, client_id, client_user_id, host, public_key_fingerprint, expires_at, created, updated`

func scanReservation(s scanner, r *store.Reservation) error {
	var exp, created, updated int64
	if err := s.Scan(&r.ID, &r.ResID, &r.ParentResID, &r.Tenant, &r.ClientID, &r.ClientUserID, &r.Host, &r.Fingerprint,
		&exp, &created, &updated); err != nil {
		return err
	}
	r.ExpiresAt, r.Created, r.Updated = fromMicros(exp), fromMicros(created), fromMicros(updated)
	return nil
}

// CreateReservation implements store.ReservationStore.
func (db *DB) CreateReservation(ctx context.Context, r store.Reservation) error {
	_, err := db.writeCount(ctx, "insert reservation", `INSERT INTO reservations(resid, parent_resid, tenant, client_id, client_user_id,
		host, public_key_fingerprint, expires_at, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ResID, r.ParentResID, r.Tenant, r.ClientID, r.ClientUserID, r.Host, r.Fingerprint, micros(r.ExpiresAt), micros(r.Created), micros(r.Updated))
	return err
}

// GetReservation implements store.ReservationStore.
func (db *DB) GetReservation(ctx context.Context, tenant, resID string) (store.Reservation, error) {
	var r store.Reservation
	err := db.getOne(ctx, "get reservation", `SELECT `+reservationCols+` FROM reservations WHERE resid = ? AND tenant = ?`,
		func(s scanner) error { return scanReservation(s, &r) }, resID, tenant)
	return r, err
}

// DeleteReservation implements store.ReservationStore.
func (db *DB) DeleteReservation(ctx context.Context, tenant, clientID, resID string) (int64, error) {
	return db.writeCount(ctx, "delete reservation", `DELETE FROM reservations WHERE resid = ? AND client_id = ? AND tenant = ?`,
		resID, clientID, tenant)
}

// DeleteRelatedReservations implements store.ReservationStore.
func (db *DB) DeleteRelatedReservations(ctx context.Context, tenant, clientID, resID string) (int64, error) {
	return db.writeCount(ctx, "delete related reservations", `DELETE FROM reservations
		WHERE (resid = ? OR parent_resid = ?) AND client_id = ? AND tenant = ?`, resID, resID, clientID, tenant)
}
