// Package keys generates SSH key pairs in the encodings TMS hands out: an
// unencrypted OpenSSH private key, a one-line public key and an OpenSSH
// SHA-256 fingerprint. Generation runs in bounded pools (see Generator) so
// that slow RSA keys can never starve the fast key types.
package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Type is a key type a client may ask for.
type Type string

// The key types TMS issues.
const (
	// Ed25519 is an ssh-ed25519 key; it is the default.
	Ed25519 Type = "ed25519"
	// ECDSA is an ecdsa-sha2-nistp521 key (NIST P-521).
	ECDSA Type = "ecdsa"
	// RSA is a 4096-bit ssh-rsa key.
	RSA Type = "rsa"
)

// ParseType reads a key_type value as clients send it: the empty string means
// Ed25519, and "ed25519", "ecdsa" and "rsa" are accepted in any letter case.
// Anything else is an error that lists the accepted values.
func ParseType(s string) (Type, error) {
	if s == "" {
		return Ed25519, nil
	}
	switch t := Type(strings.ToLower(s)); t {
	case Ed25519, ECDSA, RSA:
		return t, nil
	}
	shown := s
	if len(shown) > 40 {
		shown = shown[:40] + "…"
	}
	return "", fmt.Errorf("unknown key_type %q: accepted values are %q, %q, %q (empty means %s)",
		shown, Ed25519, ECDSA, RSA, Ed25519)
}

// Bits returns the key size TMS reports for the type: 256 for Ed25519, 521
// for ECDSA and 4096 for RSA, or 0 for a type it does not know.
func (t Type) Bits() int {
	switch t {
	case Ed25519:
		return 256
	case ECDSA:
		return 521
	case RSA:
		return rsaBits
	}
	return 0
}

// rsaBits is the modulus size of generated RSA keys.
const rsaBits = 4096

// KeyPair is a freshly generated key pair in the encodings TMS returns.
type KeyPair struct {
	// Type is the kind of key.
	Type Type
	// Bits is the key size reported to clients (see Type.Bits).
	Bits int
	// PrivateKey is the unencrypted private key in OpenSSH format, byte for
	// byte laid out as ssh-keygen writes it: 70-column base64 lines, LF line
	// ends, a trailing newline and an empty comment.
	PrivateKey string
	// PublicKey is "<algorithm-name> <base64-blob>", without comment or
	// trailing newline.
	PublicKey string
	// Fingerprint is "SHA256:" followed by the unpadded standard base64 of
	// the SHA-256 of the public key's wire blob, as OpenSSH prints it and
	// passes it to an AuthorizedKeysCommand as %f.
	Fingerprint string
}

// generate creates a key pair of type t. It is CPU-bound and not
// interruptible; Generator bounds how many run at once.
func generate(t Type) (KeyPair, error) {
	var private crypto.Signer
	var err error
	switch t {
	case Ed25519:
		_, private, err = ed25519.GenerateKey(rand.Reader)
	case ECDSA:
		private, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case RSA:
		private, err = rsa.GenerateKey(rand.Reader, rsaBits)
	default:
		return KeyPair{}, fmt.Errorf("generate key: unknown key type %q", t)
	}
	if err != nil {
		return KeyPair{}, fmt.Errorf("generate %s key: %w", t, err)
	}
	return encode(t, private)
}

// encode renders a private key in the TMS encodings.
func encode(t Type, private crypto.Signer) (KeyPair, error) {
	public, err := ssh.NewPublicKey(private.Public())
	if err != nil {
		return KeyPair{}, fmt.Errorf("encode %s public key: %w", t, err)
	}
	block, err := ssh.MarshalPrivateKey(private, "")
	if err != nil {
		return KeyPair{}, fmt.Errorf("encode %s private key: %w", t, err)
	}
	return KeyPair{
		Type:        t,
		Bits:        t.Bits(),
		PrivateKey:  armorOpenSSH(block.Bytes),
		PublicKey:   strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(public)), "\n"),
		Fingerprint: ssh.FingerprintSHA256(public),
	}, nil
}

// openSSHLineWidth is the base64 line width ssh-keygen uses for private keys
// (encoding/pem would use 64).
const openSSHLineWidth = 70

// armorOpenSSH wraps the binary openssh-key-v1 structure the way OpenSSH's
// sshkey_private_to_blob2 does.
func armorOpenSSH(der []byte) string {
	body := base64.StdEncoding.EncodeToString(der)
	var b strings.Builder
	b.Grow(len(body) + len(body)/openSSHLineWidth + 80)
	b.WriteString("-----BEGIN OPENSSH PRIVATE KEY-----\n")
	for len(body) > openSSHLineWidth {
		b.WriteString(body[:openSSHLineWidth])
		b.WriteByte('\n')
		body = body[openSSHLineWidth:]
	}
	b.WriteString(body)
	b.WriteString("\n-----END OPENSSH PRIVATE KEY-----\n")
	return b.String()
}
