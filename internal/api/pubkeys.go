package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/tmsproject/tms/internal/metrics"
	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/tms"
)

type createKeyBody struct {
	ClientUserID *string `json:"client_user_id"`
	Host         *string `json:"host"`
	HostAccount  *string `json:"host_account"`
	NumUses      *int64  `json:"num_uses"`
	TTLMinutes   *int64  `json:"ttl_minutes"`
	KeyType      *string `json:"key_type" opt:"true"`
}

// issuedKeyResponse is the 201 body of key creation; the numbers are
// strings on the wire.
type issuedKeyResponse struct {
	ExpiresAt     Time   `json:"expires_at"`
	KeyBits       string `json:"key_bits"`
	KeyType       string `json:"key_type"`
	MaxUses       string `json:"max_uses"`
	PrivateKey    string `json:"private_key"`
	PublicKey     string `json:"public_key"`
	Fingerprint   string `json:"public_key_fingerprint"`
	RemainingUses string `json:"remaining_uses"`
	ResultCode    string `json:"result_code"`
	ResultMsg     string `json:"result_msg"`
}

// IssuedKeyResponse returns the wire form of a newly issued key.
func IssuedKeyResponse(k tms.IssuedKey) any {
	return issuedKeyResponse{
		ExpiresAt:     Time(k.Key.ExpiresAt),
		KeyBits:       strconv.Itoa(int(k.Key.KeyBits)),
		KeyType:       k.Key.KeyType,
		MaxUses:       strconv.Itoa(int(k.Key.MaxUses)),
		PrivateKey:    k.Pair.PrivateKey,
		PublicKey:     k.Pair.PublicKey,
		Fingerprint:   k.Pair.Fingerprint,
		RemainingUses: strconv.Itoa(int(k.Key.RemainingUses)),
		ResultCode:    "0",
		ResultMsg:     success,
	}
}

func (a *API) createKey(w http.ResponseWriter, r *http.Request) {
	var b createKeyBody
	if !decode(w, r, &b) {
		return
	}
	c, ok := creds(w, r)
	if !ok {
		return
	}
	req := tms.KeyRequest{ClientUserID: *b.ClientUserID, Host: *b.Host, HostAccount: *b.HostAccount, NumUses: *b.NumUses, TTLMinutes: *b.TTLMinutes}
	if b.KeyType != nil {
		req.KeyType = *b.KeyType
	}
	k, err := a.svc.CreateKey(r.Context(), c, req)
	a.keyIssued(r, metrics.KeyPathClient, req.KeyType, k, err)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, IssuedKeyResponse(k))
}

// keyIssued counts a key creation request made through path and, when a
// key was issued, records it in the request's audit event.
func (a *API) keyIssued(r *http.Request, path, keyType string, k tms.IssuedKey, err error) {
	switch kind := tms.ErrorKind(err); {
	case err == nil:
		a.opts.Metrics.KeyIssued(path, k.Key.KeyType, metrics.KeyIssued)
		noteIssuedKey(r, k)
	case kind == tms.KindInternal || kind == tms.KindUnavailable:
		a.opts.Metrics.KeyIssued(path, keyType, metrics.KeyError)
	default:
		a.opts.Metrics.KeyIssued(path, keyType, metrics.KeyRefused)
		noteKeyRefusal(r, tms.RefusalOf(err))
	}
}

type retrieveBody struct {
	User        *string `json:"user"`
	UserUID     *string `json:"user_uid" opt:"true"`
	Host        *string `json:"host"`
	Fingerprint *string `json:"public_key_fingerprint"`
	KeyType     *string `json:"key_type" opt:"true"`
}

func (a *API) retrieveKey(w http.ResponseWriter, r *http.Request) {
	var b retrieveBody
	if !decode(w, r, &b) {
		return
	}
	req := tms.RetrieveRequest{User: *b.User, Host: *b.Host, Fingerprint: *b.Fingerprint}
	req.HostID, req.HostSecret = hostCredentialHeaders(r)
	if b.UserUID != nil {
		req.UserUID = *b.UserUID
	}
	if b.KeyType != nil {
		req.KeyType = *b.KeyType
	}
	res, err := a.svc.RetrieveKey(r.Context(), req)
	noteRetrieval(r, res)
	switch {
	case res.Refusal != "":
		a.opts.Metrics.KeyRetrieved(string(res.Refusal))
	case err != nil:
		a.opts.Metrics.KeyRetrieved(retrievalError)
	default:
		a.opts.Metrics.KeyRetrieved(retrievalAccepted)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		PublicKey  string `json:"public_key"`
		ResultCode string `json:"result_code"`
		ResultMsg  string `json:"result_msg"`
	}{res.PublicKey, "0", success})
}

