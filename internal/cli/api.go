package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tmsproject/tms/internal/client"
	"github.com/tmsproject/tms/internal/envnames"
)

// The environment variables API commands read, the same ones the load-test
// tools use.
const (
	envURL          = envnames.URL
	envTenant       = "X_TMS_TENANT"
	envClientID     = "X_TMS_CLIENT_ID"
	envClientSecret = "X_TMS_CLIENT_SECRET"
	envAdminID      = "X_TMS_ADMIN_ID"
	envAdminSecret  = "X_TMS_ADMIN_SECRET"
)

// defaultAdminID is the administrator every tenant has.
const defaultAdminID = "~~admin"

// identity is whose credentials a command sends.
type identity int

const (
	// anonymous commands send no credentials.
	anonymous identity = iota
	// asAdmin commands send the tenant administrator's credentials.
	asAdmin
	// asClient commands send a client application's credentials.
	asClient
	// asAdminOrClient commands send either: --as decides, else the
	// administrator's when an administrator secret is configured.
	asAdminOrClient
)

// connectionFlags are the flags every API command shares.
type connectionFlags struct {
	url              string
	tenant           string
	clientID         string
	clientSecretFile string
	adminID          string
	adminSecretFile  string
	as               string
	cacert           string
	insecure         bool
	timeout          time.Duration
	json             bool
}

// apiGroup is a command group over the HTTP API (tms clients, tms pubkeys,
// ...) with the connection flags its subcommands share.
type apiGroup struct {
	stdio IO
	flags connectionFlags
	cmd   *cobra.Command
}

// connectionHelp is appended to the long help of every API command group.
const connectionHelp = `
CONNECTION
  The server and credentials come from flags or from the environment
  variables the load-test tools use (a development server writes them to
  <root>/dev.env):
    --url                 TMS_URL              server, e.g. https://tms.example.org:3000
    --tenant              X_TMS_TENANT         tenant
    --client-id           X_TMS_CLIENT_ID      client application
    --client-secret-file  X_TMS_CLIENT_SECRET  its secret
    --admin-id            X_TMS_ADMIN_ID       tenant administrator (default ~~admin)
    --admin-secret-file   X_TMS_ADMIN_SECRET   its secret
  Secrets are read from a file or the environment, never from a flag value.
  Commands that accept either identity use the administrator's when an
  administrator secret is configured; --as client or --as admin chooses.

OUTPUT
  A table by default; --json prints the server's JSON answer.

EXIT STATUS
  0 on success, 1 when the server refused the request or could not be
  reached (its message is printed), 2 for mistakes in the command line or
  the connection settings.`

// newAPIGroup returns a command group with the shared connection flags.
func newAPIGroup(stdio IO, use, short, long string) *apiGroup {
	g := &apiGroup{stdio: stdio}
	g.cmd = newGroupCommand(use, short, long+"\n"+connectionHelp)
	f := g.cmd.PersistentFlags()
	f.StringVar(&g.flags.url, "url", "", "server `URL` (default $TMS_URL)")
	f.StringVar(&g.flags.tenant, "tenant", "", "`NAME` of the tenant (default $X_TMS_TENANT)")
	f.StringVar(&g.flags.clientID, "client-id", "", "client application `ID` (default $X_TMS_CLIENT_ID)")
	f.StringVar(&g.flags.clientSecretFile, "client-secret-file", "", "read the client secret from `FILE` (default $X_TMS_CLIENT_SECRET)")
	f.StringVar(&g.flags.adminID, "admin-id", "", "administrator `ID` (default $X_TMS_ADMIN_ID, else ~~admin)")
	f.StringVar(&g.flags.adminSecretFile, "admin-secret-file", "", "read the administrator secret from `FILE` (default $X_TMS_ADMIN_SECRET)")
	f.StringVar(&g.flags.as, "as", "", "`IDENTITY` to use where both are accepted: admin or client (default admin when an administrator secret is set)")
	f.StringVar(&g.flags.cacert, "cacert", "", "trust the PEM certificates in `FILE` (for a self-signed server)")
	f.BoolVar(&g.flags.insecure, "insecure", false, "skip TLS certificate verification (testing only)")
	f.DurationVar(&g.flags.timeout, "timeout", 30*time.Second, "time limit of each request")
	f.BoolVar(&g.flags.json, "json", false, "print the server's JSON answer")
	return g
}

// newGroupCommand returns a command that only holds subcommands. Run
// without one it prints its help; an unknown subcommand is a usage error.
func newGroupCommand(use, short, long string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Long:  long,
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return &usageError{fmt.Errorf("unknown command %q for %q; run %q for the list", args[0], cmd.CommandPath(), cmd.CommandPath()+" --help")}
			}
			return cmd.Help()
		},
	}
}

// session is a connection ready for one command.
type session struct {
	api *client.Client
	// clientID is the configured client id, also when the request is sent
	// with administrator credentials.
	clientID string
	// tenant is the configured tenant.
	tenant string
}

