package api

import (
	"net/http"

	"github.com/tmsproject/tms/internal/tms"
)

type reservationCreatedResponse struct {
	ExpiresAt   Time   `json:"expires_at"`
	ParentResID string `json:"parent_resid"`
	ResID       string `json:"resid"`
	ResultCode  string `json:"result_code"`
	ResultMsg   string `json:"result_msg"`
}

type createReservationBody struct {
	ClientUserID *string `json:"client_user_id"`
	Host         *string `json:"host"`
	Fingerprint  *string `json:"public_key_fingerprint"`
	TTLMinutes   *int64  `json:"ttl_minutes"`
}

func (a *API) createReservation(w http.ResponseWriter, r *http.Request) {
	var b createReservationBody
	if !decode(w, r, &b) {
		return
	}
	c, ok := creds(w, r)
	if !ok {
		return
	}
	res, err := a.svc.CreateReservation(r.Context(), c, tms.ReservationRequest{ClientUserID: *b.ClientUserID, Host: *b.Host,
		Fingerprint: *b.Fingerprint, TTLMinutes: *b.TTLMinutes})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, reservationCreatedResponse{Time(res.ExpiresAt), res.ParentResID, res.ResID, "0", success})
}

type extendReservationBody struct {
	ClientUserID *string `json:"client_user_id"`
	Host         *string `json:"host"`
	Fingerprint  *string `json:"public_key_fingerprint"`
	ParentResID  *string `json:"parent_resid"`
}

func (a *API) extendReservation(w http.ResponseWriter, r *http.Request) {
	var b extendReservationBody
	if !decode(w, r, &b) {
		return
	}
	c, ok := creds(w, r)
	if !ok {
		return
	}
	res, err := a.svc.ExtendReservation(r.Context(), c, tms.ExtensionRequest{ClientUserID: *b.ClientUserID, Host: *b.Host,
		Fingerprint: *b.Fingerprint, ParentResID: *b.ParentResID})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, reservationCreatedResponse{Time(res.ExpiresAt), res.ParentResID, res.ResID, "0", success})
}

func (a *API) getReservation(w http.ResponseWriter, r *http.Request) {
	c, ok := creds(w, r)
	if !ok {
		return
	}
	res, err := a.svc.GetReservation(r.Context(), c, r.PathValue("client_id"), r.PathValue("resid"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		ClientID     string `json:"client_id"`
		ClientUserID string `json:"client_user_id"`
		Created      Time   `json:"created"`
		ExpiresAt    Time   `json:"expires_at"`
		Host         string `json:"host"`
		ID           int64  `json:"id"`
		ParentResID  string `json:"parent_resid"`
		Fingerprint  string `json:"public_key_fingerprint"`
		ResID        string `json:"resid"`
		ResultCode   string `json:"result_code"`
		ResultMsg    string `json:"result_msg"`
		Tenant       string `json:"tenant"`
		Updated      Time   `json:"updated"`
	}{res.ClientID, res.ClientUserID, Time(res.Created), Time(res.ExpiresAt), res.Host, res.ID, res.ParentResID, res.Fingerprint,
		res.ResID, "0", success, res.Tenant, Time(res.Updated)})
}

func (a *API) deleteReservation(w http.ResponseWriter, r *http.Request) {
	c, ok := creds(w, r)
	if !ok {
		return
	}
	id := r.PathValue("resid")
	n, err := a.svc.DeleteReservation(r.Context(), c, r.PathValue("client_id"), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, deleted(n, "reservation "+id))
}

func (a *API) deleteRelatedReservations(w http.ResponseWriter, r *http.Request) {
	c, ok := creds(w, r)
	if !ok {
		return
	}
	id := r.PathValue("resid")
	n, err := a.svc.DeleteRelatedReservations(r.Context(), c, r.PathValue("client_id"), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, deleted(n, "reservation "+id+" and its extensions"))
}