type pubkeyElement struct {
	ClientID          string `json:"client_id"`
	ClientUserID      string `json:"client_user_id"`
	Created           Time   `json:"created"`
	ExpiresAt         Time   `json:"expires_at"`
	Host              string `json:"host"`
	HostAccount       string `json:"host_account"`
	ID                int64  `json:"id"`
	InitialTTLMinutes int32  `json:"initial_ttl_minutes"`
	KeyBits           int32  `json:"key_bits"`
	KeyType           string `json:"key_type"`
	MaxUses           int32  `json:"max_uses"`
	PublicKey         string `json:"public_key"`
	Fingerprint       string `json:"public_key_fingerprint"`
	RemainingUses     int32  `json:"remaining_uses"`
	Tenant            string `json:"tenant"`
	Updated           Time   `json:"updated"`
}

func pubkeyElem(k store.Pubkey) pubkeyElement {
	return pubkeyElement{k.ClientID, k.ClientUserID, Time(k.Created), Time(k.ExpiresAt), k.Host, k.HostAccount, k.ID,
		k.InitialTTLMinutes, k.KeyBits, k.KeyType, k.MaxUses, k.PublicKey, k.Fingerprint, k.RemainingUses, k.Tenant, Time(k.Updated)}
}

// pubkeyList answers the routes that list keys.
type pubkeyList struct {
	NumPubkeys int             `json:"num_pubkeys"`
	Pubkeys    []pubkeyElement `json:"pubkeys"`
	ResultCode string          `json:"result_code"`
	ResultMsg  string          `json:"result_msg"`
}

// listedPubkeys is the successful answer listing keys.
func listedPubkeys(keys []store.Pubkey) pubkeyList {
	out := elements(keys, pubkeyElem)
	return pubkeyList{len(out), out, "0", success}
}

func (a *API) getPubkey(w http.ResponseWriter, r *http.Request) {
	c, ok := creds(w, r)
	if !ok {
		return
	}
	id, ok := pathInt(w, r, "seqno")
	if !ok {
		return
	}
	k, err := a.svc.GetPubkey(r.Context(), c, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		pubkeyElement
		envelope
	}{pubkeyElem(k), succeeded()})
}

func (a *API) listPubkeys(w http.ResponseWriter, r *http.Request) {
	c, ok := creds(w, r)
	if !ok {
		return
	}
	list, err := a.svc.ListPubkeys(r.Context(), c)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listedPubkeys(list))
}

type pubkeyKeyBody struct {
	ClientID    *string `json:"client_id"`
	Tenant      *string `json:"tenant"`
	Host        *string `json:"host"`
	Fingerprint *string `json:"public_key_fingerprint"`
}

type updatePubkeyBody struct {
	ClientID    *string `json:"client_id"`
	Tenant      *string `json:"tenant"`
	Host        *string `json:"host"`
	Fingerprint *string `json:"public_key_fingerprint"`
	MaxUses     *int64  `json:"max_uses" opt:"true" int:"u32"`
	TTLMinutes  *int64  `json:"ttl_minutes" opt:"true" int:"u32"`
}

func (a *API) updatePubkey(w http.ResponseWriter, r *http.Request) {
	var b updatePubkeyBody
	if !decode(w, r, &b) {
		return
	}
	c, ok := creds(w, r)
	if !ok {
		return
	}
	ch := tms.PubkeyChange{
		Key:     store.PubkeyKey{Tenant: *b.Tenant, ClientID: *b.ClientID, Host: *b.Host, Fingerprint: *b.Fingerprint},
		MaxUses: b.MaxUses, TTLMinutes: b.TTLMinutes,
	}
	n, err := a.svc.UpdatePubkey(r.Context(), c, ch)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	msg := fmt.Sprintf("%d update(s) to client %s completed", n, *b.ClientID)
	if b.MaxUses == nil && b.TTLMinutes == nil {
		msg = "No updates specified"
	}
	writeJSON(w, http.StatusOK, updated(n, msg))
}

func (a *API) deletePubkey(w http.ResponseWriter, r *http.Request) {
	var b pubkeyKeyBody
	if !decode(w, r, &b) {
		return
	}
	c, ok := creds(w, r)
	if !ok {
		return
	}
	k := store.PubkeyKey{Tenant: *b.Tenant, ClientID: *b.ClientID, Host: *b.Host, Fingerprint: *b.Fingerprint}
	n, err := a.svc.DeletePubkey(r.Context(), c, k)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, deleted(n, fmt.Sprintf("key %s on host %s", k.Fingerprint, k.Host)))
}

// The results of key lookups in tms_keys_retrieved_total besides the
// refusals.
const (
	retrievalAccepted = "accepted"
	retrievalError    = "error"
)

// retrievalResults lists every result label of a key lookup.
func retrievalResults() []string {
	out := []string{retrievalAccepted, retrievalError}
	for _, r := range tms.Refusals() {
		out = append(out, string(r))
	}
	return out
}