// apiFunc is the body of an API command.
type apiFunc func(ctx context.Context, s *session, args []string) error

// run returns a RunE that connects with the identity need, runs fn and
// turns error answers of the server into their one-line message.
func (g *apiGroup) run(need identity, fn apiFunc) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		s, err := g.connect(cmd.CommandPath(), need, "")
		if err != nil {
			return &usageError{err}
		}
		return serverFailure(fn(cmd.Context(), s, args))
	}
}

// serverFailure turns an error answer of the server into its message.
func serverFailure(err error) error {
	var apiErr *client.Error
	if !errors.As(err, &apiErr) {
		return err
	}
	msg := strings.Join(strings.Fields(apiErr.Message), " ")
	if msg == "" {
		msg = apiErr.Error()
	}
	if apiErr.RetryAfter != "" {
		msg += " (retry after " + apiErr.RetryAfter + " s)"
	}
	return errors.New(msg)
}

// setting is a value with where it came from, for error messages.
type setting struct {
	value  string
	source string
}

// environment returns the environment commands read, as KEY=VALUE.
func (s IO) environment() []string {
	if s.Env == nil {
		return os.Environ()
	}
	return s.Env
}

// environ returns the environment commands read as a map.
func (s IO) environ() map[string]string {
	env := s.environment()
	out := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			out[k] = v
		}
	}
	return out
}

// pick returns the flag value when given, else the environment variable.
func pick(flagValue, flagName string, env map[string]string, envName string) setting {
	if flagValue != "" {
		return setting{flagValue, "--" + flagName}
	}
	return setting{env[envName], envName}
}

// secretSetting reads a secret from the file a flag names, else from the
// environment variable.
func secretSetting(file, flagName string, env map[string]string, envName string) (setting, error) {
	if file == "" {
		return setting{strings.TrimSpace(env[envName]), envName}, nil
	}
	source := "--" + flagName + " " + file
	data, err := os.ReadFile(file)
	if err != nil {
		return setting{}, fmt.Errorf("--%s: %w", flagName, err)
	}
	value := strings.TrimSpace(string(data))
	if value == "" {
		return setting{}, fmt.Errorf("%s: the file is empty", source)
	}
	if strings.ContainsAny(value, "\r\n") {
		return setting{}, fmt.Errorf("%s: expected the secret alone on one line", source)
	}
	return setting{value, source}, nil
}

// checkHeaderValue rejects what cannot be sent in an HTTP header.
func checkHeaderValue(s setting) error {
	for i := 0; i < len(s.value); i++ {
		if c := s.value[i]; c < 0x21 || c > 0x7e {
			return fmt.Errorf("%s: only visible ASCII characters without spaces are allowed", s.source)
		}
	}
	return nil
}

// connect resolves the connection settings for a command needing the
// given identity; fallbackTenant is the tenant when none is configured.
// Every problem is reported before anything is sent.
func (g *apiGroup) connect(command string, need identity, fallbackTenant string) (*session, error) {
	f := g.flags
	env := g.stdio.environ()
	base := pick(f.url, "url", env, envURL)
	if base.value == "" {
		return nil, fmt.Errorf("no server URL: set %s or use --url", envURL)
	}
	if f.timeout <= 0 {
		return nil, fmt.Errorf("--timeout: %s is not a positive duration", f.timeout)
	}
	tenant := pick(f.tenant, "tenant", env, envTenant)
	if tenant.value == "" && fallbackTenant != "" {
		tenant = setting{fallbackTenant, "the tenant argument"}
	}
	clientID := pick(f.clientID, "client-id", env, envClientID)
	adminID := pick(f.adminID, "admin-id", env, envAdminID)
	clientSecret, err := secretSetting(f.clientSecretFile, "client-secret-file", env, envClientSecret)
	if err != nil {
		return nil, err
	}
	adminSecret, err := secretSetting(f.adminSecretFile, "admin-secret-file", env, envAdminSecret)
	if err != nil {
		return nil, err
	}
	for _, s := range []setting{tenant, clientID, adminID, clientSecret, adminSecret} {
		if err := checkHeaderValue(s); err != nil {
			return nil, err
		}
	}
	if adminID.value == "" {
		adminID.value = defaultAdminID
	}
	chosen, err := chooseIdentity(command, need, f.as, adminSecret.value != "", clientSecret.value != "")
	if err != nil {
		return nil, err
	}
	var creds client.Credentials
	switch chosen {
	case asAdmin:
		if tenant.value == "" {
			return nil, fmt.Errorf("no tenant: set %s or use --tenant", envTenant)
		}
		if adminSecret.value == "" {
			return nil, fmt.Errorf("%s needs administrator credentials: set %s or use --admin-secret-file FILE", command, envAdminSecret)
		}
		creds = client.Credentials{Tenant: tenant.value, AdminID: adminID.value, AdminSecret: adminSecret.value}
	case asClient:
		if tenant.value == "" {
			return nil, fmt.Errorf("no tenant: set %s or use --tenant", envTenant)
		}
		if clientID.value == "" {
			return nil, fmt.Errorf("%s needs client credentials: set %s or use --client-id", command, envClientID)
		}
		if clientSecret.value == "" {
			return nil, fmt.Errorf("%s needs client credentials: set %s or use --client-secret-file FILE", command, envClientSecret)
		}
		creds = client.Credentials{Tenant: tenant.value, ClientID: clientID.value, ClientSecret: clientSecret.value}
	}
	if u, err := url.Parse(base.value); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s: %q is not a server URL such as https://tms.example.org:3000", base.source, base.value)
	}
	api, err := client.New(client.Options{BaseURL: base.value, CACertFile: f.cacert, Insecure: f.insecure, Timeout: f.timeout}, creds)
	if err != nil {
		// The URL is valid, so the trouble is the CA certificate file.
		return nil, fmt.Errorf("--cacert: %w", err)
	}
	return &session{api: api, clientID: clientID.value, tenant: tenant.value}, nil
}

