#!/bin/bash
#
# test/check.sh -- build transfer_guard, install it, and run the test suite
#
#     test/check.sh              every step, in the order of STEPS below
#     test/check.sh pgtap        only the named steps
#
# Installs the missing Debian packages (via sudo unless run as root), builds
# and installs the extension for PostgreSQL 15, then runs every step inside one
# throwaway cluster (pg_virtualenv), which is dropped afterwards.  A failing
# step does not stop the later ones.  The last line printed is
#
#     N passed, N failed
#
# counting pg_regress tests, isolation tests and pgTAP files; the exit status
# is 0 only if nothing failed.
#
# Compiler warnings are errors when CI=true (unless PG_CFLAGS is given), or
# when the caller passes PG_CFLAGS containing -Werror; a plain run builds with
# the default flags, so that a newer compiler's new warning does not stop it.
#
set -euo pipefail

source "$(dirname "$0")/lib/prepare.sh"
export PATH="$TG_PG_BINDIR:$PATH"

# The steps, in the order they run.  Each is a function step_<name> below,
# run with the cluster's PGHOST, PGPORT, PGUSER and PGDATABASE set, from the
# repository root.  To add a test group, write its step function (it reports
# with tg_record and returns non-zero when something failed) and name it here.
STEPS=(
	layers		# test/static/layers.sh: no module of src/ includes one above it
	regress		# pg_regress: REGRESS in the Makefile, sql/ and expected/
	isolation	# pg_isolation_regress: ISOLATION in the Makefile, test/isolation/
	pgtap		# pg_prove: test/pgtap/*.sql, the installed surface and privileges
	dump		# test/dump/round_trip.sh: pg_dump and restore keep guards, journal, keys
	clients		# test/clients/run.sh: Django, psycopg 3, asyncpg, node-postgres
	stress		# test/stress/bank.sh: the bank invariant under concurrent load (quick form)
	crash		# test/tap/run.sh: crash recovery, with PostgreSQL's Perl TAP framework
	fuzz		# test/fuzz/run.sh hostile fuzz: odd and hostile input, random calls and DDL
	attack		# test/fuzz/run.sh attack: planted objects, privileges, RLS, injection, install script
)

TG_STRICT_CFLAGS="-Werror -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare"

# ---------------------------------------------------------------------------
# Helpers for the steps
# ---------------------------------------------------------------------------

# Record a step's figures for the summary: tg_record STEP PASSED FAILED
tg_record()
{
	printf '%s %d %d\n' "$1" "$2" "$3" >>"$TG_RESULTS"
}

# The value of a variable of the Makefile, e.g. tg_make_var REGRESS
tg_make_var()
{
	make -s --no-print-directory -C "$TG_ROOT" PG_CONFIG="$TG_PG_CONFIG" \
		-f Makefile -f <(printf 'tg-print-%%:\n\t@echo $(%s)\n' "$1") \
		"tg-print-$1"
}

# Run one of the pg_regress drivers through PGXS's installcheck target, with
# the other driver's list emptied, so that a failure in one still lets the
# other run and report.  Counts the tests reported "ok" against the list in
# the Makefile; any test not reported ok counts as failed.
#   tg_installcheck STEP LISTVAR OTHERVAR DIFFS
tg_installcheck()
{
	local step=$1 listvar=$2 othervar=$3 diffs=$4
	local log="$TG_WORK/$step.log" expected passed failed status=0

	expected=$(tg_make_var "$listvar" | wc -w)
	if [ "$expected" -eq 0 ]; then
		tg_say "$step: no tests listed in $listvar"
		tg_record "$step" 0 0
		return 0
	fi
	rm -f "$TG_ROOT/$diffs"
	make -C "$TG_ROOT" PG_CONFIG="$TG_PG_CONFIG" "$othervar=" installcheck \
		2>&1 | tee "$log" || status=$?
	# pg_regress of PostgreSQL 15 prints "test NAME ... ok"; later releases
	# print TAP, "ok N - NAME".
	passed=$(grep -cE '^[[:space:]]*(test[[:space:]]+)?[^[:space:]]+[[:space:]]+\.\.\. ok\b|^ok [0-9]+ ' "$log" || true)
	failed=$((expected - passed))
	if [ "$failed" -lt 0 ]; then
		failed=0
	fi
	if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
		# the driver failed without a test failing: count the step itself
		failed=1
	fi
	tg_record "$step" "$passed" "$failed"
	if [ "$failed" -ne 0 ]; then
		if [ -s "$TG_ROOT/$diffs" ]; then
			tg_say "$step: $diffs"
			cat "$TG_ROOT/$diffs"
		else
			tg_say "$step: failed, and $diffs is empty or missing"
		fi
		return 1
	fi
}

