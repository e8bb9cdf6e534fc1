package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/tmsproject/tms/internal/envnames"
	"github.com/tmsproject/tms/internal/tms"
)

// writeDevEnv writes <root>/dev.env for a --dev server and returns its
// variables. It keeps the test administrator secret of an existing
// dev.env; when the file is missing and the secret is not freshly created,
// it rotates the secret (only its hash is stored) so the new file holds a
// working one. It also makes the test user testuser1 sign in with the
// password and TOTP secret of an existing dev.env, or new ones, and writes
// them as TMS_DEV_USER, TMS_DEV_PASSWORD and TMS_DEV_TOTP_SECRET.
//
// Rotating is safe only when no other root's dev.env holds the secrets:
// when the database is not this root's own (PostgreSQL, or a SQLite file
// elsewhere) and another root initialized it, writeDevEnv refuses instead.
func writeDevEnv(ctx context.Context, layout Layout, svc *tms.Service, created []tms.AdminSecret, baseURL string,
	ownDatabase bool) ([][2]string, error) {
	path := layout.DevEnv()
	adminSecret := ""
	for _, s := range created {
		if s.Tenant == tms.TestTenant {
			adminSecret = s.Secret
		}
	}
	existing, err := ReadDevEnv(path)
	if err != nil {
		return nil, err
	}
	if adminSecret == "" {
		adminSecret = existing["X_TMS_ADMIN_SECRET"]
	}
	if adminSecret == "" && !ownDatabase {
		return nil, fmt.Errorf("the database was initialized by another TMS root: --dev would replace the test tenant's "+
			"administrator secret and the password of %s, which that root's dev.env holds; to share the database, "+
			"copy that dev.env to %s, or use a database of this root's own", tms.TestUser, path)
	}
	if adminSecret == "" {
		rotated, err := svc.RotateAdminSecret(ctx, tms.TestTenant)
		if err != nil {
			return nil, fmt.Errorf("rotate the test administrator secret for %s: %w", path, err)
		}
		adminSecret = rotated.Secret
	}
	// The test user signs in to the browser pages of tms login; keep the
	// password and TOTP secret of an earlier run.
	user, err := svc.EnsureDevUser(ctx, existing[envnames.DevPassword], existing[envnames.DevTOTPSecret])
	if err != nil {
		return nil, fmt.Errorf("create the test user for %s: %w", path, err)
	}
	vars := [][2]string{
		{envnames.URL, baseURL},
		{"X_TMS_TENANT", tms.TestTenant},
		{"X_TMS_ADMIN_ID", tms.AdminID},
		{"X_TMS_ADMIN_SECRET", adminSecret},
		{"X_TMS_CLIENT_ID", tms.TestClientID},
		{"X_TMS_CLIENT_SECRET", tms.TestClientSecret},
		{envnames.PubkeyHost, tms.TestHost},
		{envnames.PubkeyUser, tms.TestHostAccount},
		{envnames.PubkeyUserID, "1"},
		{envnames.PubkeyKeyType, "ed25519"},
		{envnames.DevUser, user.Username},
		{envnames.DevPassword, user.Password},
		{envnames.DevTOTPSecret, user.TOTPSecret},
	}
	return vars, writeDevEnvFile(path, vars, "")
}

// stoppedDevEnv rewrites dev.env when its server stops: the credentials
// stay for the next start, but TMS_URL goes, so that no command is sent
// to a server that is gone.
func stoppedDevEnv(layout Layout, vars [][2]string) error {
	var kept [][2]string
	for _, kv := range vars {
		if kv[0] != envnames.URL {
			kept = append(kept, kv)
		}
	}
	note := "# The server stopped at " + time.Now().UTC().Format(time.RFC3339) +
		"; \"tms server --dev\" starts it again and writes its TMS_URL here.\nunset " + envnames.URL + "\n"
	return writeDevEnvFile(layout.DevEnv(), kept, note)
}

func writeDevEnvFile(path string, vars [][2]string, note string) error {
	var b strings.Builder
	b.WriteString("# Credentials of the test tenant of a TMS development server (tms server --dev).\n")
	b.WriteString("# Load them into a shell with:  . " + path + "\n")
	b.WriteString(note)
	for _, kv := range vars {
		fmt.Fprintf(&b, "export %s='%s'\n", kv[0], kv[1])
	}
	return writeAtomic(path, []byte(b.String()))
}

// ReadDevEnv parses the export lines of a dev.env into its variables; a
// missing file gives an empty map.
func ReadDevEnv(path string) (map[string]string, error) {
	out := map[string]string{}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		line, ok := strings.CutPrefix(line, "export ")
		if !ok {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		out[k] = strings.Trim(v, `'"`)
	}
	return out, sc.Err()
}
