package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// storedLogin is what tms login keeps for one server: the tokens and how to
// reach the server again.
type storedLogin struct {
	Server       string    `json:"server"`
	Tenant       string    `json:"tenant"`
	ClientID     string    `json:"client_id"`
	Username     string    `json:"username"`
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	Expiry       time.Time `json:"expiry"`
	CACert       string    `json:"cacert,omitempty"`
	Insecure     bool      `json:"insecure,omitempty"`
}

// loginStore keeps logins in <user config dir>/tms, one file per server,
// readable by the user alone.
type loginStore struct {
	dir string
}

// newLoginStore finds the user's configuration directory with
// os.UserConfigDir, or, when the command runs with an environment of its
// own (tests), from that environment as os.UserConfigDir does on Unix:
// $XDG_CONFIG_HOME, else $HOME/.config.
func newLoginStore(stdio IO) (loginStore, error) {
	if stdio.Env == nil {
		base, err := os.UserConfigDir()
		if err != nil {
			return loginStore{}, fmt.Errorf("find the configuration directory for the login: %w", err)
		}
		return loginStore{dir: filepath.Join(base, "tms")}, nil
	}
	env := stdio.environ()
	base := env["XDG_CONFIG_HOME"]
	if base != "" && !filepath.IsAbs(base) {
		return loginStore{}, fmt.Errorf("XDG_CONFIG_HOME: %q is not an absolute path", base)
	}
	if base == "" {
		home := env["HOME"]
		if home == "" {
			return loginStore{}, errors.New("find the configuration directory for the login: neither $XDG_CONFIG_HOME nor $HOME is set")
		}
		base = filepath.Join(home, ".config")
	}
	return loginStore{dir: filepath.Join(base, "tms")}, nil
}

// normalizeServer is the form of a server URL logins are filed under.
func normalizeServer(u string) string {
	return strings.TrimSuffix(strings.TrimRight(u, "/"), "/v1")
}

// path is the file of a server's login.
func (s loginStore) path(server string) string {
	sum := sha256.Sum256([]byte(normalizeServer(server)))
	return filepath.Join(s.dir, "login-"+hex.EncodeToString(sum[:8])+".json")
}

// errNotLoggedIn reports that no login is stored for a server.
var errNotLoggedIn = errors.New("not logged in")

// load returns the login stored for server.
func (s loginStore) load(server string) (storedLogin, error) {
	path := s.path(server)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return storedLogin{}, fmt.Errorf("%w to %s: run tms login --url %s", errNotLoggedIn, normalizeServer(server), normalizeServer(server))
	}
	if err != nil {
		return storedLogin{}, fmt.Errorf("read the login: %w", err)
	}
	var l storedLogin
	if err := json.Unmarshal(data, &l); err != nil || l.RefreshToken == "" {
		return storedLogin{}, fmt.Errorf("login file %s is damaged; run tms login again", path)
	}
	return l, nil
}

// save writes a login atomically, readable by the user alone.
func (s loginStore) save(l storedLogin) (string, error) {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return "", fmt.Errorf("create %s: %w", s.dir, err)
	}
	data, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encode the login: %w", err)
	}
	path := s.path(l.Server)
	tmp, err := os.CreateTemp(s.dir, ".login-*")
	if err != nil {
		return "", fmt.Errorf("save the login: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return "", fmt.Errorf("save the login: %w", err)
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return "", fmt.Errorf("save the login: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("save the login: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("save the login: %w", err)
	}
	return path, nil
}

// remove deletes a server's login; a missing one is no error.
func (s loginStore) remove(server string) error {
	if err := os.Remove(s.path(server)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete the login: %w", err)
	}
	return nil
}

// servers lists the servers with a stored login.
func (s loginStore) servers() []string {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "login-") || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(s.dir, e.Name()))
		if err != nil {
			continue
		}
		var l storedLogin
		if json.Unmarshal(data, &l) == nil && l.Server != "" {
			out = append(out, l.Server)
		}
	}
	sort.Strings(out)
	return out
}