# ---------------------------------------------------------------------------
# The steps
# ---------------------------------------------------------------------------

# The layers of src/: counts files, each passing when it includes no
# header of a module above its own.
step_layers()
{
	local log="$TG_WORK/layers.log" passed failed status=0

	"$TG_ROOT/test/static/layers.sh" 2>&1 | tee "$log" || status=$?
	passed=$(grep -c '^ok - ' "$log" || true)
	failed=$(grep -c '^not ok - ' "$log" || true)
	if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
		failed=1
	fi
	tg_record layers "$passed" "$failed"
	[ "$failed" -eq 0 ]
}

step_regress()
{
	tg_installcheck regress REGRESS ISOLATION regression.diffs
}

step_isolation()
{
	tg_installcheck isolation ISOLATION REGRESS output_iso/regression.diffs
}

# pgTAP files run in a database of their own, created empty here.  Each file
# creates the pgtap and transfer_guard extensions inside its own transaction
# and rolls everything back, so the files are independent of each other and
# of their order; they run in name order all the same, the structural checks
# (01_) before the behavioural ones, so that a server crash in the latter
# cannot fail the former.  Counts files: a file passes when all its tests pass.
step_dump()
{
	local log="$TG_WORK/dump.log" status=0 passed failed

	"$TG_ROOT/test/dump/round_trip.sh" 2>&1 | tee "$log" || status=$?
	passed=$(grep -c '^ok - ' "$log" || true)
	failed=$(grep -c '^not ok - ' "$log" || true)
	if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
		failed=1
	fi
	tg_record dump "$passed" "$failed"
	[ "$failed" -eq 0 ]
}

