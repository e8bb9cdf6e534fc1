// Package envnames names every TMS_* environment variable that is not a
// configuration setting of the server: the root directory, what the
// command-line client, the load-test tools and the development server's
// dev.env use, and what the tests read. The settings' own variables
// (TMS_SECTION_KEY) come from package config. The server warns about any
// other TMS_* variable it is started with, so a mistyped name does not go
// unnoticed; a variable that some part of TMS reads belongs here.
package envnames

// The variables.
const (
	// RootDir is the server's root directory (--root-dir).
	RootDir = "TMS_ROOT_DIR"
	// URL is the base URL of the server, for the command-line client and
	// the load-test tools.
	URL = "TMS_URL"
	// PubkeyHost, PubkeyUser, PubkeyUserID, PubkeyKeyType and
	// PubkeyFingerprint describe the keys of the load-test tools.
	PubkeyHost        = "TMS_PUBKEY_HOST"
	PubkeyUser        = "TMS_PUBKEY_USER"
	PubkeyUserID      = "TMS_PUBKEY_USERID"
	PubkeyKeyType     = "TMS_PUBKEY_KEYTYPE"
	PubkeyFingerprint = "TMS_PUBKEY_FINGERPRINT"
	// ParseResponse and Verbose are switches of the load-test tools.
	ParseResponse = "TMS_PARSE_RESPONSE"
	Verbose       = "TMS_VERBOSE"
	// DevUser, DevPassword and DevTOTPSecret are the test user of a
	// development server, in its dev.env.
	DevUser       = "TMS_DEV_USER"
	DevPassword   = "TMS_DEV_PASSWORD"
	DevTOTPSecret = "TMS_DEV_TOTP_SECRET"
	// TestPostgresURL is the PostgreSQL server of the tests, and TestPGPort
	// the port scripts/test.sh starts it on.
	TestPostgresURL = "TMS_TEST_POSTGRES_URL"
	TestPGPort      = "TMS_TEST_PG_PORT"
	// SQLiteCrashWriter makes a test process a SQLite writer that a test
	// kills.
	SQLiteCrashWriter = "TMS_SQLITE_CRASH_WRITER"
)

// All returns every variable of this package.
func All() []string {
	return []string{RootDir, URL, PubkeyHost, PubkeyUser, PubkeyUserID, PubkeyKeyType, PubkeyFingerprint,
		ParseResponse, Verbose, DevUser, DevPassword, DevTOTPSecret, TestPostgresURL, TestPGPort, SQLiteCrashWriter}
}
