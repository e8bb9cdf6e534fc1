package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tmsproject/tms/internal/server"
	"github.com/tmsproject/tms/internal/server/servertest"
)

// installRoot initializes a server root directory the way
// "tms server --install" does, without starting a server.
func installRoot(t *testing.T, root string, env []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var out servertest.Buffer
	if env == nil {
		env = []string{}
	}
	if err := server.Run(ctx, server.Options{RootDir: root, Install: true, Env: env, Stdout: &out, Stderr: &out}); err != nil {
		t.Fatalf("install %s: %v\n%s", root, err, out.String())
	}
}

// startDevServer runs a --dev server on a fresh root with env as its
// whole environment, and returns it with the variables of its dev.env.
func startDevServer(t *testing.T, env ...string) (*servertest.Server, cliEnv) {
	t.Helper()
	srv := servertest.StartDev(t, env...)
	return srv, srv.DevEnv(t)
}

// cliEnv is the environment a tms command runs with.
type cliEnv map[string]string

// with returns a copy of env with the given KEY=VALUE pairs set; an empty
// value removes the key.
func (env cliEnv) with(pairs ...string) cliEnv {
	out := cliEnv{}
	for k, v := range env {
		out[k] = v
	}
	for _, kv := range pairs {
		k, v, _ := strings.Cut(kv, "=")
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// list returns env as KEY=VALUE pairs.
func (env cliEnv) list() []string {
	list := []string{}
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	return list
}

// result is what a tms command did.
type result struct {
	code           int
	stdout, stderr string
}

// run runs the tms command line with env as its whole environment.
func (env cliEnv) run(t *testing.T, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	code := Run(ctx, args, IO{In: strings.NewReader(""), Out: &out, Err: &errOut, Env: env.list()})
	return result{code, out.String(), errOut.String()}
}

// ok runs a command that must succeed and returns its standard output.
func (env cliEnv) ok(t *testing.T, args ...string) string {
	t.Helper()
	r := env.run(t, args...)
	if r.code != 0 {
		t.Fatalf("tms %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// okJSON runs a command with --json that must succeed and decodes its
// output.
func (env cliEnv) okJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	out := env.ok(t, append(args, "--json")...)
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("tms %s --json: output is not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
	if m["result_code"] != "0" {
		t.Fatalf("tms %s --json: result_code %v, want \"0\"", strings.Join(args, " "), m["result_code"])
	}
	return m
}

// fails runs a command that must exit with code and print one line naming
// want on standard error.
func (env cliEnv) fails(t *testing.T, code int, want string, args ...string) result {
	t.Helper()
	r := env.run(t, args...)
	if r.code != code {
		t.Fatalf("tms %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
	if !strings.HasPrefix(r.stderr, "tms: ") || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, want) {
		t.Fatalf("tms %s: stderr %q, want one line \"tms: ...%s...\"", strings.Join(args, " "), r.stderr, want)
	}
	return r
}

// field returns the value of a "name  value" row of table output.
func field(t *testing.T, out, name string) string {
	t.Helper()
	for line := range strings.SplitSeq(out, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == name {
			return strings.Join(f[1:], " ")
		}
	}
	t.Fatalf("no %s row in output:\n%s", name, out)
	return ""
}

// countingListener accepts connections and counts them, to prove that a
// command sent nothing.
func countingListener(t *testing.T) (url string, count *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	count = &atomic.Int64{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			count.Add(1)
			c.Close()
		}
	}()
	return "http://" + ln.Addr().String(), count
}

func TestBadInputIsAUsageErrorAndSendsNothing(t *testing.T) {
	t.Parallel()
	url, connections := countingListener(t)
	dir := t.TempDir()
	emptyFile := filepath.Join(dir, "empty")
	if err := os.WriteFile(emptyFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	existing := filepath.Join(dir, "existing.key")
	if err := os.WriteFile(existing, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := cliEnv{"TMS_URL": url, "X_TMS_TENANT": "test", "X_TMS_ADMIN_SECRET": "a", "X_TMS_CLIENT_ID": "c", "X_TMS_CLIENT_SECRET": "s"}
	key := []string{"pubkeys", "create", "--user", "u", "--host", "h", "--account", "a"}
	tests := []struct {
		name string
		env  cliEnv
		args []string
		want string
	}{
		{"missing required flag", env, []string{"usermfa", "create"}, "--user: required"},
		{"not a number", env, []string{"usermfa", "create", "--user", "u", "--ttl-minutes", "soon"}, `"--ttl-minutes"`},
		{"number out of range", env, []string{"usermfa", "create", "--user", "u", "--ttl-minutes", "3000000000"}, "--ttl-minutes: 3000000000 is out of range"},
		{"missing --enabled", env, []string{"usermfa", "update", "--user", "u"}, "--enabled: required"},
		{"bad --enabled", env, []string{"usermfa", "update", "--user", "u", "--enabled=maybe"}, `"--enabled"`},
		{"mapping update without ttl", env, []string{"userhosts", "update", "--user", "u", "--host", "h", "--account", "a"}, "--ttl-minutes: required"},
		{"delegation update without ttl", env, []string{"delegations", "update", "--client", "c", "--user", "u"}, "--ttl-minutes: required"},
		{"delegation update out of range", env, []string{"delegations", "update", "--client", "c", "--user", "u", "--ttl-minutes", "-3000000000"}, "--ttl-minutes: -3000000000 is out of range"},
		{"delegation without user", env, []string{"delegations", "create", "--client", "c"}, "--user: required"},
		{"record id not a number", env, []string{"hosts", "get", "abc"}, `ID: "abc" is not a record id`},
		{"record id missing", env, []string{"userhosts", "get"}, "expected ID"},
		{"unknown subcommand", env, []string{"clients", "frobnicate"}, `unknown command "frobnicate"`},
		{"unknown flag", env, []string{"clients", "list", "--colour"}, "--colour"},
		{"client update without change", env, []string{"clients", "update", "--client", "c"}, "give --app-version or --enabled"},
		{"unknown key type", env, append(key, "--type", "dsa"), "--type: unknown key_type"},
		{"uses out of range", env, append(key, "--uses", "2147483648"), "--uses: 2147483648 is out of range"},
		{"json with out", env, append(key, "--json", "--out", filepath.Join(dir, "k")), "--json"},
		{"stdout with out", env, append(key, "--stdout", "--out", filepath.Join(dir, "k")), "--stdout"},
		{"existing key file", env, append(key, "--out", existing), "--force"},
		{"key update without change", env, []string{"pubkeys", "update", "--host", "h", "--fingerprint", "SHA256:x"}, "give --uses or --ttl-minutes"},
		{"key update negative uses", env, []string{"pubkeys", "update", "--host", "h", "--fingerprint", "SHA256:x", "--uses", "-1"}, "--uses: -1 is out of range"},
		{"retrieve without fingerprint", env, []string{"pubkeys", "retrieve", "--account", "a", "--host", "h"}, "--fingerprint: required"},
		{"reservation id missing", env, []string{"reservations", "delete", "--related"}, "expected RESID"},
		{"wipe without --yes", env, []string{"tenants", "wipe", "lab"}, "--yes: required"},
		{"bad --as", env, []string{"clients", "list", "--as", "root"}, `--as: "root" is neither admin nor client`},
		{"wrong identity", env, []string{"usermfa", "list", "--as", "client"}, "accepts only administrator credentials"},
		{"missing secret file", env, []string{"clients", "list", "--as", "client", "--client-secret-file", filepath.Join(dir, "nope")}, "--client-secret-file"},
		{"empty secret file", env, []string{"usermfa", "list", "--admin-secret-file", emptyFile}, "the file is empty"},
		{"missing CA file", env, []string{"usermfa", "list", "--cacert", filepath.Join(dir, "nope.pem")}, "--cacert"},
		{"zero timeout", env, []string{"usermfa", "list", "--timeout", "0s"}, "--timeout"},
		{"bad URL flag", env, []string{"usermfa", "list", "--url", "tms.example.org"}, `--url: "tms.example.org" is not a server URL`},
		{"bad URL variable", env.with("TMS_URL=ftp://tms.example.org"), []string{"usermfa", "list"}, "TMS_URL"},
		{"no URL", env.with("TMS_URL="), []string{"tenants", "list"}, "no server URL: set TMS_URL or use --url"},
		{"no tenant", env.with("X_TMS_TENANT="), []string{"usermfa", "list"}, "no tenant: set X_TMS_TENANT"},
		{"bad tenant variable", env.with("X_TMS_TENANT=my tenant"), []string{"usermfa", "list"}, "X_TMS_TENANT: only visible ASCII"},
		{"no admin secret", env.with("X_TMS_ADMIN_SECRET="), []string{"usermfa", "list"}, "set X_TMS_ADMIN_SECRET"},
		{"no client secret", env.with("X_TMS_CLIENT_SECRET="), key, "set X_TMS_CLIENT_SECRET"},
		{"no credentials", env.with("X_TMS_CLIENT_SECRET=", "X_TMS_ADMIN_SECRET="), []string{"clients", "list"}, "needs administrator or client credentials"},
		{"admin without tenant", cliEnv{}, []string{"admin", "enable-tenant"}, "--tenant: required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.env.fails(t, 2, tc.want, tc.args...)
		})
	}
	if n := connections.Load(); n != 0 {
		t.Errorf("bad input reached the server: %d connections", n)
	}
	if data, err := os.ReadFile(existing); err != nil || string(data) != "keep me" {
		t.Errorf("the existing key file changed: %q, %v", data, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("files were left behind in %s: %v", dir, entries)
	}
}

func TestServerUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	cliEnv{"TMS_URL": url}.fails(t, 1, "connection refused", "tenants", "get", "test")
}

// TestDocs checks the help of every command: a Use line, a short
// description, an example for every command that does something, and a
// description of every flag.
func TestDocs(t *testing.T) {
	root := NewRootCommand(IO{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	var walk func(cmd *cobra.Command)
	walk = func(cmd *cobra.Command) {
		path := cmd.CommandPath()
		if strings.TrimSpace(cmd.Use) == "" {
			t.Errorf("%s: no Use", path)
		}
		if strings.TrimSpace(cmd.Short) == "" {
			t.Errorf("%s: no Short", path)
		}
		if strings.HasSuffix(cmd.Short, ".") {
			t.Errorf("%s: Short %q ends with a period", path, cmd.Short)
		}
		if !cmd.HasSubCommands() && strings.TrimSpace(cmd.Example) == "" {
			t.Errorf("%s: no Example", path)
		}
		cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if strings.TrimSpace(f.Usage) == "" {
				t.Errorf("%s --%s: no usage text", path, f.Name)
			}
		})
		for _, sub := range cmd.Commands() {
			if sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			walk(sub)
		}
	}
	walk(root)

	// The flags quoted in the server's error messages must exist.
	for _, line := range []string{
		"usermfa create --user U --ttl-minutes 5",
		"usermfa update --user U --enabled=true",
		"usermfa delete --user U",
		"userhosts create --user U --host H --account A --ttl-minutes 5",
		"userhosts update --user U --host H --account A --ttl-minutes 5",
		"delegations create --client C --user U --ttl-minutes 5",
		"delegations update --client C --user U --ttl-minutes 5",
	} {
		args := strings.Fields(line)
		cmd, rest, err := root.Find(args)
		if err != nil {
			t.Errorf("tms %s: %v", line, err)
			continue
		}
		if err := cmd.ParseFlags(rest); err != nil {
			t.Errorf("tms %s: %v", line, err)
		}
	}
}
