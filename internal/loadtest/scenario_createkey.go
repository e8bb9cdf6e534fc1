package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// createKeyScenario asks for a new key pair for the client user, exactly as
// the original suite does.
func createKeyScenario() Scenario {
	return Scenario{
		Name:    "createkey",
		Summary: "POST /v1/tms/pubkeys/creds for --client-user on TMS_PUBKEY_USER@TMS_PUBKEY_HOST; expects 201",
		Prepare: func(_ context.Context, env *Env) (Action, error) {
			req, err := newCreateKeyRequest("createkey", env)
			if err != nil {
				return nil, err
			}
			return &singleRequest{client: env.client, req: req, explain: func(o Outcome) string {
				return explainCreateKey(env.Inputs, o)
			}}, nil
		},
	}
}

// createKeyBody is the key-creation request; the field order is the wire
// order of the original suite.
type createKeyBody struct {
	ClientUserID string `json:"client_user_id"`
	Host         string `json:"host"`
	HostAccount  string `json:"host_account"`
	NumUses      int    `json:"num_uses"`
	TTLMinutes   int    `json:"ttl_minutes"`
	KeyType      string `json:"key_type"`
}

// createdKey is the part of the key-creation response the suite checks.
// key_bits, max_uses and remaining_uses are strings on the wire.
type createdKey struct {
	Fingerprint   string `json:"public_key_fingerprint"`
	PublicKey     string `json:"public_key"`
	PrivateKey    string `json:"private_key"`
	KeyType       string `json:"key_type"`
	KeyBits       string `json:"key_bits"`
	MaxUses       string `json:"max_uses"`
	RemainingUses string `json:"remaining_uses"`
	ExpiresAt     string `json:"expires_at"`
}

// newCreateKeyRequest builds the key-creation request for scenario, which
// names who needs it in error messages.
func newCreateKeyRequest(scenario string, env *Env) (*request, error) {
	header, err := clientHeaders(scenario, env.Inputs)
	if err != nil {
		return nil, err
	}
	header.Set("Accept", "application/json")
	keyType, err := canonicalKeyType(env.Inputs.KeyType)
	if err != nil {
		return nil, &InputError{Err: fmt.Errorf("TMS_PUBKEY_KEYTYPE: %w", err)}
	}
	body, err := json.Marshal(createKeyBody{
		ClientUserID: env.Inputs.ClientUser,
		Host:         env.Inputs.PubkeyHost,
		HostAccount:  env.Inputs.PubkeyUser,
		NumUses:      -1,
		TTLMinutes:   -1,
		KeyType:      keyType,
	})
	if err != nil {
		return nil, fmt.Errorf("encode createkey body: %w", err)
	}
	return env.client.newRequest(http.MethodPost, "/v1/tms/pubkeys/creds", header, body, http.StatusCreated, checkCreatedKey)
}

// decodeCreatedKey reads and checks a key-creation response.
func decodeCreatedKey(body []byte) (createdKey, error) {
	var k createdKey
	if err := json.Unmarshal(body, &k); err != nil {
		return createdKey{}, fmt.Errorf("createkey response is not the expected JSON: %w", err)
	}
	switch {
	case checkFingerprint(k.Fingerprint) != nil:
		return createdKey{}, fmt.Errorf("createkey response has no valid public_key_fingerprint")
	case k.PublicKey == "":
		return createdKey{}, fmt.Errorf("createkey response has no public_key")
	case !strings.Contains(k.PrivateKey, "PRIVATE KEY"):
		return createdKey{}, fmt.Errorf("createkey response has no private_key")
	case k.KeyType == "" || k.KeyBits == "" || k.MaxUses == "" || k.RemainingUses == "" || k.ExpiresAt == "":
		return createdKey{}, fmt.Errorf("createkey response lacks key_type, key_bits, max_uses, remaining_uses or expires_at")
	}
	return k, nil
}

func checkCreatedKey(body []byte) error {
	_, err := decodeCreatedKey(body)
	return err
}

// explainCreateKey says why the server refused to create a key.
func explainCreateKey(in Inputs, o Outcome) string {
	if o.Status != http.StatusForbidden {
		return ""
	}
	msg := decodeEnvelope(o.Body).ResultMsg
	if msg == "" {
		msg = "no reason given"
	}
	return fmt.Sprintf("the server refuses to create a key for client user %q on account %q at host %q (403: %s): "+
		"enable MVP mode on the server, or give the user an MFA record, a host mapping and a delegation to client %q",
		in.ClientUser, in.PubkeyUser, in.PubkeyHost, msg, in.ClientID)
}
