package api

import (
	"fmt"
	"net/http"
)

type userMFAResponse struct {
	Created    Time   `json:"created"`
	Enabled    bool   `json:"enabled"`
	ExpiresAt  Time   `json:"expires_at"`
	ID         int64  `json:"id"`
	ResultCode string `json:"result_code"`
	ResultMsg  string `json:"result_msg"`
	Tenant     string `json:"tenant"`
	TMSUserID  string `json:"tms_user_id"`
	Updated    Time   `json:"updated"`
}

type userMFAElement struct {
	Created   Time   `json:"created"`
	Enabled   int    `json:"enabled"`
	ExpiresAt Time   `json:"expires_at"`
	ID        int64  `json:"id"`
	Tenant    string `json:"tenant"`
	TMSUserID string `json:"tms_user_id"`
	Updated   Time   `json:"updated"`
}

type createUserMFABody struct {
	Tenant     *string `json:"tenant"`
	TMSUserID  *string `json:"tms_user_id"`
	TTLMinutes *int64  `json:"ttl_minutes"`
}

func (a *API) createUserMFA(w http.ResponseWriter, r *http.Request) {
	var b createUserMFABody
	if !decode(w, r, &b) {
		return
	}
	c, ok := creds(w, r)
	if !ok {
		return
	}
	m, err := a.svc.CreateUserMFA(r.Context(), c, *b.Tenant, *b.TMSUserID, *b.TTLMinutes)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, struct {
		Enabled    bool   `json:"enabled"`
		ExpiresAt  Time   `json:"expires_at"`
		ResultCode string `json:"result_code"`
		ResultMsg  string `json:"result_msg"`
		TMSUserID  string `json:"tms_user_id"`
	}{m.Enabled, Time(m.ExpiresAt), "0", success, m.TMSUserID})
}

func (a *API) getUserMFA(w http.ResponseWriter, r *http.Request) {
	c, ok := creds(w, r)
	if !ok {
		return
	}
	m, err := a.svc.GetUserMFA(r.Context(), c, r.PathValue("tms_user_id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, userMFAResponse{Time(m.Created), m.Enabled, Time(m.ExpiresAt), m.ID, "0", success, m.Tenant, m.TMSUserID, Time(m.Updated)})
}

func (a *API) listUserMFA(w http.ResponseWriter, r *http.Request) {
	c, ok := creds(w, r)
	if !ok {
		return
	}
	list, err := a.svc.ListUserMFA(r.Context(), c)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]userMFAElement, len(list))
	for i, m := range list {
		out[i] = userMFAElement{Time(m.Created), enabledInt(m.Enabled), Time(m.ExpiresAt), m.ID, m.Tenant, m.TMSUserID, Time(m.Updated)}
	}
	writeJSON(w, http.StatusOK, listedUsers(out))
}

type updateUserMFABody struct {
	TMSUserID *string `json:"tms_user_id"`
	Tenant    *string `json:"tenant"`
	Enabled   *bool   `json:"enabled"`
}

func (a *API) updateUserMFA(w http.ResponseWriter, r *http.Request) {
	var b updateUserMFABody
	if !decode(w, r, &b) {
		return
	}
	c, ok := creds(w, r)
	if !ok {
		return
	}
	n, err := a.svc.SetUserMFAEnabled(r.Context(), c, *b.Tenant, *b.TMSUserID, *b.Enabled)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, updated(n, fmt.Sprintf("%d update(s) to tms_user_id %s completed, enabled = %t", n, *b.TMSUserID, *b.Enabled)))
}

func (a *API) deleteUserMFA(w http.ResponseWriter, r *http.Request) {
	c, ok := creds(w, r)
	if !ok {
		return
	}
	user := r.PathValue("tms_user_id")
	n, err := a.svc.DeleteUserMFA(r.Context(), c, user)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, deleted(n, "user MFA record "+user))
}
