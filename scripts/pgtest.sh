#!/usr/bin/env bash
# pgtest.sh starts and stops a throw-away PostgreSQL cluster for tests.
#
#   scripts/pgtest.sh start DIR PORT   create (if needed) and start a cluster in DIR,
#                                      listening only on 127.0.0.1:PORT; prints its DSN
#   scripts/pgtest.sh stop DIR         stop the cluster in DIR (its files stay)
#
# The cluster lives in DIR/data, logs to DIR/log and keeps its socket in DIR. It trusts
# every local connection of the superuser "tms" and keeps fsync on, so durability tests
# mean something. Starting a cluster that already runs on the same port only prints the
# DSN again. It needs the Debian "postgresql" package (any version); the Debian default
# cluster and its service are not used. Run as root, the server runs as the "postgres"
# user, which must be able to reach DIR.
#
# Example:
#   DSN=$(scripts/pgtest.sh start /tmp/pgt 25432)
#   TMS_TEST_POSTGRES_URL=$DSN go test -race ./internal/store/...
#   scripts/pgtest.sh stop /tmp/pgt
set -euo pipefail

readonly ready_timeout=60

usage() {
	echo "usage: $0 start DIR PORT | stop DIR" >&2
	exit 2
}

die() {
	echo "pgtest: $*" >&2
	exit 1
}

# bindir prints the bin directory of the newest installed PostgreSQL version.
bindir() {
	local dir=""
	if [[ -d /usr/lib/postgresql ]]; then
		local version
		version=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort -V | tail -n 1)
		[[ -n $version ]] && dir=/usr/lib/postgresql/$version/bin
	fi
	[[ -n $dir && -x $dir/initdb && -x $dir/pg_ctl ]] ||
		die "no PostgreSQL under /usr/lib/postgresql; install it with: apt-get update && apt-get install -y postgresql"
	echo "$dir"
}

# as_server runs a command as the user the server runs as: "postgres" when
# called as root (initdb and postgres refuse to run as root), else the caller.
as_server() {
	if [[ $EUID -eq 0 ]]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# running_port prints the port of the server running on data directory $1,
# or nothing when none runs there.
running_port() {
	local bin=$1 data=$2
	if [[ -f $data/postmaster.pid ]] && as_server "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
		sed -n 4p "$data/postmaster.pid"
	fi
}

dsn() {
	echo "postgres://tms@127.0.0.1:$1/postgres?sslmode=disable"
}

start() {
	local dir=$1 port=$2
	[[ $port =~ ^[0-9]+$ ]] && ((port >= 1 && port <= 65535)) || die "PORT must be a number from 1 to 65535, got \"$port\""
	local bin
	bin=$(bindir)
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	local data=$dir/data
	if [[ $EUID -eq 0 ]]; then
		id postgres >/dev/null 2>&1 || die "user \"postgres\" does not exist; install the postgresql package"
		chown postgres: "$dir"
		as_server test -x "$dir" || die "user \"postgres\" cannot reach $dir; choose a directory it can enter"
	fi

	local current
	current=$(running_port "$bin" "$data")
	if [[ -n $current ]]; then
		[[ $current == "$port" ]] || die "the cluster in $dir already runs on port $current, not $port; stop it first"
		dsn "$port"
		return
	fi

	if [[ ! -f $data/PG_VERSION ]]; then
		echo "pgtest: creating a cluster in $data" >&2
		as_server "$bin/initdb" -D "$data" -A trust -U tms -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
			die "initdb failed; see $dir/initdb.log"
	fi

	echo "pgtest: starting PostgreSQL on 127.0.0.1:$port" >&2
	as_server "$bin/pg_ctl" -D "$data" -l "$dir/log" -w -t "$ready_timeout" start \
		-o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=on" >&2 ||
		die "the server did not start; see $dir/log"

	local waited=0
	until "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U tms -d postgres; do
		((waited < ready_timeout)) || die "the server does not accept connections after ${ready_timeout}s; see $dir/log"
		sleep 1
		waited=$((waited + 1))
	done
	dsn "$port"
}

stop() {
	local dir=$1
	[[ -d $dir ]] || die "no directory $dir"
	dir=$(cd "$dir" && pwd)
	local bin
	bin=$(bindir)
	local data=$dir/data
	if [[ -z $(running_port "$bin" "$data") ]]; then
		echo "pgtest: no cluster runs in $dir" >&2
		return
	fi
	as_server "$bin/pg_ctl" -D "$data" -m fast -w -t "$ready_timeout" stop >&2 || die "the server in $dir did not stop; see $dir/log"
}

case ${1:-} in
start)
	[[ $# -eq 3 ]] || usage
	start "$2" "$3"
	;;
stop)
	[[ $# -eq 2 ]] || usage
	stop "$2"
	;;
*)
	usage
	;;
esac
