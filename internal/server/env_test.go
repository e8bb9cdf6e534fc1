package server_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tmsproject/tms/internal/config"
	"github.com/tmsproject/tms/internal/envnames"
	"github.com/tmsproject/tms/internal/server"
	"github.com/tmsproject/tms/internal/server/servertest"
)

// TestUnknownEnvironmentVariable: a mistyped TMS_* variable is reported at
// start; the variables of the settings, of an upstream provider's secret,
// of a directory's search password, of the client tools, dev.env and the
// tests are not.
func TestUnknownEnvironmentVariable(t *testing.T) {
	known := []string{"TMS_HTTP_ADDR=http://127.0.0.1", "TMS_URL=http://127.0.0.1:1", "TMS_PUBKEY_HOST=h", "TMS_PARSE_RESPONSE=1",
		"TMS_DEV_PASSWORD=p", "TMS_TEST_POSTGRES_URL=postgres://x", "TMS_ROOT_DIR=/nonexistent", "X_TMS_TENANT=test", "TMSX=1"}
	// Mistyped names (written in two parts, so that the check of the
	// sources below does not find them).
	prot, flite := "TMS_HTTP_"+"PROT", "TMS_LIMITS_MAX_IN_"+"FLITE"
	env := append(baseEnv(t, known...), prot+"=3001", flite+"=5", prot+"=3002")
	r := servertest.Start(t, server.Options{Env: env})
	out := r.Output.String()
	for _, name := range []string{prot, flite} {
		if n := strings.Count(out, "environment variable "+name+" is not a TMS setting"); n != 1 {
			t.Errorf("the server warned %d times about %s, want once:\n%s", n, name, out)
		}
	}
	for _, kv := range known {
		name, _, _ := strings.Cut(kv, "=")
		if strings.Contains(out, "environment variable "+name+" ") {
			t.Errorf("the server warned about %s, which TMS reads:\n%s", name, out)
		}
	}
}

// TestEveryTMSVariableIsKnown: every TMS_* name in the sources and scripts
// is a setting's variable or one of package envnames, so the server never
// warns about a variable that some part of TMS reads.
func TestEveryTMSVariableIsKnown(t *testing.T) {
	known := append(config.EnvNames(config.Default()), envnames.All()...)
	name := regexp.MustCompile(`\bTMS_[A-Z0-9_]*[A-Z0-9]\b`)
	root := filepath.Join("..", "..")
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || d.Name() == "testdata" || d.Name() == "tmp") {
			return filepath.SkipDir
		}
		if d.IsDir() || !(strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".sh") || strings.HasSuffix(path, ".md") ||
			filepath.Base(filepath.Dir(path)) == ".ci") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		for _, found := range name.FindAllString(string(data), -1) {
			switch {
			case slices.Contains(known, found):
			case strings.HasPrefix(found, "TMS_OAUTH_UPSTREAM_"): // an upstream provider's secret
			case strings.HasPrefix(found, "TMS_OAUTH_LDAP_") && strings.HasSuffix(found, "_BIND_PASSWORD"): // a directory's search password
			case found == "TMS_SECTION_KEY" || found == "TMS_USER_ID": // the form of a setting's name; a table heading
			default:
				t.Errorf("%s: %s is neither a setting's variable nor in package envnames", path, found)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("checked only %d files", checked)
	}
}
