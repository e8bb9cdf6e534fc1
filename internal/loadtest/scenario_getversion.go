package loadtest

import (
	"context"
	"fmt"
	"net/http"
)

// getVersionScenario reads the server version: no credentials, no database.
func getVersionScenario() Scenario {
	return Scenario{
		Name:    "getversion",
		Summary: "GET /v1/tms/version without credentials; expects 200 and a JSON body",
		Prepare: func(_ context.Context, env *Env) (Action, error) {
			req, err := env.client.newRequest(http.MethodGet, "/v1/tms/version", http.Header{}, nil, http.StatusOK, checkJSONObject)
			if err != nil {
				return nil, err
			}
			return &singleRequest{client: env.client, req: req, explain: func(o Outcome) string {
				if o.Status == http.StatusNotFound {
					return fmt.Sprintf("%s answers 404 for /v1/tms/version: TMS_URL must be the server's base address, without /v1 or any other path", env.Inputs.URL)
				}
				return ""
			}}, nil
		},
	}
}
