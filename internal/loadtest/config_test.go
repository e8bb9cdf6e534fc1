package loadtest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// env is a lookup over a fixed set of variables.
func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

func TestInputsFromEnv(t *testing.T) {
	got, err := InputsFromEnv(env(map[string]string{
		"TMS_URL":                "https://tms.example.org:3000/",
		"X_TMS_TENANT":           "dev",
		"X_TMS_CLIENT_ID":        "client9",
		"X_TMS_CLIENT_SECRET":    "s3cr3t",
		"X_TMS_ADMIN_ID":         "~~admin",
		"X_TMS_ADMIN_SECRET":     "adm1n",
		"TMS_PUBKEY_FINGERPRINT": "SHA256:abc+/=",
		"TMS_PUBKEY_HOST":        "login1",
		"TMS_PUBKEY_USER":        "alice",
		"TMS_PUBKEY_USERID":      "1001",
		"TMS_PUBKEY_KEYTYPE":     "rsa",
		"TMS_PARSE_RESPONSE":     "true",
		"TMS_VERBOSE":            "yes",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Inputs{
		URL: "https://tms.example.org:3000", Tenant: "dev", ClientID: "client9", ClientSecret: "s3cr3t",
		AdminID: "~~admin", AdminSecret: "adm1n", Fingerprint: "SHA256:abc+/=", PubkeyHost: "login1", PubkeyUser: "alice", PubkeyUserID: "1001",
		KeyType: "rsa", ClientUser: DefaultClientUser, ParseResponse: true, Verbose: true,
	}
	if got != want {
		t.Errorf("inputs = %+v\nwant     %+v", got, want)
	}

	defaults, err := InputsFromEnv(env(map[string]string{"TMS_PUBKEY_FINGERPRINT": "", "TMS_PARSE_RESPONSE": "false"}))
	if err != nil {
		t.Fatal(err)
	}
	if defaults != DefaultInputs() {
		t.Errorf("with nothing set, inputs = %+v, want the defaults %+v", defaults, DefaultInputs())
	}
}

func TestInputsFromEnvRejectsBadValues(t *testing.T) {
	tests := []struct {
		name, value, want string
	}{
		{"TMS_URL", "127.0.0.1:3000", "TMS_URL: must start with http:// or https://"},
		{"TMS_URL", "ftp://host", "TMS_URL: must start with http:// or https://"},
		{"TMS_URL", "http://", "TMS_URL: has no host"},
		{"TMS_URL", "http://user:pw@host", "TMS_URL: must not contain a user or password"},
		{"TMS_URL", "http://host/?a=b", "TMS_URL: must not have a query"},
		{"TMS_URL", "http://ho st", "TMS_URL: not a URL"},
		{"X_TMS_TENANT", "te st", "X_TMS_TENANT: contains a character that is not visible ASCII"},
		{"X_TMS_CLIENT_ID", "cli\x01ent", "X_TMS_CLIENT_ID: contains a character"},
		{"X_TMS_CLIENT_SECRET", "sec ret", "X_TMS_CLIENT_SECRET: contains a character that is not visible ASCII at byte 3"},
		{"X_TMS_ADMIN_ID", "~~ad min", "X_TMS_ADMIN_ID: contains a character that is not visible ASCII at byte 4"},
		{"X_TMS_ADMIN_SECRET", "adm\x00n", "X_TMS_ADMIN_SECRET: contains a character that is not visible ASCII at byte 3"},
		{"TMS_PUBKEY_FINGERPRINT", "MD5:aa:bb", "TMS_PUBKEY_FINGERPRINT: must be an OpenSSH fingerprint"},
		{"TMS_PUBKEY_FINGERPRINT", "SHA256:a b", "TMS_PUBKEY_FINGERPRINT: must be an OpenSSH fingerprint"},
		{"TMS_PUBKEY_HOST", "host\n", "TMS_PUBKEY_HOST: contains a control character"},
		{"TMS_PUBKEY_USER", "a\tb", "TMS_PUBKEY_USER: contains a control character"},
		{"TMS_PUBKEY_USERID", "\x7f", "TMS_PUBKEY_USERID: contains a control character"},
		{"TMS_PUBKEY_KEYTYPE", "dsa", `TMS_PUBKEY_KEYTYPE: unknown key type "dsa"`},
		{"TMS_PARSE_RESPONSE", "maybe", `TMS_PARSE_RESPONSE: want true or false, got "maybe"`},
		{"TMS_VERBOSE", "2", `TMS_VERBOSE: want true or false, got "2"`},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			_, err := InputsFromEnv(env(map[string]string{tt.name: tt.value}))
			var inputErr *InputError
			if !errors.As(err, &inputErr) || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("err = %v, want an input error starting %q", err, tt.want)
			}
			if strings.HasSuffix(tt.name, "_SECRET") && strings.Contains(err.Error(), tt.value) {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
}

func TestFlagOverridesEnv(t *testing.T) {
	in, err := InputsFromEnv(env(map[string]string{"X_TMS_TENANT": "dev", "TMS_PUBKEY_HOST": "login1"}))
	if err != nil {
		t.Fatal(err)
	}
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range InputFields() {
		var value string
		switch f.Flag {
		case "tenant":
			value = "prod"
		case "client-secret-file":
			value = secretFile
		case "verbose":
			value = "true"
		default:
			continue
		}
		if err := f.Apply(&in, value, "--"+f.Flag); err != nil {
			t.Fatalf("apply --%s: %v", f.Flag, err)
		}
	}
	if in.Tenant != "prod" || in.ClientSecret.Reveal() != "from-file" || !in.Verbose || in.PubkeyHost != "login1" {
		t.Errorf("inputs = %+v, want tenant and secret from flags, host from the environment", in)
	}

	// A bad flag value names the flag and changes nothing.
	before := in
	for _, f := range InputFields() {
		if f.Flag == "url" {
			err = f.Apply(&in, "nope", "--url")
		}
	}
	if err == nil || !strings.HasPrefix(err.Error(), "--url: ") || in != before {
		t.Errorf("err = %v, inputs changed %v; want an error naming --url and no change", err, in != before)
	}
}

func TestSecretNeverFormats(t *testing.T) {
	in := Inputs{ClientSecret: "s3cr3t", AdminSecret: "adm1n"}
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		if out := fmt.Sprintf(format, in); strings.Contains(out, "s3cr3t") || strings.Contains(out, "adm1n") {
			t.Errorf("Sprintf(%q) shows the secret: %s", format, out)
		}
	}
}

func TestValidate(t *testing.T) {
	scenarios := NewRegistry(BuiltinScenarios()...)
	base := func() Config {
		return Config{Inputs: DefaultInputs(), Phase: PhaseRun, Scenarios: []string{"getkey"},
			Timeout: time.Second, StallTimeout: time.Second}
	}
	rate := func(v float64) *float64 { return &v }
	tests := []struct {
		name   string
		change func(c *Config)
		want   string // "" for valid
	}{
		{"valid", func(*Config) {}, ""},
		{"valid mixed", func(c *Config) {
			c.Scenarios = []string{"mixed"}
			c.Mix = []MixEntry{{"getkey", 1}}
		}, ""},
		{"valid ladder", func(c *Config) { c.Phase = PhaseLadder; c.Load.LadderUsers = []int{1, 2}; c.Load.Iterations = 5 }, ""},
		{"unknown phase", func(c *Config) { c.Phase = "burst" }, `--phase: unknown phase "burst"`},
		{"no scenarios", func(c *Config) { c.Scenarios = nil }, "--scenarios: required"},
		{"unknown scenario", func(c *Config) { c.Scenarios = []string{"getkeys"} }, `--scenarios: unknown scenario "getkeys"`},
		{"scenario twice", func(c *Config) { c.Scenarios = []string{"getkey", "getkey"} }, "--scenarios: getkey is listed twice"},
		{"mix without mixed", func(c *Config) { c.Mix = []MixEntry{{"getkey", 1}} }, "--mix: only applies to the mixed scenario"},
		{"mix of mixed", func(c *Config) {
			c.Scenarios = []string{"mixed"}
			c.Mix = []MixEntry{{"mixed", 1}}
		}, `--mix: unknown scenario "mixed"`},
		{"negative users", func(c *Config) { c.Load.Users = -1 }, "--users: must be at least 1"},
		{"open and closed", func(c *Config) { c.Load.Users = 5; c.Load.Rate = 10 }, "--rate: cannot be combined with --users"},
		{"duration without rate", func(c *Config) { c.Load.Duration = time.Minute }, "--rate: required with --duration"},
		{"ladder users in run", func(c *Config) { c.Load.LadderUsers = []int{1} }, "--ladder-users: not used by --phase run"},
		{"users in ladder", func(c *Config) { c.Phase = PhaseLadder; c.Load.Users = 3 }, "--users: not used by --phase ladder"},
		{"rate in smoke", func(c *Config) { c.Phase = PhaseSmoke; c.Load.Rate = 3 }, "--rate: not used by --phase smoke"},
		{"rate in all", func(c *Config) { c.Phase = PhaseAll; c.Load.Rate = 3 }, ""},
		{"huge rate", func(c *Config) { c.Load.Rate = 2e6 }, "--rate: at most 1000000"},
		{"short sample", func(c *Config) { c.Load.SampleInterval = time.Millisecond }, "--sample-interval: must be at least 100ms"},
		{"zero timeout", func(c *Config) { c.Timeout = 0 }, "--timeout: must be positive"},
		{"zero stall timeout", func(c *Config) { c.StallTimeout = 0 }, "--stall-timeout: must be positive"},
		{"insecure and cacert", func(c *Config) { c.TLS = TLSOptions{Insecure: true, CACertFile: "ca.pem"} }, "--insecure: cannot be combined with --cacert"},
		{"bad metrics URL", func(c *Config) { c.MetricsURL = "localhost:9090" }, "--metrics-url: want an http:// or https:// URL"},
		{"error rate above 1", func(c *Config) { c.MaxErrorRate = rate(2) }, "--max-error-rate: must be between 0 and 1"},
		{"valid login users", func(c *Config) { c.Scenarios = []string{"login"}; c.LoginUsers = 5 }, ""},
		{"login users in a mix", func(c *Config) {
			c.Scenarios = []string{"mixed"}
			c.Mix = []MixEntry{{"getkey", 9}, {"login", 1}}
			c.LoginUsers = 5
		}, ""},
		{"login users without login", func(c *Config) { c.LoginUsers = 5 }, "--login-users: only applies to the login scenario"},
		{"login users in a mix without login", func(c *Config) { c.Scenarios = []string{"mixed"}; c.LoginUsers = 5 },
			"--login-users: only applies to the login scenario"},
		{"negative login users", func(c *Config) { c.Scenarios = []string{"login"}; c.LoginUsers = -1 }, "--login-users: must be from 1 to 100000, got -1"},
		{"too many login users", func(c *Config) { c.Scenarios = []string{"login"}; c.LoginUsers = 100001 }, "--login-users: must be from 1 to 100000"},
		{"two problems", func(c *Config) { c.Timeout = 0; c.Phase = "x" }, `--phase: unknown phase "x" (want one of run, smoke, ladder, spike, soak, all); --timeout: must be positive`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.change(&c)
			err := c.Validate(scenarios)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				return
			}
			var inputErr *InputError
			if !errors.As(err, &inputErr) || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("err = %v, want an input error starting %q", err, tt.want)
			}
		})
	}
}

