#!/usr/bin/env bash
# run.sh runs the benchmark set of tms and writes the benchmark record.
#
#   bench/run.sh                    the full set: each step lasts about 60 s
#   BENCH_SECONDS=5 bench/run.sh    a smoke run with short steps
#
# It builds tms into bench/tmp, starts "tms server --dev --pprof" on SQLite in a
# fresh root directory under bench/tmp/run-<time>, waits for /readyz, and runs
# with "tms loadtest", at 100 users each: first getversion against a bare
# net/http server answering a fixed JSON body ("benchtool bare", the ceiling of
# this machine with this load generator), then against tms: getversion, getclient,
# getkey, createkey (ed25519) and mixed getkey=90,createkey=10; then createkey
# with 10 users throttled to 250 requests/s each for 20,000 iterations (the
# scenario that froze tms_server 0.3.0); then a ladder of getkey; then 10 users
# making 20 device-flow logins each (login). Each step at 100 users is sized
# by a short calibration run to last about BENCH_SECONDS. After getversion,
# getkey and createkey it repeats the step for about half as long while it
# takes a CPU profile of the server, whose top goes into the record.
# It repeats the set on PostgreSQL when scripts/pgtest.sh can start a
# throw-away cluster, which it stops afterwards.
#
# Every step writes a JSON and an HTML report next to its log under the run
# directory. The record, bench/results/<YYYY-MM-DD>.md (UTC date), holds the
# machine, the server configuration and a table per backend with each step's
# throughput as a ratio to the bare server's, the targets, and the profiles.
# A full run takes about 30 minutes. A run with
# BENCH_SECONDS other than 60 is a smoke run: its record stays in the run
# directory. An existing record is never overwritten: a second run on the same
# day writes <YYYY-MM-DD>-2.md.
#
# TMS_* and X_TMS_* variables of the calling environment are ignored, so the
# set always runs the same way. The script stops every process it started on
# exit, failure or Ctrl-C. Exit status: 0 when every step passed, 1 when a step
# failed or could not run, 2 for bad settings.
set -euo pipefail

readonly users=100
readonly ladder_users=1,5,10,25,50,100
readonly ladder_user_total=191 # the sum of ladder_users
readonly calibration_iterations=100
readonly freeze_users=10
readonly freeze_throttle=250
readonly freeze_iterations_full=20000
readonly login_users=10
readonly login_iterations_full=20
readonly full_seconds=60
readonly ready_timeout=60  # seconds for a server to answer /readyz
readonly stop_timeout=40   # seconds for a server to finish shutting down
readonly build_timeout=600 # seconds for go build
readonly profile_seconds_max=30

die() {
	echo "bench: $*" >&2
	exit 1
}

say() {
	echo "bench: $*" >&2
}

seconds=${BENCH_SECONDS:-$full_seconds}
if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds < 1 || seconds > 3600)); then
	echo "bench: BENCH_SECONDS: want whole seconds from 1 to 3600, got \"$seconds\"" >&2
	exit 2
fi
# The throttled createkey scenario is defined by its iteration count, not by
# a duration; a smoke run shortens it in proportion. So is the login step,
# down to 2 logins per user.
freeze_iterations=$freeze_iterations_full
login_iterations=$login_iterations_full
if ((seconds < full_seconds)); then
	freeze_iterations=$((freeze_iterations_full * seconds / full_seconds))
	login_iterations=$((login_iterations_full * seconds / full_seconds))
	((login_iterations >= 2)) || login_iterations=2
fi

for var in $(compgen -e); do
	if [[ $var == TMS_* || $var == X_TMS_* ]]; then
		unset "$var"
	fi
done

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
readonly tmp=$repo/bench/tmp
run_dir=$tmp/run-$(date -u +%Y%m%dT%H%M%SZ)
readonly run_dir
readonly tms=$tmp/tms
readonly benchtool=$tmp/benchtool

server_pid=""
bare_pid=""
profiler_pid=""
child_pid=""
calibrated_iterations=""
pg_dir=""
failed=0

