package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/tmsproject/tms/internal/audit"
	"github.com/tmsproject/tms/internal/metrics"
	"github.com/tmsproject/tms/internal/tms"
)

// bearer authenticates the access token of the Authorization header, or
// answers 401 with a WWW-Authenticate challenge (RFC 6750 §3) and reports
// failure.
func (a *API) bearer(w http.ResponseWriter, r *http.Request) (tms.UserPrincipal, bool) {
	auth := r.Header.Get("Authorization")
	scheme, token, _ := strings.Cut(auth, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		token = ""
	}
	p, err := a.svc.AuthenticateBearer(r.Context(), strings.TrimSpace(token))
	if err != nil {
		if tms.ErrorKind(err) == tms.KindUnauthorized {
			challenge := `Bearer realm="tms"`
			if token != "" {
				challenge += `, error="invalid_token"`
			}
			w.Header().Set("WWW-Authenticate", challenge)
		}
		a.fail(w, r, err)
		return tms.UserPrincipal{}, false
	}
	if info := requestInfoFrom(r.Context()); info != nil {
		info.tenant, info.actor = p.Tenant, "user:"+p.Username
	}
	audit.Note(r.Context(), func(f *audit.Facts) { f.User = p.Username })
	return p, true
}

// optTime is a timestamp that is null when zero.
func optTime(t Time) *Time {
	if t == (Time{}) {
		return nil
	}
	return &t
}

func (a *API) me(w http.ResponseWriter, r *http.Request) {
	p, ok := a.bearer(w, r)
	if !ok {
		return
	}
	mfa, err := a.svc.Me(r.Context(), p)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		ClientID            string `json:"client_id"`
		DelegationExpiresAt *Time  `json:"delegation_expires_at"`
		MFAEnabled          bool   `json:"mfa_enabled"`
		MFAExpiresAt        *Time  `json:"mfa_expires_at"`
		ResultCode          string `json:"result_code"`
		ResultMsg           string `json:"result_msg"`
		Tenant              string `json:"tenant"`
		TokenExpiresAt      Time   `json:"token_expires_at"`
		Username            string `json:"username"`
	}{p.ClientID, optTime(Time(p.Delegation.ExpiresAt)), mfa.Enabled, optTime(Time(mfa.ExpiresAt)), "0", success, p.Tenant,
		Time(p.TokenExpiresAt), p.Username})
}

func (a *API) listUserKeys(w http.ResponseWriter, r *http.Request) {
	p, ok := a.bearer(w, r)
	if !ok {
		return
	}
	list, err := a.svc.ListUserKeys(r.Context(), p)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listedPubkeys(list))
}

type createUserKeyBody struct {
	Host        *string `json:"host"`
	HostAccount *string `json:"host_account"`
	NumUses     *int64  `json:"num_uses"`
	TTLMinutes  *int64  `json:"ttl_minutes"`
	KeyType     *string `json:"key_type" opt:"true"`
}

func (a *API) createUserKey(w http.ResponseWriter, r *http.Request) {
	var b createUserKeyBody
	if !decode(w, r, &b) {
		return
	}
	p, ok := a.bearer(w, r)
	if !ok {
		return
	}
	req := tms.UserKeyRequest{Host: *b.Host, HostAccount: *b.HostAccount, NumUses: *b.NumUses, TTLMinutes: *b.TTLMinutes}
	if b.KeyType != nil {
		req.KeyType = *b.KeyType
	}
	k, err := a.svc.CreateUserKey(r.Context(), p, req)
	a.keyIssued(r, metrics.KeyPathUser, req.KeyType, k, err)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, IssuedKeyResponse(k))
}

func (a *API) deleteUserKey(w http.ResponseWriter, r *http.Request) {
	p, ok := a.bearer(w, r)
	if !ok {
		return
	}
	host := r.URL.Query().Get("host")
	if host == "" {
		badRequest(w, "host: required query parameter is missing (DELETE /v1/tms/user/keys/{fingerprint}?host=HOST)")
		return
	}
	fp := r.PathValue("fingerprint")
	audit.Note(r.Context(), func(f *audit.Facts) { f.Host = host })
	n, err := a.svc.DeleteUserKey(r.Context(), p, host, fp)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, deleted(n, fmt.Sprintf("key %s on host %s", fp, host)))
}

func (a *API) listUserDelegations(w http.ResponseWriter, r *http.Request) {
	p, ok := a.bearer(w, r)
	if !ok {
		return
	}
	list, err := a.svc.ListUserDelegations(r.Context(), p)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := elements(list, delegationElem)
	writeJSON(w, http.StatusOK, struct {
		Delegations    []delegationElement `json:"delegations"`
		NumDelegations int                 `json:"num_delegations"`
		ResultCode     string              `json:"result_code"`
		ResultMsg      string              `json:"result_msg"`
	}{out, len(out), "0", success})
}

func (a *API) revokeUserDelegation(w http.ResponseWriter, r *http.Request) {
	p, ok := a.bearer(w, r)
	if !ok {
		return
	}
	client := r.PathValue("client_id")
	rev, err := a.svc.RevokeUserDelegation(r.Context(), p, client)
	audit.Note(r.Context(), func(f *audit.Facts) {
		if err == nil {
			f.AddDetail("keys_deleted=%d", rev.Keys)
		}
		f.AddDetail("tokens_revoked=%d", rev.Tokens)
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		NumDeleted       int64  `json:"num_deleted"`
		NumKeysDeleted   int    `json:"num_keys_deleted"`
		NumTokensRevoked int64  `json:"num_tokens_revoked"`
		ResultCode       string `json:"result_code"`
		ResultMsg        string `json:"result_msg"`
	}{1, rev.Keys, rev.Tokens, "0", fmt.Sprintf("1 deleted: delegation to client %s, with the %d keys issued through it; %d tokens revoked",
		client, rev.Keys, rev.Tokens)})
}
