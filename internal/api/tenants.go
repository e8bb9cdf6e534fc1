package api

import (
	"fmt"
	"net/http"
	"time"
)

type tenantResponse struct {
	Created    Time   `json:"created"`
	Enabled    bool   `json:"enabled"`
	ID         int64  `json:"id"`
	ResultCode string `json:"result_code"`
	ResultMsg  string `json:"result_msg"`
	Tenant     string `json:"tenant"`
	Updated    Time   `json:"updated"`
}

type tenantElement struct {
	Created Time   `json:"created"`
	Enabled int    `json:"enabled"`
	ID      int64  `json:"id"`
	Tenant  string `json:"tenant"`
	Updated Time   `json:"updated"`
}

func (a *API) createTenant(w http.ResponseWriter, r *http.Request) {
	c, ok := creds(w, r)
	if !ok {
		return
	}
	admin, err := a.svc.CreateTenant(r.Context(), c, r.PathValue("tenant"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, struct {
		AdminID     string `json:"admin_id"`
		AdminSecret string `json:"admin_secret"`
		Enabled     bool   `json:"enabled"`
		ResultCode  string `json:"result_code"`
		ResultMsg   string `json:"result_msg"`
		Tenant      string `json:"tenant"`
	}{admin.AdminID, admin.Secret, true, "0", success, admin.Tenant})
}

func (a *API) getTenant(w http.ResponseWriter, r *http.Request) {
	t, err := a.svc.GetTenant(r.Context(), r.PathValue("tenant"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, tenantResponse{Time(t.Created), t.Enabled, t.ID, "0", success, t.Name, Time(t.Updated)})
}

func (a *API) listTenants(w http.ResponseWriter, r *http.Request) {
	c, ok := creds(w, r)
	if !ok {
		return
	}
	list, err := a.svc.ListTenants(r.Context(), c)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]tenantElement, len(list))
	for i, t := range list {
		out[i] = tenantElement{Time(t.Created), enabledInt(t.Enabled), t.ID, t.Name, Time(t.Updated)}
	}
	writeJSON(w, http.StatusOK, struct {
		NumTenants int             `json:"num_tenants"`
		ResultCode string          `json:"result_code"`
		ResultMsg  string          `json:"result_msg"`
		Tenants    []tenantElement `json:"tenants"`
	}{len(out), "0", success, out})
}

type tenantUpdateBody struct {
	Tenant  *string `json:"tenant"`
	Enabled *bool   `json:"enabled"`
}

func (a *API) updateTenant(w http.ResponseWriter, r *http.Request) {
	var b tenantUpdateBody
	if !decode(w, r, &b) {
		return
	}
	c, ok := creds(w, r)
	if !ok {
		return
	}
	n, err := a.svc.UpdateTenant(r.Context(), c, *b.Tenant, *b.Enabled)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, updated(n, fmt.Sprintf("%d update(s) to tenant %s completed, enabled = %t", n, *b.Tenant, *b.Enabled)))
}

func (a *API) deleteTenant(w http.ResponseWriter, r *http.Request) {
	c, ok := creds(w, r)
	if !ok {
		return
	}
	tenant := r.PathValue("tenant")
	n, err := a.svc.DeleteTenant(r.Context(), c, tenant)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, deleted(n, "tenant "+tenant))
}

func (a *API) wipeTenant(w http.ResponseWriter, r *http.Request) {
	c, ok := creds(w, r)
	if !ok {
		return
	}
	tenant := r.PathValue("tenant")
	n, err := a.svc.WipeTenant(r.Context(), c, tenant)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	msg := "Tenant " + tenant + " and dependencies wiped"
	if n == 0 {
		msg = "NOT FOUND - Nothing deleted: tenant " + tenant + " does not exist"
	}
	writeJSON(w, http.StatusOK, countResponse{NumDeleted: n, ResultCode: "0", ResultMsg: msg})
}

// countResponse answers deletes.
type countResponse struct {
	NumDeleted int64  `json:"num_deleted"`
	ResultCode string `json:"result_code"`
	ResultMsg  string `json:"result_msg"`
}

func deleted(n int64, what string) countResponse {
	msg := fmt.Sprintf("%d deleted: %s", n, what)
	if n == 0 {
		msg = "NOT FOUND - Nothing deleted: " + what + " does not exist"
	}
	return countResponse{NumDeleted: n, ResultCode: "0", ResultMsg: msg}
}

// updateResponse answers updates.
type updateResponse struct {
	FieldsUpdated int64  `json:"fields_updated"`
	ResultCode    string `json:"result_code"`
	ResultMsg     string `json:"result_msg"`
}

func updated(n int64, msg string) updateResponse {
	return updateResponse{FieldsUpdated: n, ResultCode: "0", ResultMsg: msg}
}

func expiryUpdated(n int64, expires time.Time, msg string) expiryUpdateResponse {
	em := "UNCHANGED"
	if n > 0 {
		em = FormatTime(expires)
	}
	return expiryUpdateResponse{ExpiresMsg: em, FieldsUpdated: n, ResultCode: "0", ResultMsg: msg}
}

// expiryUpdateResponse answers user host and delegation updates.
type expiryUpdateResponse struct {
	ExpiresMsg    string `json:"expires_msg"`
	FieldsUpdated int64  `json:"fields_updated"`
	ResultCode    string `json:"result_code"`
	ResultMsg     string `json:"result_msg"`
}
