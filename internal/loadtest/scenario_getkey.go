package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// getKeyScenario looks a public key up as sshd's AuthorizedKeysCommand does.
// With no fingerprint given, it creates the key to look up first.
func getKeyScenario() Scenario {
	return Scenario{
		Name:    "getkey",
		Summary: "POST /v1/tms/pubkeys/creds/retrieve for TMS_PUBKEY_FINGERPRINT (created first if unset); expects 200",
		Prepare: prepareGetKey,
	}
}

// retrieveBody is the retrieval request of the original suite; it sends
// "keytype", which the server ignores.
type retrieveBody struct {
	User        string `json:"user"`
	UserUID     string `json:"user_uid"`
	KeyType     string `json:"keytype"`
	Host        string `json:"host"`
	Fingerprint string `json:"public_key_fingerprint"`
}

func prepareGetKey(ctx context.Context, env *Env) (Action, error) {
	in := env.Inputs
	fingerprint := in.Fingerprint
	created := fingerprint == ""
	if created {
		var err error
		if fingerprint, err = createFixtureKey(ctx, env); err != nil {
			return nil, err
		}
	}
	body, err := json.Marshal(retrieveBody{
		User:        in.PubkeyUser,
		UserUID:     in.PubkeyUserID,
		KeyType:     in.KeyType,
		Host:        in.PubkeyHost,
		Fingerprint: fingerprint,
	})
	if err != nil {
		return nil, fmt.Errorf("encode getkey body: %w", err)
	}
	header := http.Header{}
	header.Set("Content-Type", "application/json")
	req, err := env.client.newRequest(http.MethodPost, "/v1/tms/pubkeys/creds/retrieve", header, body, http.StatusOK, checkRetrievedKey)
	if err != nil {
		return nil, err
	}
	return &singleRequest{client: env.client, req: req, explain: func(o Outcome) string {
		if o.Status != http.StatusNotFound {
			return ""
		}
		if created {
			return fmt.Sprintf("the key %s was just created for account %q on host %q, but the server does not return it (404): "+
				"the server's retrieval rules refuse it", fingerprint, in.PubkeyUser, in.PubkeyHost)
		}
		return fmt.Sprintf("TMS_PUBKEY_FINGERPRINT %s is not known to this server for account %q on host %q (404): "+
			"unset it to let the suite create a key, or set TMS_PUBKEY_USER and TMS_PUBKEY_HOST to the key's host account and host",
			fingerprint, in.PubkeyUser, in.PubkeyHost)
	}}, nil
}

// createFixtureKey creates the key getkey retrieves and returns its
// fingerprint.
func createFixtureKey(ctx context.Context, env *Env) (string, error) {
	req, err := newCreateKeyRequest("getkey without TMS_PUBKEY_FINGERPRINT", env)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, preflightTimeout)
	defer cancel()
	o := env.client.send(ctx, req, true)
	if o.Failed() || o.Class == ClassAborted {
		return "", &PreflightError{Scenario: "getkey", Message: "TMS_PUBKEY_FINGERPRINT is not set and creating a key to retrieve failed: " +
			explain(env.Inputs, "createkey", o, explainCreateKey(env.Inputs, o))}
	}
	key, err := decodeCreatedKey(o.Body)
	if err != nil {
		return "", &PreflightError{Scenario: "getkey", Message: "creating a key to retrieve: " + err.Error()}
	}
	env.Note("TMS_PUBKEY_FINGERPRINT is not set: created an %s key for client user %q on account %q at host %q: %s "+
		"(export TMS_PUBKEY_FINGERPRINT=%s to reuse it)", key.KeyType, env.Inputs.ClientUser, env.Inputs.PubkeyUser,
		env.Inputs.PubkeyHost, key.Fingerprint, key.Fingerprint)
	return key.Fingerprint, nil
}

// checkRetrievedKey accepts a retrieval response with a public key.
func checkRetrievedKey(body []byte) error {
	var r struct {
		PublicKey string `json:"public_key"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("getkey response is not the expected JSON: %w", err)
	}
	if r.PublicKey == "" {
		return fmt.Errorf("getkey response has no public_key")
	}
	return nil
}
