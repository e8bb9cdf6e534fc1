package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

// The OAuth issuer of a tenant on a server is server + tenantIssuerPath +
// tenant; its RFC 8414 metadata is at the well-known path inserted before
// the issuer's path (RFC 8414 §3.1).
const (
	tenantIssuerPath = "/v1/oauth2/tenants/"
	metadataPrefix   = "/.well-known/oauth-authorization-server"
	maxMetadataBytes = 1 << 20
)

// issuerMetadata is what tms login reads of a tenant's metadata.
type issuerMetadata struct {
	Issuer                      string `json:"issuer"`
	DeviceAuthorizationEndpoint string `json:"device_authorization_endpoint"`
	TokenEndpoint               string `json:"token_endpoint"`
}

// tenantOAuthConfig reads the metadata of the tenant's issuer on server and
// returns the x/oauth2 configuration of tms login for the tenant's
// endpoints. The issuer must name the tenant; its host may differ from
// server's, since the server names itself by its public URL, which the
// user may reach by another name (127.0.0.1 for localhost, say).
func tenantOAuthConfig(ctx context.Context, hc *http.Client, server, tenant string) (*oauth2.Config, error) {
	issuerPath := tenantIssuerPath + url.PathEscape(tenant)
	where := fmt.Sprintf("read the OAuth metadata of tenant %s at %s", tenant, server)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, server+metadataPrefix+issuerPath, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("tenant %s does not exist or is disabled at %s", tenant, server)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%s: the server answered %s", where, resp.Status)
	}
	var md issuerMetadata
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxMetadataBytes)).Decode(&md); err != nil {
		return nil, fmt.Errorf("%s: not JSON metadata: %w", where, err)
	}
	if !strings.HasSuffix(md.Issuer, issuerPath) {
		return nil, fmt.Errorf("%s: issuer %q is not the issuer of the tenant", where, md.Issuer)
	}
	for field, v := range map[string]string{"device_authorization_endpoint": md.DeviceAuthorizationEndpoint, "token_endpoint": md.TokenEndpoint} {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("%s: %s: %q is not an http(s) URL", where, field, v)
		}
	}
	return &oauth2.Config{
		ClientID: cliClientID,
		Endpoint: oauth2.Endpoint{DeviceAuthURL: md.DeviceAuthorizationEndpoint, TokenURL: md.TokenEndpoint,
			AuthStyle: oauth2.AuthStyleInParams},
		Scopes: []string{cliScope},
	}, nil
}
