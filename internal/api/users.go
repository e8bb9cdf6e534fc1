package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/tms"
)

// userRoutes registers the administration of end users and public OAuth
// clients (tenant administrators) and the user API (bearer tokens).
func (a *API) userRoutes() {
	m := a.mux
	m.HandleFunc("POST /v1/tms/users", a.createUser)
	m.HandleFunc("GET /v1/tms/users/list", a.listUsers)
	m.HandleFunc("GET /v1/tms/users/{username}", a.getUser)
	m.HandleFunc("PATCH /v1/tms/users/upd", a.updateUser)
	m.HandleFunc("DELETE /v1/tms/users/del/{username}", a.deleteUser)
	m.HandleFunc("POST /v1/tms/users/{username}/totp", a.provisionTOTP)

	m.HandleFunc("POST /v1/tms/oauthclients", a.createOAuthClient)
	m.HandleFunc("GET /v1/tms/oauthclients/list", a.listOAuthClients)

	m.HandleFunc("GET /v1/tms/user/me", a.me)
	m.HandleFunc("GET /v1/tms/user/keys", a.listUserKeys)
	m.HandleFunc("POST /v1/tms/user/keys", a.createUserKey)
	m.HandleFunc("DELETE /v1/tms/user/keys/{fingerprint}", a.deleteUserKey)
	m.HandleFunc("GET /v1/tms/user/delegations", a.listUserDelegations)
	m.HandleFunc("DELETE /v1/tms/user/delegations/{client_id}", a.revokeUserDelegation)
}

// totpStatus says where a user stands with TOTP: "none", "pending" (an
// enrolment not yet confirmed) or "enrolled".
func totpStatus(u store.User) string {
	switch {
	case u.TOTPSecret == "":
		return "none"
	case !u.TOTPConfirmed:
		return "pending"
	}
	return "enrolled"
}

type userResponse struct {
	Created    Time   `json:"created"`
	Enabled    bool   `json:"enabled"`
	ID         int64  `json:"id"`
	Origin     string `json:"origin"`
	ResultCode string `json:"result_code"`
	ResultMsg  string `json:"result_msg"`
	Tenant     string `json:"tenant"`
	TOTP       string `json:"totp"`
	Updated    Time   `json:"updated"`
	Username   string `json:"username"`
}

func userResp(u store.User) userResponse {
	return userResponse{Time(u.Created), u.Enabled, u.ID, string(u.Origin.Stored()), "0", success, u.Tenant, totpStatus(u), Time(u.Updated), u.Username}
}

type userElement struct {
	Created  Time   `json:"created"`
	Enabled  int    `json:"enabled"`
	ID       int64  `json:"id"`
	Origin   string `json:"origin"`
	Tenant   string `json:"tenant"`
	TOTP     string `json:"totp"`
	Updated  Time   `json:"updated"`
	Username string `json:"username"`
}

type createUserBody struct {
	Tenant   *string `json:"tenant" opt:"true"`
	Username *string `json:"username"`
	Password *string `json:"password" opt:"true"`
	Origin   *string `json:"origin" opt:"true"`
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request) {
	var b createUserBody
	if !decode(w, r, &b) {
		return
	}
	c, ok := creds(w, r)
	if !ok {
		return
	}
	req := tms.NewUser{Username: *b.Username}
	if b.Tenant != nil {
		req.Tenant = *b.Tenant
	}
	if b.Password != nil {
		req.Password = *b.Password
	}
	if b.Origin != nil {
		req.Origin = store.Origin(*b.Origin)
	}
	u, err := a.svc.CreateUser(r.Context(), c, req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, userResp(u))
}

func (a *API) getUser(w http.ResponseWriter, r *http.Request) {
	c, ok := creds(w, r)
	if !ok {
		return
	}
	u, err := a.svc.GetUser(r.Context(), c, r.PathValue("username"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, userResp(u))
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request) {
	c, ok := creds(w, r)
	if !ok {
		return
	}
	list, err := a.svc.ListUsers(r.Context(), c)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]userElement, len(list))
	for i, u := range list {
		out[i] = userElement{Time(u.Created), enabledInt(u.Enabled), u.ID, string(u.Origin.Stored()), u.Tenant, totpStatus(u), Time(u.Updated), u.Username}
	}
	writeJSON(w, http.StatusOK, listedUsers(out))
}

