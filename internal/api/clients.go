package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/tms"
)

type clientResponse struct {
	AppName    string `json:"app_name"`
	AppVersion string `json:"app_version"`
	ClientID   string `json:"client_id"`
	Created    Time   `json:"created"`
	Enabled    bool   `json:"enabled"`
	ID         int64  `json:"id"`
	ResultCode string `json:"result_code"`
	ResultMsg  string `json:"result_msg"`
	Tenant     string `json:"tenant"`
	Updated    Time   `json:"updated"`
}

type clientElement struct {
	AppName    string `json:"app_name"`
	AppVersion string `json:"app_version"`
	ClientID   string `json:"client_id"`
	Created    Time   `json:"created"`
	Enabled    int    `json:"enabled"`
	ID         int64  `json:"id"`
	Tenant     string `json:"tenant"`
	Updated    Time   `json:"updated"`
}

type createClientBody struct {
	ClientID   *string `json:"client_id"`
	Tenant     *string `json:"tenant"`
	AppName    *string `json:"app_name"`
	AppVersion *string `json:"app_version"`
}

func (a *API) createClient(w http.ResponseWriter, r *http.Request) {
	var b createClientBody
	if !decode(w, r, &b) {
		return
	}
	c, ok := creds(w, r)
	if !ok {
		return
	}
	sec, err := a.svc.CreateClient(r.Context(), c, tms.NewClient{Tenant: *b.Tenant, ClientID: *b.ClientID, AppName: *b.AppName, AppVersion: *b.AppVersion})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		ResultCode   string `json:"result_code"`
		ResultMsg    string `json:"result_msg"`
	}{*b.ClientID, sec, "0", success})
}

func (a *API) getClient(w http.ResponseWriter, r *http.Request) {
	c, ok := creds(w, r)
	if !ok {
		return
	}
	cl, err := a.svc.GetClient(r.Context(), c, r.PathValue("client_id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, clientResponse{cl.AppName, cl.AppVersion, cl.ClientID, Time(cl.Created), cl.Enabled, cl.ID, "0", success, cl.Tenant, Time(cl.Updated)})
}

func (a *API) listClients(w http.ResponseWriter, r *http.Request) {
	c, ok := creds(w, r)
	if !ok {
		return
	}
	list, err := a.svc.ListClients(r.Context(), c)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]clientElement, len(list))
	for i, cl := range list {
		out[i] = clientElement{cl.AppName, cl.AppVersion, cl.ClientID, Time(cl.Created), enabledInt(cl.Enabled), cl.ID, cl.Tenant, Time(cl.Updated)}
	}
	writeJSON(w, http.StatusOK, struct {
		Clients    []clientElement `json:"clients"`
		NumClients int             `json:"num_clients"`
		ResultCode string          `json:"result_code"`
		ResultMsg  string          `json:"result_msg"`
	}{out, len(out), "0", success})
}

func (a *API) updateClient(w http.ResponseWriter, r *http.Request) {
	c, ok := creds(w, r)
	if !ok {
		return
	}
	id := r.PathValue("client_id")
	q := r.URL.Query()
	var upd store.ClientUpdate
	if q.Has("app_version") {
		v := q.Get("app_version")
		upd.AppVersion = &v
	}
	if q.Has("enabled") {
		v, err := strconv.ParseBool(q.Get("enabled"))
		if err != nil || (q.Get("enabled") != "true" && q.Get("enabled") != "false") {
			badRequest(w, fmt.Sprintf("enabled: %q is not true or false", q.Get("enabled")))
			return
		}
		upd.Enabled = &v
	}
	n, err := a.svc.UpdateClient(r.Context(), c, id, upd)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	msg := fmt.Sprintf("%d update(s) to client %s completed", n, id)
	if upd.AppVersion == nil && upd.Enabled == nil {
		msg = "No updates specified"
	}
	writeJSON(w, http.StatusOK, updated(n, msg))
}

func (a *API) rotateClientSecret(w http.ResponseWriter, r *http.Request) {
	c, ok := creds(w, r)
	if !ok {
		return
	}
	id := r.PathValue("client_id")
	sec, err := a.svc.RotateClientSecret(r.Context(), c, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		ResultCode   string `json:"result_code"`
		ResultMsg    string `json:"result_msg"`
		Tenant       string `json:"tenant"`
	}{id, sec, "0", "Secret updated for client " + id, c.Tenant})
}

func (a *API) deleteClient(w http.ResponseWriter, r *http.Request) {
	c, ok := creds(w, r)
	if !ok {
		return
	}
	id := r.PathValue("client_id")
	n, err := a.svc.DeleteClient(r.Context(), c, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, deleted(n, "client "+id))
}
