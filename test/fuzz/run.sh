#!/bin/bash
#
# test/fuzz/run.sh -- hostile input, the fuzz loop and the attacks
#
#     test/fuzz/run.sh [hostile] [fuzz] [attack]     (default: all three)
#
# Runs against the server named by PGHOST, PGPORT, PGUSER (a superuser) and
# PGDATABASE, as test/check.sh provides them; each part works in a database
# of its own, created afresh, with transfer_guard as installed.
#
#   hostile   test/fuzz/hostile.sql: one claim per odd or hostile input
#   fuzz      test/fuzz/fuzz.sql: random calls and random DDL for
#             TG_FUZZ_SECONDS seconds (default 40), seed TG_FUZZ_SEED
#             (a number in [0, 1]; default random, printed so a run can be
#             repeated); TG_FUZZ_TRACE=1 prints every statement first
#   attack    test/fuzz/attack.sql and test/fuzz/attack_install.sh: planted
#             objects, privileges, row-level security, injection, and
#             attacks on the install script
#
# Every check prints "ok N - claim" or "not ok N - claim".  Besides those,
# a part fails if its session ends with an error or a lost connection, or if
# the server log (TG_SERVER_LOG, else the log of the pg_virtualenv cluster)
# shows a backend terminated by a signal while the part ran.  The last line
# is "N passed, N failed"; the exit status is non-zero if anything failed.
#
# The SQLSTATEs a call may fail with are read from README.md: every code in
# its "Errors" section (the table and the pass-through paragraph below it).
#
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
parts=("$@")
if [ ${#parts[@]} -eq 0 ]; then
	parts=(hostile fuzz attack)
fi

work=$(mktemp -d -t transfer_guard_fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT

passed=0
failed=0

say()
{
	printf '==> %s\n' "$*"
}

# the SQLSTATEs README.md documents, comma separated
allowed_states()
{
	sed -n '/^## Errors/,/^## /p' "$root/README.md" |
		grep -oE '\b[0-9A-Z]{5}\b' | grep '[0-9]' | sort -u | paste -sd, -
}

# the server log: TG_SERVER_LOG, else the pg_virtualenv cluster's
server_log()
{
	if [ -n "${TG_SERVER_LOG:-}" ]; then
		echo "$TG_SERVER_LOG"
		return
	fi
	if [ -n "${PG_CLUSTER_CONF_ROOT:-}" ]; then
		ls "$(dirname "$PG_CLUSTER_CONF_ROOT")"/log/*.log 2>/dev/null | head -1
	fi
}

log_size()
{
	local log
	log=$(server_log)
	if [ -n "$log" ] && [ -r "$log" ]; then
		stat -c %s "$log"
	else
		echo 0
	fi
}

# crashes logged since byte offset $1
crashes_since()
{
	local log
	log=$(server_log)
	if [ -n "$log" ] && [ -r "$log" ]; then
		tail -c +"$(($1 + 1))" "$log" |
			grep -E 'terminated by signal|was terminated by exception|PANIC:|server process .* exited with exit code [^01]' || true
	fi
}

fresh_db()
{
	PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -d postgres \
		-c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" &&
		psql -X -q -v ON_ERROR_STOP=1 -d "$1" -c 'CREATE EXTENSION transfer_guard'
}

# Count the ok / not ok lines of a part's output, and fail the part once
# more if its session failed or the server logged a crash meanwhile.
#   account PART OUTPUT STATUS LOGOFFSET
account()
{
	local part=$1 out=$2 status=$3 offset=$4 ok notok crashes

	ok=$(grep -cE '^ok [0-9]+' "$out" || true)
	notok=$(grep -cE '^not ok [0-9]+' "$out" || true)
	if [ "$status" -ne 0 ]; then
		echo "not ok - $part: the session ended with status $status (an error outside a check, or the connection was lost)"
		notok=$((notok + 1))
	fi
	crashes=$(crashes_since "$offset")
	if [ -n "$crashes" ]; then
		echo "not ok - $part: the server log shows a crash"
		sed 's/^/# /' <<<"$crashes"
		notok=$((notok + 1))
	elif [ -z "$(server_log)" ]; then
		echo "# $part: no server log found (set TG_SERVER_LOG); crashes are seen only as a lost connection"
	fi
	if [ "$ok" -eq 0 ] && [ "$notok" -eq 0 ]; then
		echo "not ok - $part: no check ran"
		notok=1
	fi
	say "$part: $ok passed, $notok failed"
	passed=$((passed + ok))
	failed=$((failed + notok))
}

run_hostile()
{
	local db=transfer_guard_hostile out="$work/hostile.out" status=0 offset

	offset=$(log_size)
	fresh_db "$db" || { failed=$((failed + 1)); return; }
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$here/lib.sql" -f "$here/hostile.sql" \
		>"$out" 2>&1 || status=$?
	grep -vE '^$' "$out"
	account hostile "$out" "$status" "$offset"
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" || true
}

run_fuzz()
{
	local db=transfer_guard_fuzz out="$work/fuzz.out" status=0 offset
	local seconds=${TG_FUZZ_SECONDS:-40} seed=${TG_FUZZ_SEED:-} trace=0 allowed

	if [ -z "$seed" ]; then
		seed=$(printf '0.%06d' $(((RANDOM * 32768 + RANDOM) % 1000000)))
	fi
	if [ "${TG_FUZZ_TRACE:-0}" = 1 ]; then
		trace=1
	fi
	allowed=$(allowed_states)
	say "fuzz: ${seconds}s, seed $seed (TG_FUZZ_SEED=$seed repeats this run)"
	say "fuzz: SQLSTATEs documented in README.md: $allowed"
	offset=$(log_size)
	fresh_db "$db" || { failed=$((failed + 1)); return; }
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$here/lib.sql" >/dev/null || { failed=$((failed + 1)); return; }
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" -v seconds="$seconds" -v seed="$seed" \
		-v allowed="$allowed" -v trace="$trace" -f "$here/fuzz.sql" >"$out" 2>&1 || status=$?
	grep -vE '^$' "$out"
	account fuzz "$out" "$status" "$offset"
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" || true
}

run_attack()
{
	local db=transfer_guard_attack out="$work/attack.out" status=0 offset

	offset=$(log_size)
	fresh_db "$db" || { failed=$((failed + 1)); return; }
	{
		psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$here/lib.sql" -f "$here/attack.sql" &&
			"$here/attack_install.sh"
	} >"$out" 2>&1 || status=$?
	grep -vE '^$' "$out"
	account attack "$out" "$status" "$offset"
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" || true
}

for part in "${parts[@]}"; do
	case $part in
		hostile | fuzz | attack)
			say "part: $part"
			"run_$part"
			;;
		*)
			echo "test/fuzz/run.sh: unknown part \"$part\"; the parts are hostile, fuzz, attack" >&2
			exit 2
			;;
	esac
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
