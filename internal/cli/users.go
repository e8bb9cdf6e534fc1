package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tmsproject/tms/internal/client"
	"github.com/tmsproject/tms/internal/tms"
)

func newUsersCommand(stdio IO) *cobra.Command {
	g := newAPIGroup(stdio, "users", "Manage end users who log in with tms login (administrator)",
		`Manage the tenant's end users: the people who log in with tms login and
sign in through the browser with a password and a one-time code (TOTP).
A user's username is also their TMS user id. A new user sets up an
authenticator app at the first sign-in, or an administrator provisions the
TOTP secret with tms users totp. These commands need administrator
credentials. Passwords are read from a file, standard input or a prompt,
never from a flag value.`)
	g.cmd.AddCommand(
		newUsersCreateCommand(g),
		newUsersGetCommand(g),
		newUsersListCommand(g),
		newUsersUpdateCommand(g),
		newUsersDeleteCommand(g),
		newUsersTOTPCommand(g),
	)
	return g.cmd
}

// passwordInput is where a command reads a password from.
type passwordInput struct {
	file  string
	stdin bool
}

func (p *passwordInput) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&p.file, "password-file", "", "read the password from the first line of `FILE`")
	cmd.Flags().BoolVar(&p.stdin, "password-stdin", false, "read the password from the first line of standard input")
}

// given reports whether a password source was named.
func (p passwordInput) given() bool { return p.file != "" || p.stdin }

// read returns the password from the file, standard input, or a prompt
// when standard input is a terminal.
func (p passwordInput) read(stdio IO, username string) (string, error) {
	firstLine := func(r io.Reader, source string) (string, error) {
		line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("%s: %w", source, err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			return "", &usageError{fmt.Errorf("%s: no password in it", source)}
		}
		return line, nil
	}
	switch {
	case p.file != "" && p.stdin:
		return "", &usageError{errors.New("--password-file and --password-stdin: give only one")}
	case p.file != "":
		f, err := os.Open(p.file)
		if err != nil {
			return "", &usageError{fmt.Errorf("--password-file: %w", err)}
		}
		defer f.Close()
		return firstLine(f, "--password-file "+p.file)
	case p.stdin:
		return firstLine(stdio.In, "--password-stdin")
	}
	f, ok := stdio.In.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", &usageError{errors.New("no password: use --password-file FILE or --password-stdin")}
	}
	fmt.Fprintf(stdio.Err, "Password for %s: ", username)
	first, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(stdio.Err)
	if err != nil {
		return "", fmt.Errorf("read the password: %w", err)
	}
	fmt.Fprintf(stdio.Err, "Again: ")
	second, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(stdio.Err)
	if err != nil {
		return "", fmt.Errorf("read the password: %w", err)
	}
	if string(first) != string(second) {
		return "", &usageError{errors.New("the two passwords differ")}
	}
	return string(first), nil
}

func showUser(o *output, u client.User) {
	o.field("username", u.Username)
	o.field("tenant", u.Tenant)
	o.field("sign-in", u.Origin)
	o.field("enabled", boolText(u.Enabled))
	o.field("totp", u.TOTP)
	o.field("created", when(u.Created))
	o.field("updated", when(u.Updated))
}

func newUsersCreateCommand(g *apiGroup) *cobra.Command {
	var (
		user   string
		signIn string
		pw     passwordInput
	)
	cmd := &cobra.Command{
		Use:   "create --user NAME [--password-file FILE | --password-stdin | --sign-in upstream:ID|ldap:ID]",
		Short: "Create a user",
		Long: `Create a user. A local user signs in with a TMS password, read from a file,
standard input or a prompt. With --sign-in the user signs in through one of
the tenant's upstream OpenID Connect providers (upstream:ID) or its directory
(ldap:ID) and has no TMS password; this is how an administrator admits users
of a provider configured with create_users = false.`,
		Example: "  tms users create --user alice --password-file alice.pw\n  printf '%s\\n' \"$PW\" | tms users create --user bob --password-stdin\n" +
			"  tms users create --user carol --sign-in upstream:campus",
		Args: noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := required(cmd, "user"); err != nil {
				return err
			}
			if signIn != "" && pw.given() {
				return &usageError{errors.New("--sign-in: a user who signs in elsewhere has no TMS password; leave out --password-file and --password-stdin")}
			}
			return nil
		},
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, _ []string) error {
			var u client.User
			var err error
			if signIn != "" && signIn != "local" {
				u, err = s.api.CreateUserFrom(ctx, user, signIn)
			} else {
				var password string
				if password, err = pw.read(g.stdio, user); err != nil {
					return err
				}
				u, err = s.api.CreateUser(ctx, user, password)
			}
			if err != nil {
				return err
			}
			return g.show(&u, func(o *output) { showUser(o, u) })
		}),
	}
	cmd.Flags().StringVar(&user, "user", "", "username (required)")
	cmd.Flags().StringVar(&signIn, "sign-in", "", "where the user signs in: `upstream:ID` or ldap:ID (default: local, with a password)")
	pw.flags(cmd)
	return cmd
}