step_pgtap()
{
	local db=transfer_guard_pgtap log="$TG_WORK/pgtap.log" files total failed status=0

	mapfile -t files < <(find "$TG_ROOT/test/pgtap" -name '*.sql' -type f | sort)
	total=${#files[@]}
	if [ "$total" -eq 0 ]; then
		tg_say "pgtap: no files in test/pgtap"
		tg_record pgtap 0 0
		return 0
	fi
	if ! psql -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $db"; then
		tg_record pgtap 0 "$total"
		return 1
	fi
	(cd "$TG_ROOT" && pg_prove --norc --failures --comments -d "$db" \
		"${files[@]#"$TG_ROOT/"}") 2>&1 | tee "$log" || status=$?
	# TAP::Harness lists each failing file in its summary report as
	# "FILE (Wstat: ...)"; it prints "Files=N" only when it got that far.
	if grep -qE '^Files=[0-9]+' "$log"; then
		failed=$(grep -cE '^[^[:space:]]+\.sql[[:space:]]+\(Wstat:' "$log" || true)
		if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
			failed=1
		fi
	else
		failed=$total
	fi
	tg_record pgtap $((total - failed)) "$failed"
	[ "$failed" -eq 0 ]
}

# Real clients calling the extension: Django, psycopg 3, asyncpg and
# node-postgres (test/clients/run.sh, each suite in a database of its own).
# Counts tests; a suite that does not report counts as one failure.
step_clients()
{
	local log="$TG_WORK/clients.log" passed failed status=0

	"$TG_ROOT/test/clients/run.sh" 2>&1 | tee "$log" || status=$?
	if ! read -r passed failed < <(sed -nE \
		's/^clients: ([0-9]+) passed, ([0-9]+) failed.*/\1 \2/p' "$log" | tail -n 1); then
		passed=0 failed=1
	fi
	if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
		failed=1
	fi
	tg_record clients "$passed" "$failed"
	[ "$failed" -eq 0 ]
}

# The bank invariant under concurrent load: test/stress/bank.sh in its quick
# form (its --long form runs on request only).  Counts shapes: a shape passes
# when all its checks pass.
step_stress()
{
	local log="$TG_WORK/stress.log" passed failed status=0

	"$TG_ROOT/test/stress/bank.sh" --in-cluster 2>&1 | tee "$log" || status=$?
	passed=$(grep -c ': PASS$' "$log" || true)
	failed=$(grep -c ': FAIL$' "$log" || true)
	if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
		failed=1
	fi
	tg_record stress "$passed" "$failed"
	[ "$failed" -eq 0 ]
}

# Crash recovery: test/tap/run.sh, PostgreSQL's Perl TAP framework, which
# makes clusters of its own (not this step's) and crashes them under load.
# Counts test files: a file passes when all its tests pass.
step_crash()
{
	local log="$TG_WORK/crash.log" total failed status=0

	total=$(find "$TG_ROOT/test/tap/t" -name '*.pl' -type f | wc -l)
	"$TG_ROOT/test/tap/run.sh" 2>&1 | tee "$log" || status=$?
	# as for pgTAP: failing files are listed as "FILE (Wstat: ...)"
	if grep -qE '^Files=[0-9]+' "$log"; then
		failed=$(grep -cE '^[^[:space:]]+\.pl[[:space:]]+\(Wstat:' "$log" || true)
		if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
			failed=1
		fi
	else
		failed=$total
	fi
	tg_record crash $((total - failed)) "$failed"
	[ "$failed" -eq 0 ]
}

# Hostile input, the fuzz loop and the attacks: test/fuzz/run.sh, whose last
# line is "N passed, N failed", counting checks.  TG_FUZZ_SECONDS sets the
# fuzz's run time (default 40), TG_FUZZ_SEED repeats a run.
tg_fuzz_step()
{
	local step=$1 log="$TG_WORK/$1.log" passed=0 failed=1 status=0
	shift

	"$TG_ROOT/test/fuzz/run.sh" "$@" 2>&1 | tee "$log" || status=$?
	if read -r passed failed < <(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$log" | tail -1); then
		if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
			failed=1
		fi
	else
		passed=0 failed=1
	fi
	tg_record "$step" "$passed" "$failed"
	[ "$failed" -eq 0 ]
}

step_fuzz()
{
	tg_fuzz_step fuzz hostile fuzz
}

step_attack()
{
	tg_fuzz_step attack attack
}

# ---------------------------------------------------------------------------
# Inside the cluster: run the steps given as arguments
# ---------------------------------------------------------------------------

tg_in_cluster()
{
	local step status=0

	cd "$TG_ROOT"
	for step in "$@"; do
		tg_say "step: $step"
		"step_$step" || status=1
	done
	return $status
}

if [ "${1:-}" = --in-cluster ]; then
	shift
	tg_in_cluster "$@"
	exit
fi

# ---------------------------------------------------------------------------
# Outside: choose the steps, prepare, run them in one cluster, summarize
# ---------------------------------------------------------------------------

selected=("$@")
if [ ${#selected[@]} -eq 0 ]; then
	selected=("${STEPS[@]}")
fi
for step in "${selected[@]}"; do
	if ! declare -F "step_$step" >/dev/null; then
		echo "test/check.sh: unknown step \"$step\"; the steps are: ${STEPS[*]}" >&2
		exit 2
	fi
done

if [ -z "${PG_CFLAGS+set}" ] && [ "${CI:-}" = true ]; then
	export PG_CFLAGS="$TG_STRICT_CFLAGS"
fi

TG_WORK=$(mktemp -d -t transfer_guard_check.XXXXXX)
trap 'rm -rf "$TG_WORK"' EXIT
export TG_WORK TG_RESULTS="$TG_WORK/results"
: >"$TG_RESULTS"

if ! tg_prepare "${TG_BUILD_PACKAGES[@]}" "${TG_TEST_PACKAGES[@]}"; then
	tg_say "results"
	echo "    preparation (packages, build, install) failed; no test ran"
	echo "0 passed, 1 failed"
	exit 1
fi

cluster_status=0
tg_virtualenv "$TG_ROOT/test/check.sh" --in-cluster "${selected[@]}" || cluster_status=$?

total_passed=0
total_failed=0
tg_say "results"
for step in "${selected[@]}"; do
	if read -r _ passed failed < <(grep "^$step " "$TG_RESULTS"); then
		printf '    %-12s %d passed, %d failed\n' "$step" "$passed" "$failed"
	else
		printf '    %-12s did not report\n' "$step"
		passed=0 failed=1
	fi
	total_passed=$((total_passed + passed))
	total_failed=$((total_failed + failed))
done
if [ "$cluster_status" -ne 0 ] && [ "$total_failed" -eq 0 ]; then
	printf '    %-12s exited with status %d\n' cluster "$cluster_status"
	total_failed=1
fi

echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