type updateUserBody struct {
	Tenant   *string `json:"tenant" opt:"true"`
	Username *string `json:"username"`
	Enabled  *bool   `json:"enabled" opt:"true"`
	Password *string `json:"password" opt:"true"`
}

func (a *API) updateUser(w http.ResponseWriter, r *http.Request) {
	var b updateUserBody
	if !decode(w, r, &b) {
		return
	}
	c, ok := creds(w, r)
	if !ok {
		return
	}
	ch := tms.UserChange{Username: *b.Username, Enabled: b.Enabled, Password: b.Password}
	if b.Tenant != nil {
		ch.Tenant = *b.Tenant
	}
	n, err := a.svc.UpdateUser(r.Context(), c, ch)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var changes []string
	if b.Enabled != nil {
		changes = append(changes, fmt.Sprintf("enabled = %t", *b.Enabled))
	}
	if b.Password != nil {
		changes = append(changes, "password changed")
	}
	if len(changes) == 0 {
		changes = append(changes, "nothing to change")
	}
	writeJSON(w, http.StatusOK, updated(n, fmt.Sprintf("%d update(s) to user %s completed: %s", n, *b.Username, strings.Join(changes, ", "))))
}

func (a *API) deleteUser(w http.ResponseWriter, r *http.Request) {
	c, ok := creds(w, r)
	if !ok {
		return
	}
	user := r.PathValue("username")
	n, err := a.svc.DeleteUser(r.Context(), c, user)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, deleted(n, "user "+user))
}

func (a *API) provisionTOTP(w http.ResponseWriter, r *http.Request) {
	c, ok := creds(w, r)
	if !ok {
		return
	}
	p, err := a.svc.ProvisionTOTP(r.Context(), c, r.PathValue("username"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, struct {
		OTPAuthURI string `json:"otpauth_uri"`
		ResultCode string `json:"result_code"`
		ResultMsg  string `json:"result_msg"`
		Secret     string `json:"secret"`
	}{p.URI, "0", success, p.Secret})
}

type oauthClientElement struct {
	AppName    string `json:"app_name"`
	AppVersion string `json:"app_version"`
	Builtin    bool   `json:"builtin"`
	ClientID   string `json:"client_id"`
	Created    Time   `json:"created"`
	Enabled    int    `json:"enabled"`
	ID         int64  `json:"id"`
	Tenant     string `json:"tenant"`
	Updated    Time   `json:"updated"`
}

func oauthClientElem(c store.OAuthClient) oauthClientElement {
	return oauthClientElement{c.AppName, c.AppVersion, c.Builtin, c.ClientID, Time(c.Created), enabledInt(c.Enabled), c.ID, c.Tenant, Time(c.Updated)}
}

type createOAuthClientBody struct {
	Tenant     *string `json:"tenant" opt:"true"`
	ClientID   *string `json:"client_id"`
	AppName    *string `json:"app_name"`
	AppVersion *string `json:"app_version"`
}

func (a *API) createOAuthClient(w http.ResponseWriter, r *http.Request) {
	var b createOAuthClientBody
	if !decode(w, r, &b) {
		return
	}
	c, ok := creds(w, r)
	if !ok {
		return
	}
	req := tms.NewOAuthClient{ClientID: *b.ClientID, AppName: *b.AppName, AppVersion: *b.AppVersion}
	if b.Tenant != nil {
		req.Tenant = *b.Tenant
	}
	oc, err := a.svc.CreateOAuthClient(r.Context(), c, req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, struct {
		oauthClientElement
		ResultCode string `json:"result_code"`
		ResultMsg  string `json:"result_msg"`
	}{oauthClientElem(oc), "0", success})
}

func (a *API) listOAuthClients(w http.ResponseWriter, r *http.Request) {
	c, ok := creds(w, r)
	if !ok {
		return
	}
	list, err := a.svc.ListOAuthClients(r.Context(), c)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := elements(list, oauthClientElem)
	writeJSON(w, http.StatusOK, struct {
		Clients    []oauthClientElement `json:"clients"`
		NumClients int                  `json:"num_clients"`
		ResultCode string               `json:"result_code"`
		ResultMsg  string               `json:"result_msg"`
	}{out, len(out), "0", success})
}
