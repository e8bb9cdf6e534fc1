package keys_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/tmsproject/tms/internal/keys"
)

func TestParseType(t *testing.T) {
	tests := []struct {
		in      string
		want    keys.Type
		wantErr string
	}{
		{in: "", want: keys.Ed25519},
		{in: "ed25519", want: keys.Ed25519},
		{in: "ED25519", want: keys.Ed25519},
		{in: "Ed25519", want: keys.Ed25519},
		{in: "ecdsa", want: keys.ECDSA},
		{in: "ECDSA", want: keys.ECDSA},
		{in: "rsa", want: keys.RSA},
		{in: "RSA", want: keys.RSA},
		{in: "dsa", wantErr: `unknown key_type "dsa": accepted values are "ed25519", "ecdsa", "rsa" (empty means ed25519)`},
		{in: " rsa", wantErr: `unknown key_type " rsa"`},
		{in: "ssh-ed25519", wantErr: `unknown key_type "ssh-ed25519"`},
		{in: "ed25519\n", wantErr: `unknown key_type "ed25519\n"`},
	}
	for _, tt := range tests {
		t.Run(strconv.Quote(tt.in), func(t *testing.T) {
			got, err := keys.ParseType(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseType(%q) = %q, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseType(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

// TestGenerateAgreesWithOpenSSH checks every key type against ssh-keygen:
// the fingerprint and public key it derives from our private key, and the
// exact file layout it writes for the same key.
func TestGenerateAgreesWithOpenSSH(t *testing.T) {
	sshKeygen := requireSSHKeygen(t)
	gen := newGenerator(t, keys.Options{})
	tests := []struct {
		typ       keys.Type
		bits      int
		algorithm string
	}{
		{keys.Ed25519, 256, ssh.KeyAlgoED25519},
		{keys.ECDSA, 521, ssh.KeyAlgoECDSA521},
		{keys.RSA, 4096, ssh.KeyAlgoRSA},
	}
	for _, tt := range tests {
		t.Run(string(tt.typ), func(t *testing.T) {
			pair, err := gen.Generate(context.Background(), tt.typ)
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			if pair.Type != tt.typ || pair.Bits != tt.bits {
				t.Errorf("Type, Bits = %q, %d; want %q, %d", pair.Type, pair.Bits, tt.typ, tt.bits)
			}
			if !strings.HasPrefix(pair.PublicKey, tt.algorithm+" ") || strings.ContainsAny(pair.PublicKey, "\r\n") ||
				strings.Count(pair.PublicKey, " ") != 1 {
				t.Errorf("PublicKey = %q; want %q, one space, no comment, no newline", pair.PublicKey, tt.algorithm+" <blob>")
			}
			path := filepath.Join(t.TempDir(), "id")
			if err := os.WriteFile(path, []byte(pair.PrivateKey), 0o600); err != nil {
				t.Fatal(err)
			}

			listing := run(t, sshKeygen, "-l", "-f", path)
			fields := strings.Fields(listing)
			if len(fields) < 2 {
				t.Fatalf("ssh-keygen -l printed %q", listing)
			}
			if fields[0] != strconv.Itoa(tt.bits) {
				t.Errorf("ssh-keygen -l bits = %s; want %d", fields[0], tt.bits)
			}
			if fields[1] != pair.Fingerprint {
				t.Errorf("ssh-keygen -l fingerprint = %s; Fingerprint = %s", fields[1], pair.Fingerprint)
			}
			if derived := strings.TrimSuffix(run(t, sshKeygen, "-y", "-f", path), "\n"); derived != pair.PublicKey {
				t.Errorf("ssh-keygen -y = %q; PublicKey = %q", derived, pair.PublicKey)
			}

			// Let ssh-keygen rewrite the same key (empty old and new
			// passphrase). Its file must have our layout and, once decoded,
			// differ from ours only in the random check integers.
			rewritten := filepath.Join(t.TempDir(), "id")
			if err := os.WriteFile(rewritten, []byte(pair.PrivateKey), 0o600); err != nil {
				t.Fatal(err)
			}
			run(t, sshKeygen, "-p", "-P", "", "-N", "", "-f", rewritten)
			theirs, err := os.ReadFile(rewritten)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := lineLengths(pair.PrivateKey), lineLengths(string(theirs)); got != want {
				t.Errorf("line lengths = %s; ssh-keygen writes %s", got, want)
			}
			ourBlob, theirBlob := decodeArmor(t, pair.PrivateKey), decodeArmor(t, string(theirs))
			if !bytes.Equal(withoutCheckInts(t, ourBlob), withoutCheckInts(t, theirBlob)) {
				t.Errorf("decoded key differs from ssh-keygen's rewrite beyond the check integers")
			}
		})
	}
}

// TestGenerateRoundTrip parses each generated key with x/crypto/ssh and signs
// with it, so the private key provably belongs to the public key.
func TestGenerateRoundTrip(t *testing.T) {
	gen := newGenerator(t, keys.Options{})
	for _, typ := range []keys.Type{keys.Ed25519, keys.ECDSA, keys.RSA} {
		t.Run(string(typ), func(t *testing.T) {
			pair, err := gen.Generate(context.Background(), typ)
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			signer, err := ssh.ParsePrivateKey([]byte(pair.PrivateKey))
			if err != nil {
				t.Fatalf("ParsePrivateKey: %v", err)
			}
			public, comment, options, rest, err := ssh.ParseAuthorizedKey([]byte(pair.PublicKey))
			if err != nil {
				t.Fatalf("ParseAuthorizedKey(%q): %v", pair.PublicKey, err)
			}
			if comment != "" || options != nil || len(rest) != 0 {
				t.Errorf("ParseAuthorizedKey: comment %q, options %q, rest %q; want none", comment, options, rest)
			}
			if !bytes.Equal(signer.PublicKey().Marshal(), public.Marshal()) {
				t.Errorf("private key's public half differs from PublicKey")
			}
			if got := ssh.FingerprintSHA256(public); got != pair.Fingerprint {
				t.Errorf("FingerprintSHA256 = %s; Fingerprint = %s", got, pair.Fingerprint)
			}
			message := []byte("login challenge")
			signature, err := signer.Sign(rand.Reader, message)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if err := public.Verify(message, signature); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

func TestGenerateGivesDistinctKeys(t *testing.T) {
	gen := newGenerator(t, keys.Options{})
	seen := map[string]bool{}
	for range 20 {
		pair, err := gen.Generate(context.Background(), keys.Ed25519)
		if err != nil {
			t.Fatalf("Generate: %v", err)
		}
		if seen[pair.Fingerprint] {
			t.Fatalf("fingerprint %s generated twice", pair.Fingerprint)
		}
		seen[pair.Fingerprint] = true
	}
}

func BenchmarkGenerate(b *testing.B) {
	gen, err := keys.NewGenerator(keys.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, typ := range []keys.Type{keys.Ed25519, keys.ECDSA, keys.RSA} {
		b.Run(string(typ), func(b *testing.B) {
			for b.Loop() {
				if _, err := gen.Generate(context.Background(), typ); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func newGenerator(tb testing.TB, opts keys.Options) *keys.Generator {
	tb.Helper()
	gen, err := keys.NewGenerator(opts)
	if err != nil {
		tb.Fatalf("NewGenerator(%+v): %v", opts, err)
	}
	return gen
}

func requireSSHKeygen(tb testing.TB) string {
	tb.Helper()
	path, err := exec.LookPath("ssh-keygen")
	if err != nil {
		tb.Fatalf("ssh-keygen is needed to check key encodings (Debian package openssh-client): %v", err)
	}
	return path
}

// commandTimeout bounds every external command a test runs.
const commandTimeout = 60 * time.Second

// run runs a command with a deadline and returns its standard output.
func run(tb testing.TB, name string, args ...string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// lineLengths summarises a file's layout, e.g. "35,70,70,32,33" plus whether
// it ends in a newline.
func lineLengths(s string) string {
	var lengths []string
	for line := range strings.Lines(s) {
		lengths = append(lengths, strconv.Itoa(len(strings.TrimSuffix(line, "\n"))))
	}
	return strings.Join(lengths, ",") + " final-newline=" + strconv.FormatBool(strings.HasSuffix(s, "\n"))
}

// decodeArmor returns the binary openssh-key-v1 structure in an armored key.
func decodeArmor(tb testing.TB, armored string) []byte {
	tb.Helper()
	lines := strings.Split(strings.TrimSuffix(armored, "\n"), "\n")
	if len(lines) < 3 || lines[0] != "-----BEGIN OPENSSH PRIVATE KEY-----" ||
		lines[len(lines)-1] != "-----END OPENSSH PRIVATE KEY-----" {
		tb.Fatalf("not an OpenSSH private key: %q", armored)
	}
	blob, err := base64.StdEncoding.DecodeString(strings.Join(lines[1:len(lines)-1], ""))
	if err != nil {
		tb.Fatalf("decode base64 body: %v", err)
	}
	return blob
}

// withoutCheckInts returns a copy of an unencrypted openssh-key-v1 blob with
// the two check integers at the start of the private section zeroed.
func withoutCheckInts(tb testing.TB, blob []byte) []byte {
	tb.Helper()
	const magic = "openssh-key-v1\x00"
	if !bytes.HasPrefix(blob, []byte(magic)) {
		tb.Fatalf("missing %q magic", magic)
	}
	rest := blob[len(magic):]
	offset := len(magic)
	// ciphername, kdfname, kdfoptions: strings; number of keys: uint32;
	// public key: string; then the private section's length.
	for _, field := range []string{"ciphername", "kdfname", "kdfoptions", "nkeys", "publickey", "private length"} {
		if len(rest) < 4 {
			tb.Fatalf("blob ends before %s", field)
		}
		n := 4
		if field != "nkeys" && field != "private length" {
			n += int(binary.BigEndian.Uint32(rest))
		}
		if len(rest) < n {
			tb.Fatalf("blob ends inside %s", field)
		}
		rest, offset = rest[n:], offset+n
	}
	if len(rest) < 8 {
		tb.Fatal("blob ends before the check integers")
	}
	if !bytes.Equal(rest[:4], rest[4:8]) {
		tb.Errorf("check integers differ: %x %x", rest[:4], rest[4:8])
	}
	out := bytes.Clone(blob)
	clear(out[offset : offset+8])
	return out
}
