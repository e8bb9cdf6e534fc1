package keycmd

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// The headers that carry this host's credential on a lookup.
const (
	HeaderHostID     = "X-TMS-HOST-ID"
	HeaderHostSecret = "X-TMS-HOST-SECRET"
)

// maxHostSecretBytes bounds how much of host_secret_file is read; a secret
// is 48 characters.
const maxHostSecretBytes = 1024

// readHostSecret reads the host secret from path. The file must be a
// regular file that other users can neither read nor write, holding the
// secret on one line.
func readHostSecret(path string) (string, error) {
	file, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return "", fmt.Errorf("%w (the helper runs as sshd's AuthorizedKeysCommandUser, which must be able to read it)", err)
		}
		return "", err
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		return "", err
	}
	if !info.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); perm&0o006 != 0 {
		return "", fmt.Errorf("%s is readable or writable by every user (mode %04o); let only the AuthorizedKeysCommandUser read it, "+
			"as owner or group, e.g. chmod 0440 %s", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(file, maxHostSecretBytes+1))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxHostSecretBytes {
		return "", fmt.Errorf("%s is larger than %d bytes; it must hold only the host secret", path, maxHostSecretBytes)
	}
	secret := strings.TrimSpace(string(data))
	switch {
	case secret == "":
		return "", fmt.Errorf("%s is empty; write the host_secret that \"tms hosts credentials create\" printed into it", path)
	case strings.ContainsAny(secret, " \t\r\n"):
		return "", fmt.Errorf("%s must hold the host secret alone, on one line", path)
	}
	if err := checkHeaderValue(secret); err != nil {
		return "", fmt.Errorf("the secret in %s %w", path, err)
	}
	return secret, nil
}

// checkHeaderValue reports whether v can be sent unchanged in an HTTP
// header; the error completes a sentence about v.
func checkHeaderValue(v string) error {
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return errors.New("must be printable ASCII")
		}
	}
	return nil
}