# wait_gone waits up to $2 seconds for process $1 to end, then kills it, and
# reaps it.
wait_gone() {
	local pid=$1 limit=$2 waited=0
	while kill -0 "$pid" 2>/dev/null && ((waited < limit * 5)); do
		sleep 0.2
		waited=$((waited + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		say "process $pid did not stop after ${limit}s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

stop_bare() {
	if [[ -n $bare_pid ]]; then
		kill -TERM "$bare_pid" 2>/dev/null || true
		wait_gone "$bare_pid" 10
		bare_pid=""
	fi
}

stop_server() {
	if [[ -n $server_pid ]]; then
		kill -TERM "$server_pid" 2>/dev/null || true
		wait_gone "$server_pid" "$stop_timeout"
		server_pid=""
	fi
}

stop_postgres() {
	if [[ -n $pg_dir ]]; then
		if timeout 120 scripts/pgtest.sh stop "$pg_dir" 2>/dev/null; then
			rm -rf "$pg_dir"
		else
			say "could not stop the PostgreSQL cluster in $pg_dir; stop it with: scripts/pgtest.sh stop $pg_dir"
		fi
		pg_dir=""
	fi
}

cleanup() {
	local status=$?
	trap - EXIT INT TERM HUP
	if [[ -n $child_pid ]]; then
		kill -TERM "$child_pid" 2>/dev/null || true
		wait_gone "$child_pid" 15
		child_pid=""
	fi
	if [[ -n $profiler_pid ]]; then
		kill -TERM "$profiler_pid" 2>/dev/null || true
		wait_gone "$profiler_pid" 10
		profiler_pid=""
	fi
	stop_server
	stop_bare
	stop_postgres
	exit "$status"
}
trap cleanup EXIT
trap 'say "interrupted; stopping"; exit 130' INT TERM HUP

# in_background runs a command in the background and waits for it, so a
# signal reaches the traps at once and cleanup can stop the command.
in_background() {
	"$@" &
	child_pid=$!
	local rc=0
	wait "$child_pid" || rc=$?
	child_pid=""
	return "$rc"
}

# start_bare DIR starts the bare net/http server and waits until it answers.
# It sets bare_url.
start_bare() {
	local dir=$1 port waited=0
	port=$("$benchtool" freeport)
	bare_url=http://127.0.0.1:$port
	"$benchtool" bare -port "$port" >"$dir/bare.log" 2>&1 &
	bare_pid=$!
	until "$benchtool" ready "$bare_url/v1/tms/version" 2>/dev/null; do
		kill -0 "$bare_pid" 2>/dev/null || die "the bare server exited; see $dir/bare.log"
		((waited < ready_timeout * 5)) || die "the bare server does not answer after ${ready_timeout}s"
		sleep 0.2
		waited=$((waited + 1))
	done
}

# start_server DIR [DATABASE_URL] starts a dev server whose root is DIR/root,
# logging to DIR/server.log, with Go's profiles on a second port, and waits
# until it is ready. It sets base_url and pprof_addr.
start_server() {
	local dir=$1 database_url=${2:-}
	local port
	port=$("$benchtool" freeport)
	base_url=http://127.0.0.1:$port
	pprof_addr=127.0.0.1:$("$benchtool" freeport)
	# Every login of the load test comes from this one address.
	local env=(TMS_LOG_LEVEL=warn TMS_OAUTH_DEVICE_CODES_PER_MINUTE=100000)
	[[ -z $database_url ]] || env+=(TMS_DATABASE_URL="$database_url")
	env "${env[@]}" "$tms" server --dev --root-dir "$dir/root" --http-port "$port" --pprof "$pprof_addr" >"$dir/server.log" 2>&1 &
	server_pid=$!
	local waited=0
	until "$benchtool" ready "$base_url/readyz" 2>/dev/null; do
		kill -0 "$server_pid" 2>/dev/null || {
			tail -n 5 "$dir/server.log" >&2
			die "the server exited before it was ready; see $dir/server.log"
		}
		((waited < ready_timeout * 5)) || die "the server is not ready after ${ready_timeout}s; see $dir/server.log"
		sleep 0.2
		waited=$((waited + 1))
	done
	env "${env[@]}" timeout 60 "$tms" server --print-config --dev --root-dir "$dir/root" --http-port "$port" \
		>"$dir/server-config.txt" 2>>"$dir/server.log" ||
		say "could not print the server configuration; see $dir/server.log"
}

# loadtest DIR NAME BOUND ARGS... runs tms loadtest with the dev server's
# environment, writing DIR/NAME.json, DIR/NAME.html and DIR/NAME.log, for at
# most BOUND seconds. It returns the exit status of tms loadtest.
loadtest() {
	local dir=$1 name=$2 bound=$3
	shift 3
	mkdir -p "$dir"
	local rc=0
	# The inner shell redirects its own output, so that the traps of this
	# one still write to the terminal.
	# shellcheck disable=SC2016 # the inner shell expands its own arguments
	in_background bash -c 'exec >"$1" 2>&1 && . "$2" && shift 2 && exec timeout --kill-after=15 "$@"' loadtest \
		"$dir/$name.log" "$dev_env" "$bound" "$tms" loadtest --progress lines \
		--report-json "$dir/$name.json" --report-html "$dir/$name.html" "$@" || rc=$?
	if ((rc == 2)); then
		tail -n 3 "$dir/$name.log" >&2
		die "tms loadtest refused its arguments for $name; see $dir/$name.log"
	fi
	return "$rc"
}

# step DIR NAME DESCRIPTION BOUND ARGS... runs one measured step and notes a
# failure.
step() {
	local dir=$1 name=$2 description=$3 bound=$4
	shift 4
	say "$backend_name: $description"
	local rc=0
	loadtest "$dir" "$name" "$bound" "$@" || rc=$?
	if ((rc == 0)); then
		return
	fi
	failed=1
	if [[ -f $dir/$name.json ]]; then
		say "$backend_name: $name failed (exit $rc); see $dir/$name.log"
	else
		say "$backend_name: $name produced no report (exit $rc); see $dir/$name.log"
		echo "$name: tms loadtest exited with status $rc and wrote no report: $(tail -n 1 "$dir/$name.log")" >>"$dir/notes.txt"
	fi
}

# sized_step DIR NAME LABEL USERS ARGS... calibrates a step at USERS users,
# then runs it with as many iterations per user as make it last about
# BENCH_SECONDS.
sized_step() {
	local dir=$1 name=$2 label=$3 step_users=$4
	shift 4
	calibrate "$dir" "$name" "$step_users" "$step_users" "$@" || return 0
	step "$dir" "$name" "$label, $step_users users × $calibrated_iterations iterations" $((seconds * 4 + 120)) \
		--users "$step_users" --iterations "$calibrated_iterations" "$@"
}

# calibrate DIR NAME USERS TOTAL_USERS ARGS... runs USERS users for a few
# iterations and sets calibrated_iterations to the iterations per user that
# make TOTAL_USERS users last about BENCH_SECONDS. It fails, and notes why,
# when the calibration run measured nothing; failed requests in it only
# show again in the step.
calibrate() {
	local dir=$1 name=$2 calibration_users=$3 total_users=$4
	shift 4
	local rc=0
	calibrated_iterations=""
	loadtest "$dir/calibration" "$name" 300 --users "$calibration_users" --iterations "$calibration_iterations" "$@" || rc=$?
	if [[ ! -f $dir/calibration/$name.json ]] || ! calibrated_iterations=$("$benchtool" iterations -report "$dir/calibration/$name.json" \
		-users "$total_users" -seconds "$seconds" 2>>"$dir/calibration/$name.log"); then
		failed=1
		say "$backend_name: the calibration of $name failed (exit $rc); see $dir/calibration/$name.log"
		echo "$name: not run: its calibration failed (tms loadtest exit status $rc): $(tail -n 1 "$dir/calibration/$name.log")" >>"$dir/notes.txt"
		return 1
	fi
}

# profiled_repeat DIR NAME ARGS... repeats the step just sized for about half
# of BENCH_SECONDS while it takes a CPU profile of the server, and writes the
# top of the profile to DIR/profiles/NAME.txt. The repeat's report stays out
# of the record's table.
profiled_repeat() {
	local dir=$1 name=$2
	shift 2
	[[ -n $calibrated_iterations ]] || return 0
	local iterations=$(((calibrated_iterations + 1) / 2))
	local profile_seconds=$((seconds / 3))
	((profile_seconds >= 1)) || profile_seconds=1
	((profile_seconds <= profile_seconds_max)) || profile_seconds=$profile_seconds_max
	mkdir -p "$dir/profiles"
	say "$backend_name: $name again, $users users × $iterations iterations, with a ${profile_seconds}s CPU profile"
	"$benchtool" profile -addr "$pprof_addr" -seconds "$profile_seconds" -binary "$tms" \
		-out "$dir/profiles/$name.pb.gz" >"$dir/profiles/$name.txt" 2>"$dir/profiles/$name.log" &
	profiler_pid=$!
	loadtest "$dir/profiles" "$name" $((seconds * 4 + 120)) --users "$users" --iterations "$iterations" "$@" ||
		say "$backend_name: the profiled repeat of $name failed; see $dir/profiles/$name.log"
	local rc=0
	wait "$profiler_pid" || rc=$?
	profiler_pid=""
	if ((rc != 0)); then
		say "$backend_name: no profile of $name; see $dir/profiles/$name.log"
		rm -f "$dir/profiles/$name.txt"
	fi
}

# run_set DIR runs the benchmark set against the dev server of DIR, after
# measuring the bare server's ceiling with the same load generator.
run_set() {
	local dir=$1
	dev_env=$dir/root/dev.env
	[[ -f $dev_env ]] || die "the dev server wrote no $dev_env"
	start_bare "$dir"
	sized_step "$dir/ceiling" bare "getversion on the bare net/http server (ceiling)" "$users" --scenarios getversion --url "$bare_url"
	stop_bare
	sized_step "$dir" 01-getversion "getversion (baseline)" "$users" --scenarios getversion
	profiled_repeat "$dir" 01-getversion --scenarios getversion
	sized_step "$dir" 02-getclient "getclient" "$users" --scenarios getclient
	sized_step "$dir" 03-getkey "getkey" "$users" --scenarios getkey
	profiled_repeat "$dir" 03-getkey --scenarios getkey
	sized_step "$dir" 04-createkey "createkey ed25519" "$users" --scenarios createkey --key-type ed25519
	profiled_repeat "$dir" 04-createkey --scenarios createkey --key-type ed25519
	sized_step "$dir" 05-mixed "mixed getkey=90,createkey=10" "$users" \
		--scenarios mixed --mix getkey=90,createkey=10 --key-type ed25519
	step "$dir" 06-createkey-throttled \
		"createkey ed25519, $freeze_users users × $freeze_throttle req/s × $freeze_iterations iterations" \
		$((freeze_iterations * 3 / freeze_throttle + 120)) \
		--scenarios createkey --key-type ed25519 --users "$freeze_users" --throttle "$freeze_throttle" \
		--iterations "$freeze_iterations"
	if calibrate "$dir" 07-getkey-ladder "$users" "$ladder_user_total" --scenarios getkey; then
		step "$dir" 07-getkey-ladder "getkey ladder, $ladder_users users × $calibrated_iterations iterations" \
			$((seconds * 10 + 300)) \
			--scenarios getkey --phase ladder --ladder-users "$ladder_users" --iterations "$calibrated_iterations"
	fi
	step "$dir" 08-login "device-flow login, $login_users users × $login_iterations iterations" 300 \
		--scenarios login --users "$login_users" --iterations "$login_iterations"
}

# postgres_name prints the name and version of the PostgreSQL that
# scripts/pgtest.sh runs.
postgres_name() {
	local version
	version=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null | sort -V | tail -n 1)
	if [[ -n $version ]] && "/usr/lib/postgresql/$version/bin/postgres" --version >/dev/null 2>&1; then
		"/usr/lib/postgresql/$version/bin/postgres" --version | sed 's/^postgres (PostgreSQL) /PostgreSQL /'
	else
		echo PostgreSQL
	fi
}

mkdir -p "$run_dir"
# The commit is read before the build: it names what the binaries are built
# from, whatever changes while the set runs.
commit=unknown
if sha=$(git rev-parse --short=12 HEAD 2>/dev/null); then
	commit=$sha
	if [[ -n $(git status --porcelain --untracked-files=no 2>/dev/null) ]]; then
		commit+=" with uncommitted changes"
	fi
fi
say "building tms and benchtool into $tmp"
timeout "$build_timeout" go build -o "$tms" ./cmd/tms
timeout "$build_timeout" go build -o "$benchtool" ./bench/benchtool
say "runs in $run_dir, steps of about ${seconds}s"

backends=()

backend_name=SQLite
sqlite_dir=$run_dir/sqlite
mkdir -p "$sqlite_dir"
start_server "$sqlite_dir"
say "SQLite: server ready at $base_url"
run_set "$sqlite_dir"
stop_server
backends+=(-backend "SQLite=$sqlite_dir")

backend_name=$(postgres_name)
postgres_dir=$run_dir/postgres
mkdir -p "$postgres_dir"
pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/tms-bench-pg.XXXXXX")
pg_port=$("$benchtool" freeport)
if database_url=$(timeout 180 scripts/pgtest.sh start "$pg_dir" "$pg_port" 2>"$postgres_dir/pgtest.log"); then
	start_server "$postgres_dir" "$database_url"
	say "$backend_name: server ready at $base_url"
	run_set "$postgres_dir"
	stop_server
	backends+=(-backend "$backend_name=$postgres_dir")
else
	say "PostgreSQL is not available, so only SQLite was measured: $(tail -n 1 "$postgres_dir/pgtest.log")"
	rm -rf "$pg_dir"
	pg_dir=""
fi
stop_postgres

date=$(date -u +%F)
if ((seconds == full_seconds)); then
	mkdir -p bench/results
	record=bench/results/$date.md
	n=2
	while [[ -e $record ]]; do
		record=bench/results/$date-$n.md
		n=$((n + 1))
	done
else
	record=$run_dir/record.md
fi
"$benchtool" record -out "$record" -date "$date" -commit "$commit" -seconds "$seconds" "${backends[@]}"
say "wrote $record"
if ((failed)); then
	say "some steps failed; see the record and the logs in $run_dir"
	exit 1
fi
