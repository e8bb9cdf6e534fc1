package api

import (
	"net/http"
	"strings"

	"github.com/tmsproject/tms/internal/store"
)

// The headers a login host authenticates key retrieval with.
const (
	headerHostID     = "X-TMS-HOST-ID"
	headerHostSecret = "X-TMS-HOST-SECRET"
)

// hostCredentialHeaders reads the host credential of a retrieval request.
// The values are only compared with stored ones, so they need no other check.
func hostCredentialHeaders(r *http.Request) (hostID, hostSecret string) {
	hostID = strings.TrimSpace(r.Header.Get(headerHostID))
	hostSecret = strings.TrimSpace(r.Header.Get(headerHostSecret))
	if info := requestInfoFrom(r.Context()); info != nil && hostID != "" {
		info.actor = "host:" + hostID
	}
	return hostID, hostSecret
}

type hostCredentialBody struct {
	Tenant *string `json:"tenant"`
	Host   *string `json:"host"`
}

type hostCredentialElement struct {
	Created Time   `json:"created"`
	Host    string `json:"host"`
	ID      int64  `json:"id"`
	Tenant  string `json:"tenant"`
	Updated Time   `json:"updated"`
}

func hostCredentialElem(c store.HostCredential) hostCredentialElement {
	return hostCredentialElement{Time(c.Created), c.Host, c.ID, c.Tenant, Time(c.Updated)}
}

func (a *API) createHostCredential(w http.ResponseWriter, r *http.Request) {
	var b hostCredentialBody
	if !decode(w, r, &b) {
		return
	}
	c, ok := creds(w, r)
	if !ok {
		return
	}
	hs, err := a.svc.CreateHostCredential(r.Context(), c, *b.Tenant, *b.Host)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, struct {
		Host       string `json:"host"`
		HostSecret string `json:"host_secret"`
		ResultCode string `json:"result_code"`
		ResultMsg  string `json:"result_msg"`
		Tenant     string `json:"tenant"`
	}{hs.Credential.Host, hs.Secret, "0", success, hs.Credential.Tenant})
}

func (a *API) listHostCredentials(w http.ResponseWriter, r *http.Request) {
	c, ok := creds(w, r)
	if !ok {
		return
	}
	list, err := a.svc.ListHostCredentials(r.Context(), c)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := elements(list, hostCredentialElem)
	writeJSON(w, http.StatusOK, struct {
		Credentials    []hostCredentialElement `json:"credentials"`
		NumCredentials int                     `json:"num_credentials"`
		ResultCode     string                  `json:"result_code"`
		ResultMsg      string                  `json:"result_msg"`
	}{out, len(out), "0", success})
}

func (a *API) deleteHostCredential(w http.ResponseWriter, r *http.Request) {
	var b hostCredentialBody
	if !decode(w, r, &b) {
		return
	}
	c, ok := creds(w, r)
	if !ok {
		return
	}
	n, err := a.svc.DeleteHostCredential(r.Context(), c, *b.Tenant, *b.Host)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, deleted(n, "credential of host "+*b.Host))
}
