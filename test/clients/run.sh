#!/bin/bash
#
# test/clients/run.sh -- transfer_guard from the clients people use
#
#     test/clients/run.sh                  every suite
#     test/clients/run.sh psycopg node     only the named suites
#
# The suites: django (the chat bot scenario with Django's ORM, threads and
# sync_to_async), psycopg (psycopg 3, sync and async), asyncpg, node
# (node-postgres, with node's own test runner).  Each runs in a database of
# its own, tg_clients_SUITE, made afresh here: the driver suites on the
# tables of fixture.sql, the Django suite on those of its migrations.
#
# Needs a PostgreSQL server with transfer_guard installed, reached through
# PGHOST, PGPORT, PGUSER, PGPASSWORD (as test/check.sh's cluster sets them),
# as a superuser (it creates databases, the extension and a role); the
# Debian packages of TG_TEST_PACKAGES in test/lib/prepare.sh; and Node.js
# with npm (the pg package is installed here by npm ci from the lock file).
#
# Ends with one line per suite and the total,
#
#     clients: N passed, N failed, N skipped
#
# and exits non-zero if any test failed or any suite did not report.
#
set -uo pipefail

CLIENTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ALL_SUITES=(django psycopg asyncpg node)
# Python libraries are Debian packages, installed for the system Python
PYTHON=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1

say()
{
	printf '==> %s\n' "$*"
}

# A fresh database for a suite, with the fixture loaded if one is given:
#   fresh_database DB [FIXTURE]
fresh_database()
{
	local db=$1 fixture=${2:-}

	psql -X -q -v ON_ERROR_STOP=1 -d postgres \
		-c "DROP DATABASE IF EXISTS $db WITH (FORCE)" \
		-c "CREATE DATABASE $db" || return
	if [ -n "$fixture" ]; then
		psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$fixture" >/dev/null || return
	fi
}

# node-postgres, from the committed lock file, when not installed yet or
# when the lock file changed since
node_modules()
{
	local dir=$CLIENTS_DIR/node

	if ! command -v node >/dev/null; then
		echo "node: Node.js is not installed" >&2
		return 1
	fi
	if ! command -v npm >/dev/null; then
		# Debian's nodejs comes without npm; NodeSource's includes it
		# shellcheck source=../lib/prepare.sh
		source "$CLIENTS_DIR/../lib/prepare.sh" && tg_install_packages npm || return
	fi
	if [ ! -d "$dir/node_modules/pg" ] ||
		[ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
		say "node: npm ci"
		(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || return
	fi
}

# The counts of a Python suite's closing line, "SUITE: N passed, N failed,
# N skipped[, N known problem(s)]", as "passed failed skipped known"
python_counts()
{
	sed -nE "s/^$1: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped(, ([0-9]+) known.*)?\$/\\1 \\2 \\3 \\5/p" \
		"$2" | tail -n 1 | awk '{ print $1, $2, $3, ($4 == "" ? 0 : $4) }'
}

# Each suite prints its own output; its counts are written to $counts as
# "passed failed skipped known", or nothing if it did not get that far.
# Returns the test runner's status.
run_suite()
{
	local suite=$1 log=$2 counts=$3 db=tg_clients_$1 status=0

	: >"$counts"
	case $suite in
	django)
		fresh_database "$db" || return
		(cd "$CLIENTS_DIR/django" &&
			PGDATABASE=$db "$PYTHON" ../python/tgclients.py django .) 2>&1 |
			tee "$log" || status=$?
		python_counts django "$log" >"$counts"
		;;
	psycopg | asyncpg)
		fresh_database "$db" "$CLIENTS_DIR/fixture.sql" || return
		PGDATABASE=$db "$PYTHON" "$CLIENTS_DIR/python/tgclients.py" "$suite" \
			"$CLIENTS_DIR/python/test_$suite.py" 2>&1 | tee "$log" || status=$?
		python_counts "$suite" "$log" >"$counts"
		;;
	node)
		node_modules || return
		fresh_database "$db" "$CLIENTS_DIR/fixture.sql" || return
		(cd "$CLIENTS_DIR/node" &&
			PGDATABASE=$db node --test --test-reporter=spec test/clients.test.js) 2>&1 |
			tee "$log" || status=$?
		# the spec reporter's summary: "ℹ pass N", "ℹ fail N", "ℹ skipped N"
		awk '$1 ~ /^(ℹ|#)$/ && $2 == "pass" { p = $3 }
			$1 ~ /^(ℹ|#)$/ && $2 == "fail" { f = $3 }
			$1 ~ /^(ℹ|#)$/ && $2 == "skipped" { s = $3 }
			END { if (p != "" && f != "") print p, f, (s == "" ? 0 : s), 0 }' "$log" >"$counts"
		;;
	esac
	return $status
}

suites=("$@")
if [ ${#suites[@]} -eq 0 ]; then
	suites=("${ALL_SUITES[@]}")
fi
for suite in "${suites[@]}"; do
	case " ${ALL_SUITES[*]} " in
	*" $suite "*) ;;
	*)
		echo "test/clients/run.sh: unknown suite \"$suite\"; the suites: ${ALL_SUITES[*]}" >&2
		exit 2
		;;
	esac
done

work=$(mktemp -d -t transfer_guard_clients.XXXXXX)
trap 'rm -rf "$work"' EXIT

total_passed=0 total_failed=0 total_skipped=0
summary=()
for suite in "${suites[@]}"; do
	say "clients: $suite"
	started=$SECONDS
	status=0
	run_suite "$suite" "$work/$suite.log" "$work/$suite.counts" || status=$?
	if read -r passed failed skipped known <"$work/$suite.counts" 2>/dev/null &&
		[ -n "$passed" ]; then
		if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
			# the runner failed without a test failing: count the suite
			failed=1
		fi
		line=$(printf '%-8s %d passed, %d failed, %d skipped' \
			"$suite" "$passed" "$failed" "$skipped")
		if [ "${known:-0}" -gt 0 ]; then
			line+=$(printf ', %d known problem(s) (expected failures)' "$known")
		fi
		line+=" ($((SECONDS - started))s)"
	else
		passed=0 failed=1 skipped=0
		line=$(printf '%-8s did not report (%ds)' "$suite" $((SECONDS - started)))
	fi
	summary+=("$line")
	total_passed=$((total_passed + passed))
	total_failed=$((total_failed + failed))
	total_skipped=$((total_skipped + skipped))
done

say "clients: results"
for line in "${summary[@]}"; do
	echo "    $line"
done
echo "clients: $total_passed passed, $total_failed failed, $total_skipped skipped"
[ "$total_failed" -eq 0 ]
