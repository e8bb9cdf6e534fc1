package server_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tmsproject/tms/internal/clocktest"
	"github.com/tmsproject/tms/internal/server"
	"github.com/tmsproject/tms/internal/server/servertest"
)

// downUpstreamConfig writes a configuration with an upstream provider that
// nothing answers for, and returns its path.
func downUpstreamConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	secret := filepath.Join(dir, "campus.secret")
	conf := filepath.Join(dir, "tms.toml")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	body := `[[oauth.upstream]]
id = "campus"
tenant = "test"
name = "Campus sign-in"
issuer = "http://127.0.0.1:1/realms/hpc"
client_id = "tms"
client_secret_file = "` + secret + `"
`
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return conf
}

// TestUpstreamDownAtStart: the server starts while an upstream provider
// cannot be reached, says so in its log, stays ready, and --print-config
// shows the provider's redirect URI.
func TestUpstreamDownAtStart(t *testing.T) {
	conf := downUpstreamConfig(t)
	srv := servertest.Start(t, server.Options{Dev: true, ConfigFile: conf})
	resp, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz: %d", resp.StatusCode)
	}
	clocktest.Eventually(t, "the log of the failed discovery", func() bool {
		return strings.Contains(srv.Output.String(), "identity provider unavailable; retrying")
	})

	var out servertest.Buffer
	if err := server.Run(t.Context(), server.Options{ConfigFile: conf, RootDir: t.TempDir(), PrintConfig: true, Env: []string{},
		Stdout: &out, Stderr: &out}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `oauth.upstream[campus].redirect_uri`) ||
		!strings.Contains(out.String(), `/v1/oauth2/upstream/campus/callback"`) || strings.Contains(out.String(), "s3cret") {
		t.Fatalf("print-config:\n%s", out.String())
	}
}
