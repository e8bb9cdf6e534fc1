package e2e

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/server/servertest"
)

// hostName is the login host's name in TMS.
const hostName = "e2e-login"

// repeatWindow is the server's repeat window in these tests: the two
// lookups of one login fall inside it, and the test waits it out before a
// second login.
const repeatWindow = 2 * time.Second

// lookupTimeout is the helper's timeout where the test measures it.
const lookupTimeout = 2 * time.Second

// TestSSHDLogin logs in to a real sshd whose AuthorizedKeysCommand is the
// built "tms authorized-keys", configured with what "tms sshd-config"
// prints, using keys issued by a real TMS server.
func TestSSHDLogin(t *testing.T) {
	requireSSHD(t)
	binary := buildTMS(t, installDir(t))
	h := newHelper(t, binary, hostName)
	alice, bob := newAccount(t), newAccount(t)

	srv := startTMS(t, "TMS_KEYS_REPEAT_WINDOW="+repeatWindow.String())
	akcLines, _ := h.setupOutput(t, srv.URL, "5s", false)
	h.configure(t, srv.URL, "5s", false)
	sshd := startSSHD(t, akcLines, alice, bob)

	fresh := srv.createKey(t, "alice", hostName, alice.name, 0, 0)
	t.Run("fresh key logs in and runs a command", func(t *testing.T) {
		mark := h.logSize(t)
		sshd.wantLogin(t, h, alice, fresh)
		lines := h.logLines(t, mark)
		t.Logf("one login ran the helper %d times", len(lines))
		wantLogMention(t, lines, "key accepted")
		wantLogMention(t, lines, "fingerprint="+fresh.fingerprint)
	})

	t.Run("single-use key logs in once", func(t *testing.T) {
		once := srv.createKey(t, "alice", hostName, alice.name, 1, 0)
		sshd.wantLogin(t, h, alice, once)
		if n := srv.remainingUses(t, once); n != 0 {
			t.Fatalf("remaining uses after one login: %d, want 0 (the probe and the signed attempt count once)", n)
		}
		time.Sleep(repeatWindow + 500*time.Millisecond)
		_, lines := sshd.wantRefused(t, h, alice, once)
		wantLogMention(t, lines, "no key")
	})

	t.Run("expired key is refused", func(t *testing.T) {
		k := srv.createKey(t, "alice", hostName, alice.name, 0, 60)
		sshd.wantLogin(t, h, alice, k)
		body := k.body()
		body["ttl_minutes"] = 0
		srv.call(t, false, http.MethodPatch, "/v1/tms/pubkeys", body, nil)
		sshd.wantRefused(t, h, alice, k)
	})

	t.Run("deleted key is refused", func(t *testing.T) {
		k := srv.createKey(t, "alice", hostName, alice.name, 0, 0)
		sshd.wantLogin(t, h, alice, k)
		srv.call(t, false, http.MethodDelete, "/v1/tms/pubkeys/del", k.body(), nil)
		sshd.wantRefused(t, h, alice, k)
	})

	t.Run("key of another host account is refused", func(t *testing.T) {
		k := srv.createKey(t, "bob", hostName, bob.name, 0, 0)
		sshd.wantRefused(t, h, alice, k)
		sshd.wantLogin(t, h, bob, k)
	})

	t.Run("key issued for another host is refused", func(t *testing.T) {
		k := srv.createKey(t, "alice", "other-login", alice.name, 0, 0)
		sshd.wantRefused(t, h, alice, k)
	})

	t.Run("key of a user whose MFA was disabled is refused", func(t *testing.T) {
		k := srv.createKey(t, "carol", hostName, alice.name, 0, 0)
		sshd.wantLogin(t, h, alice, k)
		srv.call(t, true, http.MethodPatch, "/v1/tms/usermfa/upd", map[string]any{"tenant": "test", "tms_user_id": "carol", "enabled": false}, nil)
		sshd.wantRefused(t, h, alice, k)
	})

	t.Run("key of another tenant is refused at a host a tenant registered", func(t *testing.T) {
		// The default tenant registers the host; the test tenant's key no
		// longer logs in there, until the registration is deleted.
		adminEnv := []string{"TMS_URL=" + srv.URL, "X_TMS_TENANT=default",
			"X_TMS_ADMIN_SECRET=" + servertest.AdminSecrets(srv.Stdout.String())["default"]}
		runProgram(t, adminEnv, binary, "hosts", "credentials", "create", "--host", hostName, "--secret-file", filepath.Join(t.TempDir(), "secret"))
		sshd.wantRefused(t, h, alice, fresh)
		runProgram(t, adminEnv, binary, "hosts", "credentials", "delete", "--host", hostName)
		sshd.wantLogin(t, h, alice, fresh)
	})

	t.Run("measure", func(t *testing.T) {
		measureLogins(t, sshd, alice, fresh)
		measureHelper(t, h, alice, fresh)
	})

	t.Run("server down fails closed", func(t *testing.T) {
		srv.Stop(t)
		r, lines := sshd.wantRefused(t, h, alice, fresh)
		wantLogMention(t, lines, "connection refused")
		t.Logf("login refused %v after the server stopped (helper timeout 5s, helper log: %s)",
			r.duration.Round(time.Millisecond), helperDurations(lines))
	})

	t.Run("unresponsive server fails closed within the helper's timeout", func(t *testing.T) {
		silent := silentServer(t)
		h.configure(t, silent, lookupTimeout.String(), false)
		r, lines := sshd.wantRefused(t, h, alice, fresh)
		wantLogMention(t, lines, "no answer from")
		// sshd stretches a failed attempt to a multiple of its per-user
		// failure delay, so the login takes up to twice the time the helper
		// ran.
		t.Logf("login refused %v after it started against a server that never answers (helper timeout %v, %d lookup(s), helper log: %s)",
			r.duration.Round(time.Millisecond), lookupTimeout, len(lines), helperDurations(lines))
	})

	t.Run("host credential", func(t *testing.T) {
		strict := startTMS(t, "TMS_KEYS_REPEAT_WINDOW="+repeatWindow.String(), "TMS_KEYS_REQUIRE_HOST_CREDENTIAL=true")
		k := strict.createKey(t, "alice", hostName, alice.name, 1, 0)

		// The administrator creates the credential with the CLI, straight
		// into the file the helper reads.
		runProgram(t, []string{"TMS_URL=" + strict.URL, "X_TMS_TENANT=test", "X_TMS_ADMIN_SECRET=" + strict.adminSecret},
			binary, "hosts", "credentials", "create", "--host", hostName, "--secret-file", h.hostSecret)
		nobody := lookupIDs(t, akcUser)
		if err := os.Chown(h.hostSecret, 0, nobody.gid); err != nil {
			t.Fatal(err)
		}
		chmod(t, h.hostSecret, 0o440)

		h.configure(t, strict.URL, "5s", false)
		_, lines := sshd.wantRefused(t, h, alice, k)
		wantLogMention(t, lines, "status 401 Unauthorized")
		if n := strict.remainingUses(t, k); n != 1 {
			t.Fatalf("remaining uses after a login without the host credential: %d, want 1", n)
		}

		// A secret file every user can read makes the configuration
		// unusable; the helper says so on standard error, which an sshd
		// logging to its own standard error (-e) passes on.
		h.configure(t, strict.URL, "5s", true)
		chmod(t, h.hostSecret, 0o444)
		if r := sshd.login(t, alice, k); r.ok {
			t.Fatal("login succeeded with a world-readable host secret file")
		}
		if !strings.Contains(sshd.output.String(), "host_secret_file: "+h.hostSecret+" is readable or writable by every user") {
			t.Fatalf("sshd's log does not show the helper refusing the world-readable secret file:\n%s", sshd.output)
		}
		chmod(t, h.hostSecret, 0o440)

		sshd.wantLogin(t, h, alice, k)
		if n := strict.remainingUses(t, k); n != 0 {
			t.Fatalf("remaining uses after a login with the host credential: %d, want 0", n)
		}

		unlimited := strict.createKey(t, "alice", hostName, alice.name, 0, 0)
		measureHelper(t, h, alice, unlimited)
	})
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// helperDurations lists the durations the helper logged.
func helperDurations(lines []string) string {
	var out []string
	for _, line := range lines {
		for field := range strings.FieldsSeq(line) {
			if d, ok := strings.CutPrefix(field, "duration="); ok {
				out = append(out, d)
			}
		}
	}
	return strings.Join(out, ", ")
}

// silentServer accepts connections and never answers, and returns its URL.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return "http://" + ln.Addr().String()
}