func TestParsers(t *testing.T) {
	mix, err := ParseMix("getkey=90, createkey=10")
	if err != nil || !reflect.DeepEqual(mix, []MixEntry{{"getkey", 90}, {"createkey", 10}}) {
		t.Errorf("ParseMix = %v, %v", mix, err)
	}
	users, err := ParseUserList("1, 5,10")
	if err != nil || !reflect.DeepEqual(users, []int{1, 5, 10}) {
		t.Errorf("ParseUserList = %v, %v", users, err)
	}
	for in, want := range map[string]float64{"0.01": 0.01, "1%": 0.01, "0": 0, "100%": 1} {
		if got, err := ParseRate(in); err != nil || !within(got, want, 1e-9) {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}

	bad := []struct {
		name string
		err  error
		want string
	}{
		{"mix without weight", second(ParseMix("getkey")), `want scenario=weight pairs separated by commas, got "getkey"`},
		{"mix zero weight", second(ParseMix("getkey=0")), `weight of getkey must be a whole number from 1 to 1000, got "0"`},
		{"mix twice", second(ParseMix("getkey=1,getkey=2")), "getkey appears twice"},
		{"users zero", second(ParseUserList("1,0")), `got "0"`},
		{"users word", second(ParseUserList("1,many")), `got "many"`},
		{"rate word", second(ParseRate("lots")), `got "lots"`},
		{"rate above 1", second(ParseRate("150%")), "must be between 0 and 1"},
	}
	for _, b := range bad {
		if b.err == nil || !strings.Contains(b.err.Error(), b.want) {
			t.Errorf("%s: err = %v, want %q", b.name, b.err, b.want)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestPlanDefaultsAndOverrides(t *testing.T) {
	w := []*workload{{name: "getkey"}}
	shape := func(cfg Config) []string {
		var out []string
		for _, p := range planSteps(cfg, w) {
			out = append(out, p.name)
		}
		return out
	}
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"run default", Config{Phase: PhaseRun}, []string{"run getkey 1 user"}},
		{"run closed", Config{Phase: PhaseRun, Load: Load{Users: 10, Iterations: 1000}}, []string{"run getkey 10 users"}},
		{"run open", Config{Phase: PhaseRun, Load: Load{Rate: 500}}, []string{"run getkey 500/s for 30s"}},
		{"ladder default", Config{Phase: PhaseLadder}, []string{"ladder getkey 1 user", "ladder getkey 5 users",
			"ladder getkey 10 users", "ladder getkey 25 users", "ladder getkey 50 users", "ladder getkey 100 users"}},
		{"ladder override", Config{Phase: PhaseLadder, Load: Load{LadderUsers: []int{2, 4}}}, []string{"ladder getkey 2 users", "ladder getkey 4 users"}},
		{"spike", Config{Phase: PhaseSpike, Load: Load{SpikeUsers: 80}}, []string{"spike getkey baseline 5 users",
			"spike getkey spike 80 users", "spike getkey recovery 5 users"}},
		{"soak", Config{Phase: PhaseSoak}, []string{"soak getkey 200/s for 10m0s"}},
	}
	for _, tt := range tests {
		if got := shape(tt.cfg); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: steps = %q, want %q", tt.name, got, tt.want)
		}
	}

	all := planSteps(Config{Phase: PhaseAll, Load: Load{Iterations: 7}}, w)
	if len(all) != 1+6+3+1 {
		t.Fatalf("phase all has %d steps, want 11", len(all))
	}
	for _, p := range all {
		if !p.open && p.iterations != 7 {
			t.Errorf("%s: iterations = %d, want the explicit 7", p.name, p.iterations)
		}
	}
	if soak := all[len(all)-1]; !soak.open || soak.sample != 10*time.Second || soak.maxOutstanding != defaultMaxOutstanding {
		t.Errorf("soak step = %+v", soak)
	}
	if got := maxConcurrency(Config{Phase: PhaseAll}); got != 256 {
		t.Errorf("maxConcurrency(all) = %d, want 256 (the open model's bound)", got)
	}
}
