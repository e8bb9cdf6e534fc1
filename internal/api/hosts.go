package api

import (
	"fmt"
	"net/http"

	"github.com/tmsproject/tms/internal/store"
)

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
