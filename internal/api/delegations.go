package api

import (
	"fmt"
	"net/http"

	"github.com/tmsproject/tms/internal/store"
)

type delegationElement struct {
	ClientID     string `json:"client_id"`
	ClientUserID string `json:"client_user_id"`
	Created      Time   `json:"created"`
	ExpiresAt    Time   `json:"expires_at"`
	ID           int64  `json:"id"`
	Tenant       string `json:"tenant"`
	Updated      Time   `json:"updated"`
}

func delegationElem(d store.Delegation) delegationElement {
	return delegationElement{d.ClientID, d.ClientUserID, Time(d.Created), Time(d.ExpiresAt), d.ID, d.Tenant, Time(d.Updated)}
}

type delegationBody struct {
	Tenant       *string `json:"tenant"`
	ClientID     *string `json:"client_id"`
	ClientUserID *string `json:"client_user_id"`
	TTLMinutes   *int64  `json:"ttl_minutes"`
}

type delegationKeyBody struct {
	ClientID     *string `json:"client_id"`
	ClientUserID *string `json:"client_user_id"`
	Tenant       *string `json:"tenant"`
}

func (b delegationBody) key() store.DelegationKey {
	return store.DelegationKey{Tenant: *b.Tenant, ClientID: *b.ClientID, ClientUserID: *b.ClientUserID}
}

func (a *API) createDelegation(w http.ResponseWriter, r *http.Request) {
	var b delegationBody
	if !decode(w, r, &b) {
		return
	}
	c, ok := creds(w, r)
	if !ok {
		return
	}
	d, err := a.svc.CreateDelegation(r.Context(), c, b.key(), *b.TTLMinutes)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, struct {
		ClientID     string `json:"client_id"`
		ClientUserID string `json:"client_user_id"`
		ExpiresAt    Time   `json:"expires_at"`
		ResultCode   string `json:"result_code"`
		ResultMsg    string `json:"result_msg"`
	}{d.ClientID, d.ClientUserID, Time(d.ExpiresAt), "0", success})
}

func (a *API) getDelegation(w http.ResponseWriter, r *http.Request) {
	c, ok := creds(w, r)
	if !ok {
		return
	}
	id, ok := pathInt(w, r, "id")
	if !ok {
		return
	}
	d, err := a.svc.GetDelegation(r.Context(), c, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		delegationElement
		envelope
	}{delegationElem(d), succeeded()})
}

func (a *API) listDelegations(w http.ResponseWriter, r *http.Request) {
	c, ok := creds(w, r)
	if !ok {
		return
	}
	list, err := a.svc.ListDelegations(r.Context(), c)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listedUsers(elements(list, delegationElem)))
}

func (a *API) updateDelegation(w http.ResponseWriter, r *http.Request) {
	var b delegationBody
	if !decode(w, r, &b) {
		return
	}
	c, ok := creds(w, r)
	if !ok {
		return
	}
	n, d, err := a.svc.UpdateDelegation(r.Context(), c, b.key(), *b.TTLMinutes)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, expiryUpdated(n, d.ExpiresAt, fmt.Sprintf("%d update(s) to delegation of user %s to client %s completed", n, *b.ClientUserID, *b.ClientID)))
}

func (a *API) deleteDelegation(w http.ResponseWriter, r *http.Request) {
	var b delegationKeyBody
	if !decode(w, r, &b) {
		return
	}
	c, ok := creds(w, r)
	if !ok {
		return
	}
	k := store.DelegationKey{Tenant: *b.Tenant, ClientID: *b.ClientID, ClientUserID: *b.ClientUserID}
	n, err := a.svc.DeleteDelegation(r.Context(), c, k)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, deleted(n, fmt.Sprintf("delegation of user %s to client %s", k.ClientUserID, k.ClientID)))
}
