# test/bench/lib.sh -- shared by the benchmark scripts (run.sh, memory.sh,
# profile.sh)
#
# Sourced, not run.  Owns what the three do alike: preparing the machine as
# test/check.sh does (packages, build, install; TG_NO_BUILD=1 benchmarks the
# extension as installed), running the script again inside a throwaway
# cluster on a free port, loading setup.sql, and describing the machine.

source "$(dirname "${BASH_SOURCE[0]}")/../lib/prepare.sh"

BENCH_DIR=$TG_ROOT/test/bench
BENCH_DB=bench
BENCH_ACCOUNTS=100000
BENCH_SERVER_OPTIONS=()
export PATH="$TG_PG_BINDIR:$PATH"

# Ports tried for the throwaway cluster: clear of 5432 (the default of
# pg_virtualenv and of the machine's main cluster) and its neighbours.
BENCH_PORT_FIRST=5450
BENCH_PORT_COUNT=500
BENCH_PORT_ATTEMPTS=5

# Succeeds when something accepts TCP connections on the loopback PORT.
bench_port_in_use()
{
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null ||
		(exec 3<>"/dev/tcp/::1/$1") 2>/dev/null ||
		[ -e "/var/run/postgresql/.s.PGSQL.$1" ]
}

# Print a free port of the range, chosen at random so that two benchmarks
# started together rarely pick the same one.
bench_free_port()
{
	local port

	for _ in $(seq 100); do
		port=$((BENCH_PORT_FIRST + RANDOM % BENCH_PORT_COUNT))
		if ! bench_port_in_use "$port"; then
			echo "$port"
			return 0
		fi
	done
	echo "no free port in $BENCH_PORT_FIRST-$((BENCH_PORT_FIRST + BENCH_PORT_COUNT - 1))" >&2
	return 1
}

# Run a command in a throwaway PostgreSQL 15 cluster, as tg_virtualenv does,
# with two differences:
#   - the port is a free one (pg_virtualenv -t would take 5432, which another
#     throwaway cluster may hold); if the port is taken between the check and
#     the start, the cluster fails to start before the command runs, and
#     another port is tried;
#   - fsync is on (pg_virtualenv turns it off, and without it a commit with
#     synchronous_commit = on costs no more than one without).
# A script may add server settings in the array BENCH_SERVER_OPTIONS
# (pg_virtualenv's -o NAME=VALUE pairs), such as shared_preload_libraries.
# The command must call bench_started first thing, which tells a failure of
# the command (not retried) from a cluster that never started (retried).
bench_virtualenv()
{
	local attempt port status marker

	marker=$(mktemp -u -t tg_bench_started.XXXXXX)
	for attempt in $(seq "$BENCH_PORT_ATTEMPTS"); do
		port=$(bench_free_port) || return
		status=0
		BENCH_STARTED_MARKER=$marker PGPORT=$port \
			pg_virtualenv -t -v "$TG_PG_MAJOR" -o fsync=on "${BENCH_SERVER_OPTIONS[@]}" "$@" || status=$?
		if [ "$status" -eq 0 ] || [ -e "$marker" ]; then
			rm -f "$marker"
			return "$status"
		fi
		echo "cluster on port $port did not start (attempt $attempt); trying another port" >&2
	done
	return 1
}

# Called by the command bench_virtualenv runs, once the cluster is up.  Its
# standard output from then on is the report (see bench_outside).
bench_started()
{
	if [ -n "${BENCH_STARTED_MARKER:-}" ]; then
		: >"$BENCH_STARTED_MARKER"
	fi
	if [ -n "${BENCH_REPORT:-}" ]; then
		exec >"$BENCH_REPORT"
	fi
}

# The steps of each script outside the cluster: the packages (and a build
# and install unless TG_NO_BUILD=1), then the script itself again inside a
# throwaway cluster, with --in-cluster in front of its arguments.  What the
# preparation and pg_virtualenv print goes to stderr, with the progress, so
# that stdout holds the report alone, ready to quote.
#   bench_outside SCRIPT EXTRA-PACKAGES... -- ARGS...
bench_outside()
{
	local script=$1 packages=("${TG_BUILD_PACKAGES[@]}") report status=0

	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		packages+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	tg_prepare "${packages[@]}" >&2 || return
	report=$(mktemp -t tg_bench_report.XXXXXX)
	BENCH_REPORT=$report bench_virtualenv "$script" --in-cluster "$@" >&2 || status=$?
	cat "$report"
	rm -f "$report"
	return "$status"
}

bench_psql()
{
	psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$BENCH_DB" "$@"
}

# A fresh database (default $BENCH_DB) with the data of setup.sql, then
# the SQL of the second argument, if any.
bench_setup()
{
	local db=${1:-$BENCH_DB}

	psql -X -q -v ON_ERROR_STOP=1 -d postgres \
		-c "SET client_min_messages = warning" \
		-c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" || return
	psql -X -q -v ON_ERROR_STOP=1 -v accounts="$BENCH_ACCOUNTS" -d "$db" \
		-f "$BENCH_DIR/setup.sql" >/dev/null || return
	if [ -n "${2:-}" ]; then
		psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "$2" >/dev/null
	fi
}

# Wait until no client other than this one is connected to the cluster, so
# that no backend of the previous run still holds a lock or is exiting.
bench_wait_idle()
{
	for _ in $(seq 600); do
		if [ "$(bench_psql -c "SELECT count(*) FROM pg_stat_activity
				WHERE backend_type = 'client backend'
				AND pid <> pg_backend_pid()")" = 0 ]; then
			return 0
		fi
		sleep 0.05
	done
	echo "sessions still connected to the cluster" >&2
	return 1
}

# The machine and server, for the top of every report.
bench_describe()
{
	local cpu lib

	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	lib="$($TG_PG_CONFIG --pkglibdir)/transfer_guard.so"
	echo "machine:   $(nproc) cores, ${cpu:-unknown CPU}, $(awk '/^MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM, $(uname -sr)"
	echo "server:    $(bench_psql -c 'SELECT version()')"
	echo "extension: transfer_guard $(bench_psql -c "SELECT extversion FROM pg_extension WHERE extname = 'transfer_guard'"), library built $(date -u -r "$lib" '+%Y-%m-%d %H:%M UTC')"
	echo "load:      $(cut -d ' ' -f 1-3 /proc/loadavg) (1, 5, 15 min averages, at the end; other work on the machine skews the figures)"
	echo "settings:  $(bench_psql -c "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name) FROM pg_settings WHERE name IN ('fsync', 'shared_buffers', 'deadlock_timeout', 'max_wal_size', 'checkpoint_timeout')")"
}
