package api

import (
	"fmt"
	"net/http"

	"github.com/tmsproject/tms/internal/store"
)

type userHostElement struct {
	Created     Time   `json:"created"`
	ExpiresAt   Time   `json:"expires_at"`
	Host        string `json:"host"`
	HostAccount string `json:"host_account"`
	ID          int64  `json:"id"`
	Tenant      string `json:"tenant"`
	TMSUserID   string `json:"tms_user_id"`
	Updated     Time   `json:"updated"`
}

func userHostElem(h store.UserHost) userHostElement {
	return userHostElement{Time(h.Created), Time(h.ExpiresAt), h.Host, h.HostAccount, h.ID, h.Tenant, h.TMSUserID, Time(h.Updated)}
}

type userHostBody struct {
	Tenant      *string `json:"tenant"`
	TMSUserID   *string `json:"tms_user_id"`
	Host        *string `json:"host"`
	HostAccount *string `json:"host_account"`
	TTLMinutes  *int64  `json:"ttl_minutes"`
}

type userHostKeyBody struct {
	Tenant      *string `json:"tenant"`
	TMSUserID   *string `json:"tms_user_id"`
	Host        *string `json:"host"`
	HostAccount *string `json:"host_account"`
}

func (b userHostBody) key() store.UserHostKey {
	return store.UserHostKey{Tenant: *b.Tenant, TMSUserID: *b.TMSUserID, Host: *b.Host, HostAccount: *b.HostAccount}
}

func (a *API) createUserHost(w http.ResponseWriter, r *http.Request) {
	var b userHostBody
	if !decode(w, r, &b) {
		return
	}
	c, ok := creds(w, r)
	if !ok {
		return
	}
	h, err := a.svc.CreateUserHost(r.Context(), c, b.key(), *b.TTLMinutes)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, struct {
		ExpiresAt   Time   `json:"expires_at"`
		Host        string `json:"host"`
		HostAccount string `json:"host_account"`
		ResultCode  string `json:"result_code"`
		ResultMsg   string `json:"result_msg"`
		TMSUserID   string `json:"tms_user_id"`
	}{Time(h.ExpiresAt), h.Host, h.HostAccount, "0", success, h.TMSUserID})
}

func (a *API) getUserHost(w http.ResponseWriter, r *http.Request) {
	c, ok := creds(w, r)
	if !ok {
		return
	}
	id, ok := pathInt(w, r, "id")
	if !ok {
		return
	}
	h, err := a.svc.GetUserHost(r.Context(), c, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		userHostElement
		envelope
	}{userHostElem(h), succeeded()})
}

func (a *API) listUserHosts(w http.ResponseWriter, r *http.Request) {
	c, ok := creds(w, r)
	if !ok {
		return
	}
	list, err := a.svc.ListUserHosts(r.Context(), c)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listedUsers(elements(list, userHostElem)))
}

func (a *API) updateUserHost(w http.ResponseWriter, r *http.Request) {
	var b userHostBody
	if !decode(w, r, &b) {
		return
	}
	c, ok := creds(w, r)
	if !ok {
		return
	}
	n, h, err := a.svc.UpdateUserHost(r.Context(), c, b.key(), *b.TTLMinutes)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, expiryUpdated(n, h.ExpiresAt, fmt.Sprintf("%d update(s) to user %s with account %s on host %s completed", n, *b.TMSUserID, *b.HostAccount, *b.Host)))
}

func (a *API) deleteUserHost(w http.ResponseWriter, r *http.Request) {
	var b userHostKeyBody
	if !decode(w, r, &b) {
		return
	}
	c, ok := creds(w, r)
	if !ok {
		return
	}
	k := store.UserHostKey{Tenant: *b.Tenant, TMSUserID: *b.TMSUserID, Host: *b.Host, HostAccount: *b.HostAccount}
	n, err := a.svc.DeleteUserHost(r.Context(), c, k)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, deleted(n, fmt.Sprintf("user host mapping %s to %s@%s", k.TMSUserID, k.HostAccount, k.Host)))
}
