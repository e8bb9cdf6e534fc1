#!/usr/bin/env bash
# test.sh runs every test of TMS: vet, formatting, and the Go tests of all
# packages with the race detector, against embedded SQLite and a real
# PostgreSQL server, a real OpenSSH sshd, a real OpenLDAP slapd and a real
# headless Chromium.
#
# It starts a throw-away PostgreSQL cluster on 127.0.0.1 (port
# $TMS_TEST_PG_PORT, default 25432, below the ephemeral port range) for the duration of the run. When run as
# root on Debian and a required package is missing, it installs it with
# apt-get first; otherwise it says what is missing and the tests that need it
# are skipped with a message.
#
#   scripts/test.sh            # everything
#   scripts/test.sh ./internal/store/...   # only some packages
set -euo pipefail
cd "$(dirname "$0")/.."

packages=("$@")
[[ ${#packages[@]} -gt 0 ]] || packages=(./...)

need=()
[[ -d /usr/lib/postgresql ]] || need+=(postgresql)
[[ -x /usr/sbin/sshd ]] || need+=(openssh-server)
command -v ssh >/dev/null && command -v ssh-keygen >/dev/null || need+=(openssh-client)
command -v chromium >/dev/null || need+=(chromium)
[[ -x /usr/sbin/slapd ]] || need+=(slapd)
command -v ldapsearch >/dev/null || need+=(ldap-utils)
command -v node >/dev/null && command -v npm >/dev/null || need+=(nodejs npm)
if [[ ${#need[@]} -gt 0 ]]; then
	if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
		echo "test.sh: installing ${need[*]}" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
	else
		echo "test.sh: missing ${need[*]}; the tests that need them will be skipped" >&2
	fi
fi

# The real OpenID Connect provider of the upstream sign-in tests: node's
# oidc-provider, at the version package-lock.json pins, in an ignored
# node_modules directory.
provider=scripts/oidc-provider
if command -v npm >/dev/null; then
	if [[ ! -f $provider/node_modules/oidc-provider/package.json || $provider/package-lock.json -nt $provider/node_modules/.package-lock.json ]]; then
		echo "test.sh: installing the test OpenID provider (npm ci in $provider)" >&2
		npm ci --prefix "$provider" --no-audit --no-fund --loglevel=error >/dev/null
	fi
else
	echo "test.sh: npm is missing; the upstream sign-in tests will be skipped" >&2
fi

echo "== gofmt" >&2
unformatted=$(gofmt -l cmd internal)
if [[ -n $unformatted ]]; then
	echo "test.sh: these files need gofmt:" >&2
	echo "$unformatted" >&2
	exit 1
fi
echo "== go vet" >&2
go vet ./...
staticcheck=$(command -v staticcheck || echo "$(go env GOPATH)/bin/staticcheck")
if [[ -x $staticcheck ]]; then
	echo "== staticcheck" >&2
	"$staticcheck" ./...
elif [[ -n ${CI:-} ]]; then
	echo "test.sh: staticcheck is missing (go install honnef.co/go/tools/cmd/staticcheck@v0.8.2)" >&2
	exit 1
else
	echo "test.sh: staticcheck is missing; skipping it (go install honnef.co/go/tools/cmd/staticcheck@v0.8.2)" >&2
fi

pgdir=""
cleanup() {
	if [[ -n $pgdir ]]; then
		scripts/pgtest.sh stop "$pgdir" >/dev/null 2>&1 || true
		rm -rf "$pgdir"
	fi
}
trap cleanup EXIT
if [[ -z ${TMS_TEST_POSTGRES_URL:-} && -d /usr/lib/postgresql ]]; then
	pgdir=$(mktemp -d /tmp/tms-test-pg.XXXXXX)
	chmod 0755 "$pgdir"
	TMS_TEST_POSTGRES_URL=$(scripts/pgtest.sh start "$pgdir" "${TMS_TEST_PG_PORT:-25432}")
	export TMS_TEST_POSTGRES_URL
	echo "== PostgreSQL for tests: $TMS_TEST_POSTGRES_URL" >&2
fi

echo "== go test -race -count=1 ${packages[*]}" >&2
go test -race -count=1 -timeout 45m "${packages[@]}"