// chooseIdentity settles whose credentials a command sends.
func chooseIdentity(command string, need identity, as string, haveAdminSecret, haveClientSecret bool) (identity, error) {
	var wanted identity
	switch as {
	case "":
	case "admin":
		wanted = asAdmin
	case "client":
		wanted = asClient
	default:
		return 0, fmt.Errorf("--as: %q is neither admin nor client", as)
	}
	switch need {
	case asAdminOrClient:
		switch {
		case wanted != 0:
			return wanted, nil
		case haveAdminSecret:
			return asAdmin, nil
		case !haveClientSecret:
			return 0, fmt.Errorf("%s needs administrator or client credentials: set %s (or use --admin-secret-file FILE), or %s and %s (or use --client-secret-file FILE)",
				command, envAdminSecret, envClientID, envClientSecret)
		}
		return asClient, nil
	case asAdmin, asClient:
		if wanted != 0 && wanted != need {
			return 0, fmt.Errorf("--as %s: %s accepts only %s credentials", as, command, map[identity]string{asAdmin: "administrator", asClient: "client"}[need])
		}
	}
	return need, nil
}

// show writes answer as the server's JSON with --json, else as human
// calls for.
func (g *apiGroup) show(answer interface{ Raw() json.RawMessage }, human func(*output)) error {
	if g.flags.json {
		return printJSON(g.stdio.Out, answer.Raw())
	}
	o := newOutput(g.stdio.Out)
	human(o)
	return o.flush()
}

// exactArgs requires exactly the named positional arguments.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != len(names) {
			return &usageError{fmt.Errorf("%s: expected %s, got %d argument(s)", cmd.CommandPath(), strings.Join(names, " "), len(args))}
		}
		return nil
	}
}

// optionalArg allows at most the named positional argument.
func optionalArg(name string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > 1 {
			return &usageError{fmt.Errorf("%s: expected at most %s, got %d arguments", cmd.CommandPath(), name, len(args))}
		}
		return nil
	}
}

// parseID reads a record id argument.
func parseID(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil || n < 1 {
		return 0, &usageError{fmt.Errorf("ID: %q is not a record id (a positive integer)", s)}
	}
	return n, nil
}

// required checks that each named string flag was given a value.
func required(cmd *cobra.Command, names ...string) error {
	for _, name := range names {
		if f := cmd.Flags().Lookup(name); f == nil || f.Value.String() == "" {
			return &usageError{fmt.Errorf("--%s: required", name)}
		}
	}
	return nil
}

// ttlFlag registers --ttl-minutes with the API's meaning: less than 0
// never expires.
func ttlFlag(cmd *cobra.Command, p *int64, what string) {
	cmd.Flags().Int64Var(p, "ttl-minutes", -1, "minutes until the "+what+" expires; -1 never")
}

// requiredTTL checks that --ttl-minutes was given, as a value the API can
// take.
func requiredTTL(cmd *cobra.Command, ttl int64) error {
	if !cmd.Flags().Changed("ttl-minutes") {
		return &usageError{fmt.Errorf("--ttl-minutes: required (-1: never expires)")}
	}
	return checkInt32("ttl-minutes", ttl)
}

// checkInt32 rejects values the API cannot take as a 32-bit integer.
func checkInt32(flag string, v int64) error {
	if v < -2147483648 || v > 2147483647 {
		return &usageError{fmt.Errorf("--%s: %d is out of range (-2147483648 to 2147483647)", flag, v)}
	}
	return nil
}

// orDefault returns value, or def when value is empty, naming the flag
// that is required when both are.
func orDefault(value, def, flag, envName string) (string, error) {
	if value != "" {
		return value, nil
	}
	if def != "" {
		return def, nil
	}
	return "", &usageError{fmt.Errorf("--%s: required (or set %s)", flag, envName)}
}