// measureLogins logs the time of whole ssh logins with a key TMS accepts.
func measureLogins(t *testing.T, s *sshd, a account, k key) {
	t.Helper()
	const runs = 10
	durations := make([]time.Duration, 0, runs)
	for range runs {
		durations = append(durations, s.login(t, a, k).duration)
	}
	t.Logf("ssh login with a TMS key, %d runs: %s", runs, summarize(durations))
}

// measureHelper logs the time one run of "tms authorized-keys" takes, from
// process start to exit, for a key the server accepts, as sshd runs it.
func measureHelper(t *testing.T, h *helper, a account, k key) {
	t.Helper()
	const runs = 100
	durations := make([]time.Duration, 0, runs)
	for range runs {
		ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
		cmd := exec.CommandContext(ctx, h.binary, "authorized-keys", "--config", h.config, a.name, a.uid, k.fingerprint, "ssh-ed25519")
		cmd.Env = []string{}
		var stdout bytes.Buffer
		cmd.Stdout = &stdout
		start := time.Now()
		err := cmd.Run()
		durations = append(durations, time.Since(start))
		cancel()
		if err != nil || !strings.HasPrefix(stdout.String(), "ssh-ed25519 ") {
			t.Fatalf("tms authorized-keys: %v, stdout %q", err, stdout.String())
		}
	}
	t.Logf("tms authorized-keys, process start to exit, %d runs: %s", runs, summarize(durations))
}

// summarize describes a set of durations by median, 90th percentile and
// range.
func summarize(d []time.Duration) string {
	s := slices.Clone(d)
	slices.Sort(s)
	ms := func(d time.Duration) string { return d.Round(10 * time.Microsecond).String() }
	return "median " + ms(s[len(s)/2]) + ", p90 " + ms(s[len(s)*9/10]) + ", min " + ms(s[0]) + ", max " + ms(s[len(s)-1])
}