func newUsersGetCommand(g *apiGroup) *cobra.Command {
	var user string
	cmd := &cobra.Command{
		Use:     "get --user NAME",
		Short:   "Show a user",
		Example: "  tms users get --user alice",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return required(cmd, "user") },
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, _ []string) error {
			u, err := s.api.GetUser(ctx, user)
			if err != nil {
				return err
			}
			return g.show(&u, func(o *output) { showUser(o, u) })
		}),
	}
	cmd.Flags().StringVar(&user, "user", "", "username (required)")
	return cmd
}

func newUsersListCommand(g *apiGroup) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the tenant's users",
		Example: "  tms users list",
		Args:    noArgs,
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, _ []string) error {
			list, err := s.api.ListUsers(ctx)
			if err != nil {
				return err
			}
			return g.show(&list, func(o *output) {
				if len(list.Users) == 0 {
					o.line("No users.")
					return
				}
				o.row("USERNAME", "SIGN-IN", "ENABLED", "TOTP", "CREATED", "UPDATED")
				for _, u := range list.Users {
					o.row(u.Username, u.Origin, boolText(u.Enabled), u.TOTP, when(u.Created), when(u.Updated))
				}
			})
		}),
	}
}

func newUsersUpdateCommand(g *apiGroup) *cobra.Command {
	var (
		user       string
		enabled    bool
		enabledSet bool
		pw         passwordInput
	)
	cmd := &cobra.Command{
		Use:   "update --user NAME [--enabled=true|false] [--password-file FILE | --password-stdin]",
		Short: "Enable or disable a user, or set a new password",
		Long: `Enable or disable a user, or set a new password. A disabled user cannot
sign in, and the tokens of the user's logins stop working.`,
		Example: "  tms users update --user alice --enabled=false\n  tms users update --user alice --password-file new.pw",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := required(cmd, "user"); err != nil {
				return err
			}
			enabledSet = cmd.Flags().Changed("enabled")
			if !enabledSet && !pw.given() {
				return &usageError{errors.New("nothing to change: give --enabled, --password-file or --password-stdin")}
			}
			return nil
		},
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, _ []string) error {
			var ch client.UserChange
			if pw.given() {
				password, err := pw.read(g.stdio, user)
				if err != nil {
					return err
				}
				ch.Password = &password
			}
			if enabledSet {
				ch.Enabled = &enabled
			}
			u, err := s.api.UpdateUser(ctx, user, ch)
			if err != nil {
				return err
			}
			return g.show(&u, func(o *output) { o.line("%s", u.ResultMsg) })
		}),
	}
	cmd.Flags().StringVar(&user, "user", "", "username (required)")
	cmd.Flags().BoolVar(&enabled, "enabled", true, "enable (true) or disable (false) the user")
	pw.flags(cmd)
	return cmd
}

func newUsersDeleteCommand(g *apiGroup) *cobra.Command {
	var user string
	cmd := &cobra.Command{
		Use:   "delete --user NAME",
		Short: "Delete a user",
		Long: `Delete a user with the user's pending sign-ins and tokens. The user's MFA
record, host mappings, delegations and keys stay (tms usermfa delete
removes them).`,
		Example: "  tms users delete --user alice",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return required(cmd, "user") },
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, _ []string) error {
			d, err := s.api.DeleteUser(ctx, user)
			if err != nil {
				return err
			}
			return g.show(&d, func(o *output) { o.line("%s", d.ResultMsg) })
		}),
	}
	cmd.Flags().StringVar(&user, "user", "", "username (required)")
	return cmd
}

