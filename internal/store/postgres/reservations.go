package postgres

import (
	"context"

	"github.com/tmsproject/tms/internal/store"
)

const reservationCols = `id, resid, parent_resid, tenant, client_id, client_user_id, host, public_key_fingerprint, expires_at, created, updated`

func scanReservation(s scanner, r *store.Reservation) error {
	return s.Scan(&r.ID, &r.ResID, &r.ParentResID, &r.Tenant, &r.ClientID, &r.ClientUserID, &r.Host, &r.Fingerprint,
		&r.ExpiresAt, &r.Created, &r.Updated)
}

// CreateReservation implements store.ReservationStore.
func (db *DB) CreateReservation(ctx context.Context, r store.Reservation) error {
	_, err := db.exec(ctx, "insert reservation", `INSERT INTO reservations(resid, parent_resid, tenant, client_id, client_user_id,
		host, public_key_fingerprint, expires_at, created, updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		r.ResID, r.ParentResID, r.Tenant, r.ClientID, r.ClientUserID, r.Host, r.Fingerprint,
		store.Micro(r.ExpiresAt), store.Micro(r.Created), store.Micro(r.Updated))
	return err
}

// GetReservation implements store.ReservationStore.
func (db *DB) GetReservation(ctx context.Context, tenant, resID string) (store.Reservation, error) {
	var r store.Reservation
	err := db.queryOne(ctx, "get reservation", `SELECT `+reservationCols+` FROM reservations WHERE resid = $1 AND tenant = $2`,
		func(s scanner) error { return scanReservation(s, &r) }, resID, tenant)
	return r, err
}

// DeleteReservation implements store.ReservationStore.
func (db *DB) DeleteReservation(ctx context.Context, tenant, clientID, resID string) (int64, error) {
	return db.execDelete(ctx, "delete reservation", `DELETE FROM reservations WHERE resid = $1 AND client_id = $2 AND tenant = $3`,
		resID, clientID, tenant)
}

// DeleteRelatedReservations implements store.ReservationStore.
func (db *DB) DeleteRelatedReservations(ctx context.Context, tenant, clientID, resID string) (int64, error) {
	return db.execDelete(ctx, "delete related reservations", `DELETE FROM reservations
		WHERE (resid = $1 OR parent_resid = $1) AND client_id = $2 AND tenant = $3`, resID, clientID, tenant)
}
