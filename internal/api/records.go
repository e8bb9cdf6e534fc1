package api

import (
	"fmt"
	"net/http"

	"github.com/tmsproject/tms/internal/store"
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

type hostElement struct {
	Addr    string `json:"addr"`
	Created Time   `json:"created"`
	Host    string `json:"host"`
	ID      int64  `json:"id"`
	Tenant  string `json:"tenant"`
	Updated Time   `json:"updated"`
}

func hostElem(h store.Host) hostElement {
	return hostElement{h.Addr, Time(h.Created), h.Host, h.ID, h.Tenant, Time(h.Updated)}
}

type hostBody struct {
	Tenant *string `json:"tenant"`
	Host   *string `json:"host"`
	Addr   *string `json:"addr"`
}

func (a *API) createHost(w http.ResponseWriter, r *http.Request) {
	var b hostBody
	if !decode(w, r, &b) {
		return
	}
	c, ok := creds(w, r)
	if !ok {
		return
	}
	h, err := a.svc.CreateHost(r.Context(), c, *b.Tenant, *b.Host, *b.Addr)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, struct {
		Addr       string `json:"addr"`
		Host       string `json:"host"`
		ResultCode string `json:"result_code"`
		ResultMsg  string `json:"result_msg"`
		Tenant     string `json:"tenant"`
	}{h.Addr, h.Host, "0", success, h.Tenant})
}

func (a *API) getHost(w http.ResponseWriter, r *http.Request) {
	c, ok := creds(w, r)
	if !ok {
		return
	}
	id, ok := pathInt(w, r, "id")
	if !ok {
		return
	}
	h, err := a.svc.GetHost(r.Context(), c, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		hostElement
		envelope
	}{hostElem(h), succeeded()})
}

func (a *API) listHosts(w http.ResponseWriter, r *http.Request) {
	c, ok := creds(w, r)
	if !ok {
		return
	}
	list, err := a.svc.ListHosts(r.Context(), c)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := elements(list, hostElem)
	writeJSON(w, http.StatusOK, struct {
		NumMappings int           `json:"num_mappings"`
		ResultCode  string        `json:"result_code"`
		ResultMsg   string        `json:"result_msg"`
		Users       []hostElement `json:"users"`
	}{len(out), "0", success, out})
}

func (a *API) deleteHost(w http.ResponseWriter, r *http.Request) {
	var b hostBody
	if !decode(w, r, &b) {
		return
	}
	c, ok := creds(w, r)
	if !ok {
		return
	}
	n, err := a.svc.DeleteHost(r.Context(), c, *b.Tenant, *b.Host, *b.Addr)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, deleted(n, fmt.Sprintf("host %s with address %s", *b.Host, *b.Addr)))
}
