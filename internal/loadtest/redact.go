package loadtest

import (
	"regexp"
	"strings"
)

// redactor removes secrets and private keys from text before it is
// printed or written to a report.
type redactor struct {
	secrets     []string
	secretField *regexp.Regexp
	pemBlock    *regexp.Regexp
}

// newRedactor returns a redactor that also hides the given secret values.
func newRedactor(secrets ...Secret) *redactor {
	r := &redactor{
		secretField: regexp.MustCompile(`"(private_key|client_secret|admin_secret|secret|access_token|refresh_token)"\s*:\s*"(?:[^"\\]|\\.)*"`),
		pemBlock:    regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----`),
	}
	for _, s := range secrets {
		if len(s) > 0 {
			r.secrets = append(r.secrets, s.Reveal())
		}
	}
	return r
}

// redact returns s with secret values, secret JSON fields and private key
// blocks replaced by "(hidden)".
func (r *redactor) redact(s string) string {
	s = r.secretField.ReplaceAllString(s, `"$1":"(hidden)"`)
	s = r.pemBlock.ReplaceAllString(s, "(private key hidden)")
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, "(hidden)")
	}
	return s
}
