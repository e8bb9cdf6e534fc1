package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// getClientScenario reads the configured client's own record with its
// credentials.
func getClientScenario() Scenario {
	return Scenario{
		Name:    "getclient",
		Summary: "GET /v1/tms/client/{X_TMS_CLIENT_ID} with client credentials; expects 200",
		Prepare: func(_ context.Context, env *Env) (Action, error) {
			header, err := clientHeaders("getclient", env.Inputs)
			if err != nil {
				return nil, err
			}
			clientID := env.Inputs.ClientID
			req, err := env.client.newRequest(http.MethodGet, "/v1/tms/client/"+url.PathEscape(clientID), header, nil,
				http.StatusOK, func(body []byte) error { return checkClientRecord(body, clientID) })
			if err != nil {
				return nil, err
			}
			return &singleRequest{client: env.client, req: req, explain: func(o Outcome) string {
				if o.Status == http.StatusNotFound {
					return fmt.Sprintf("client %q is not found in tenant %q: check X_TMS_CLIENT_ID", clientID, env.Inputs.Tenant)
				}
				return ""
			}}, nil
		},
	}
}

// checkClientRecord accepts a client record of the given client.
func checkClientRecord(body []byte, clientID string) error {
	var rec struct {
		ClientID   string `json:"client_id"`
		ResultCode string `json:"result_code"`
	}
	if err := json.Unmarshal(body, &rec); err != nil {
		return fmt.Errorf("client record is not the expected JSON: %w", err)
	}
	if rec.ClientID != clientID {
		return fmt.Errorf("client record is for client %q, not %q", rec.ClientID, clientID)
	}
	return nil
}
