package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/tmsproject/tms/internal/envnames"
	"github.com/tmsproject/tms/internal/tms"
)

// writeDevEnv writes <root>/dev.env for a --dev server. It keeps the test
// administrator secret of an existing dev.env; when the file is missing and
// the secret is not freshly created, it rotates the secret (only its hash is
// stored) so the new file holds a working one. It also makes the test user
// testuser1 sign in with the password and TOTP secret of an existing
// dev.env, or new ones, and writes them as TMS_DEV_USER, TMS_DEV_PASSWORD
// and TMS_DEV_TOTP_SECRET.
func writeDevEnv(ctx context.Context, layout Layout, svc *tms.Service, created []tms.AdminSecret, baseURL string) (string, error) {
	path := layout.DevEnv()
	adminSecret := ""
	for _, s := range created {
		if s.Tenant == tms.TestTenant {
			adminSecret = s.Secret
		}
	}
	existing, err := ReadDevEnv(path)
	if err != nil {
		return "", err
	}
	if adminSecret == "" {
		adminSecret = existing["X_TMS_ADMIN_SECRET"]
	}
	if adminSecret == "" {
		rotated, err := svc.RotateAdminSecret(ctx, tms.TestTenant)
		if err != nil {
			return "", fmt.Errorf("rotate the test administrator secret for %s: %w", path, err)
		}
		adminSecret = rotated.Secret
	}
	// The test user signs in to the browser pages of tms login; keep the
	// password and TOTP secret of an earlier run.
	user, err := svc.EnsureDevUser(ctx, existing[envnames.DevPassword], existing[envnames.DevTOTPSecret])
	if err != nil {
		return "", fmt.Errorf("create the test user for %s: %w", path, err)
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
	var b strings.Builder
	b.WriteString("# Credentials of the test tenant of a TMS development server (tms server --dev).\n")
	b.WriteString("# Load them into a shell with:  . " + path + "\n")
	for _, kv := range vars {
		fmt.Fprintf(&b, "export %s='%s'\n", kv[0], kv[1])
	}
	return path, writeAtomic(path, []byte(b.String()))
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
