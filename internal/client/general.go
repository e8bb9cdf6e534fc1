package client

import (
	"context"
	"net/http"
	"net/url"
)

// ServerVersion answers Version.
type ServerVersion struct {
	Envelope
	TMSVersion string `json:"tms_version"`
	GitBranch  string `json:"git_branch"`
	GitCommit  string `json:"git_commit"`
	GitDirty   string `json:"git_dirty"`
	SourceTS   string `json:"source_ts"`
	// GoVersion is sent by the Go server; the Rust server sends RustcVersion.
	GoVersion    string `json:"go_version,omitempty"`
	RustcVersion string `json:"rustc_version,omitempty"`
}

// Hello asks the server for its greeting (GET /v1/tms/hello), a plain-text
// liveness check; name, when not empty, is greeted.
func (c *Client) Hello(ctx context.Context, name string) (string, error) {
	var q url.Values
	if name != "" {
		q = url.Values{"name": {name}}
	}
	data, err := c.send(ctx, http.MethodGet, "/v1/tms/hello", q, nil)
	return string(data), err
}

// Version returns the server's version (GET /v1/tms/version).
func (c *Client) Version(ctx context.Context) (ServerVersion, error) {
	return call[ServerVersion](ctx, c, http.MethodGet, "/v1/tms/version", nil, nil)
}