func newUsersTOTPCommand(g *apiGroup) *cobra.Command {
	var (
		user string
		noQR bool
	)
	cmd := &cobra.Command{
		Use:   "totp --user NAME [--no-qr]",
		Short: "Give a user a new TOTP secret",
		Long: `Give a user a new TOTP secret for an authenticator app, replacing any
earlier one, and print it with its otpauth URI and a QR code. Hand it to the
user over a safe channel; it is not shown again.`,
		Example: "  tms users totp --user alice",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return required(cmd, "user") },
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, _ []string) error {
			p, err := s.api.ProvisionTOTP(ctx, user)
			if err != nil {
				return err
			}
			if err := g.show(&p, func(o *output) {
				o.field("secret", p.Secret)
				o.field("otpauth_uri", p.OTPAuthURI)
			}); err != nil || g.flags.json || noQR {
				return err
			}
			q, err := qrcode.New(p.OTPAuthURI, qrcode.Low)
			if err != nil {
				return fmt.Errorf("draw the QR code: %w", err)
			}
			fmt.Fprintf(g.stdio.Out, "\n%s", q.ToSmallString(false))
			return nil
		}),
	}
	cmd.Flags().StringVar(&user, "user", "", "username (required)")
	cmd.Flags().BoolVar(&noQR, "no-qr", false, "do not print a QR code")
	return cmd
}

func newOAuthClientsCommand(stdio IO) *cobra.Command {
	g := newAPIGroup(stdio, "oauthclients", "Manage public OAuth clients that users approve (administrator)",
		`Manage the tenant's public OAuth clients: applications without a secret,
such as the tms command line (tms-cli, which every tenant has), that users
approve through the device flow. Delete one with tms clients delete.
These commands need administrator credentials.`)
	var id, name, version string
	create := &cobra.Command{
		Use:     "create --client-id ID --app-name NAME --app-version VERSION",
		Short:   "Register a public OAuth client",
		Example: "  tms oauthclients create --client-id desktop --app-name \"Desktop app\" --app-version 1.0",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return required(cmd, "client-id", "app-name", "app-version")
		},
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, _ []string) error {
			c, err := s.api.CreateOAuthClient(ctx, id, name, version)
			if err != nil {
				return err
			}
			return g.show(&c, func(o *output) {
				o.field("client_id", c.ClientID)
				o.field("app_name", c.AppName)
				o.field("app_version", c.AppVersion)
			})
		}),
	}
	create.Flags().StringVar(&id, "client-id", "", "client id (required)")
	create.Flags().StringVar(&name, "app-name", "", "application name shown to users (required)")
	create.Flags().StringVar(&version, "app-version", "", "application version (required)")
	list := &cobra.Command{
		Use:     "list",
		Short:   "List the tenant's public OAuth clients",
		Example: "  tms oauthclients list",
		Args:    noArgs,
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, _ []string) error {
			l, err := s.api.ListOAuthClients(ctx)
			if err != nil {
				return err
			}
			return g.show(&l, func(o *output) {
				o.row("CLIENT_ID", "APP_NAME", "APP_VERSION", "ENABLED", "BUILTIN")
				for _, c := range l.Clients {
					o.row(c.ClientID, c.AppName, c.AppVersion, boolText(c.Enabled), strconv.FormatBool(c.Builtin))
				}
			})
		}),
	}
	g.cmd.AddCommand(create, list)
	return g.cmd
}

func newTOTPCommand(stdio IO) *cobra.Command {
	cmd := newGroupCommand("totp", "Compute TOTP codes", `Compute the one-time codes an authenticator app shows.`)
	var secretEnv string
	code := &cobra.Command{
		Use:   "code --secret-env VARIABLE",
		Short: "Print the current code of a TOTP secret",
		Long: `Print the current 6-digit code of the base32 TOTP secret in the environment
variable VARIABLE, as an authenticator app would show it. It is meant for
scripts and tests (a development server puts its test user's secret in
TMS_DEV_TOTP_SECRET); a code computed on the same machine as the password
is typed adds no second factor.`,
		Example: "  . ~/.tms/dev.env\n  tms totp code --secret-env TMS_DEV_TOTP_SECRET",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return required(cmd, "secret-env") },
		RunE: func(cmd *cobra.Command, _ []string) error {
			secret, ok := stdio.environ()[secretEnv]
			if !ok || strings.TrimSpace(secret) == "" {
				return &usageError{fmt.Errorf("--secret-env: the environment variable %s is not set", secretEnv)}
			}
			c, err := tms.TOTPCode(secret, time.Now())
			if err != nil {
				return &usageError{fmt.Errorf("--secret-env: %s: %w", secretEnv, err)}
			}
			fmt.Fprintln(stdio.Out, c)
			return nil
		},
	}
	code.Flags().StringVar(&secretEnv, "secret-env", "", "name of the environment `VARIABLE` that holds the secret (required)")
	cmd.AddCommand(code)
	return cmd
}
