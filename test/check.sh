#!/bin/bash
#
# test/check.sh -- build transfer_guard, install it, and run the test suite
#
#     test/check.sh --pg all          every step on PostgreSQL 13, 15, 17 and 18
#                                     (the README's test command, and CI's)
#     test/check.sh                   every step on this machine's PostgreSQL 15
#     test/check.sh --pg 17           every step on one version
#     test/check.sh --pg 13 regress   only the named steps
#
# Installs the missing Debian packages (via sudo unless run as root), builds
# and installs the extension for the version, then runs the steps inside one
# throwaway cluster (pg_virtualenv), which is dropped afterwards.  A failing
# step does not stop the later ones.  PostgreSQL 15 runs on the machine
# itself (Debian 12); 13, 17 and 18 run in Debian roots of bullseye, trixie
# and sid, made and kept by test/lib/roots.sh (under TG_ROOTS, default
# /var/cache/transfer_guard-roots), where the same script runs with chroot.
# The last line printed is
#
#     N passed, N failed
#
# counting pg_regress tests, isolation tests, pgTAP files and the other
# steps' checks, of every version run; above it, the figures of each step and
# version.  The exit status is 0 only if nothing failed.
#
# Without steps named, each version runs the steps of STEPS below except:
# clients, differential, citus and release run on 15 only, deb on 15 and 17
# (see TG_*_MAJORS).
#
# Compiler warnings are errors when CI=true (unless PG_CFLAGS is given), or
# when the caller passes PG_CFLAGS containing -Werror; a plain run builds with
# the default flags, so that a newer compiler's new warning does not stop it.
#
set -euo pipefail

# --pg VERSION (or --pg=VERSION) comes before the steps; it decides which
# server the packages, build and cluster below are for, so it is read first.
TG_PG=${TG_PG_MAJOR:-15}
case "${1:-}" in
	--pg)
		TG_PG=${2:?"test/check.sh: --pg needs a version: 13, 15, 17, 18 or all"}
		shift 2 ;;
	--pg=*)
		TG_PG=${1#--pg=}
		shift ;;
esac
case $TG_PG in
	13 | 15 | 17 | 18 | all) ;;
	*)
		echo "test/check.sh: --pg $TG_PG: the versions are 13, 15, 17, 18 and all" >&2
		exit 2 ;;
esac
if [ "$TG_PG" != all ]; then
	TG_PG_MAJOR=$TG_PG
fi

source "$(dirname "$0")/lib/prepare.sh"
source "$(dirname "$0")/lib/roots.sh"
export PATH="$TG_PG_BINDIR:$PATH"

# The versions that --pg all runs, in order: the machine's own first.
TG_ALL_MAJORS=(15 13 17 18)
# The versions whose default run includes the clients step (their Python
# and Node packages are Debian 12's), the release step (version-independent
# checks, run once) and the deb step (the Debian package, for Debian 12 and
# Debian 13).
TG_CLIENTS_MAJORS=(15)
# The versions whose default run includes the differential step: its
# scenarios and allowed differences were made on 15 (the row path's
# trigger timing among them, which 13 does not have).
TG_DIFFERENTIAL_MAJORS=(15)
TG_RELEASE_MAJORS=(15)
# The versions whose default run includes the citus step (Citus 13.2.2,
# built from ../shared/citus): 15.  Citus 13.2 also supports 16 and 17, but
# built for them with PGXS's hidden symbols it does not export the function
# transfer_guard asks for two-phase commit with (docs/citus.md).
TG_CITUS_MAJORS=(15)
TG_DEB_MAJORS=(15 17)

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
	differential	# test/diff/run.sh: each scenario through the extension and as plain SQL, compared
	citus		# test/citus/run.sh: Citus built, a coordinator and two workers, transfers through it
	release		# META.json against the PGXN spec, make dist, the refusal of an old server
	deb			# the Debian package: built, installed in place of the build, its autopkgtest
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

# Citus: test/citus/run.sh builds and installs Citus when it is missing,
# makes a cluster of its own (not this step's), runs its checks through the
# coordinator and removes the cluster.  Its last line is "N passed, N
# failed", counting checks.
step_citus()
{
	local log="$TG_WORK/citus.log" passed=0 failed=1 status=0

	"$TG_ROOT/test/citus/run.sh" 2>&1 | tee "$log" || status=$?
	if tail -1 "$log" | grep -qE '^[0-9]+ passed, [0-9]+ failed$'; then
		read -r passed _ failed _ < <(tail -1 "$log")
	fi
	if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
		failed=1
	fi
	tg_record citus "$passed" "$failed"
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

# The differential test: test/diff/run.sh runs each scenario of
# test/diff/scenarios/ twice, through transfer() and as the plain SQL a
# careful client would run, in twin databases, and compares outcomes, table
# contents, trigger notices and the journal's keys.  A difference fails
# unless test/diff/allowed.txt names the README section documenting it, or
# test/diff/known.txt lists it as a defect being fixed (a known scenario
# that stops differing fails, so the list is pruned with the fix).  Counts
# scenarios: its last line is "differential: N passed, N failed".  A run
# that hangs is stopped after TG_DIFF_TIMEOUT seconds (default 300).
step_differential()
{
	local log="$TG_WORK/differential.log" passed failed status=0

	timeout --kill-after=10 "${TG_DIFF_TIMEOUT:-300}" "$TG_ROOT/test/diff/run.sh" 2>&1 |
		tee "$log" || status=$?
	if ! read -r passed failed < <(sed -nE \
		's/^differential: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$log" | tail -n 1); then
		passed=0 failed=1
	fi
	if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
		failed=1
	fi
	tg_record differential "$passed" "$failed"
	[ "$failed" -eq 0 ]
}


# What a release and a user's build rely on: test/release/run.sh (META.json
# against the PGXN spec, make dist, the refusal of a server older than 13),
# whose last line is "N passed, N failed", counting checks.
step_release()
{
	local log="$TG_WORK/release.log" passed=0 failed=1 status=0

	"$TG_ROOT/test/release/run.sh" 2>&1 | tee "$log" || status=$?
	if read -r passed failed < <(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$log" | tail -1); then
		if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
			failed=1
		fi
	else
		passed=0 failed=1
	fi
	tg_record release "$passed" "$failed"
	[ "$failed" -eq 0 ]
}

# The Debian package, as a user gets it: built from a copy of the tree with
# dpkg-buildpackage (pg_buildext; debian/control regenerated for this
# release's server, as for a backport), installed in place of the build
# tree's installation (make uninstall, then apt-get install of the .deb), the
# extension created from it, and the package's autopkgtest
# (debian/tests/installcheck: pg_buildext installcheck, the regression and
# isolation suites in a cluster of its own) run against the installed files.
# Afterwards the package is removed and the build tree's installation put
# back.  Counts checks: the build, the installation, CREATE EXTENSION, and
# each pg_regress and isolation test of the autopkgtest.
tg_deb_check()
{
	local claim=$1 ok=$2

	if [ "$ok" = 1 ]; then
		echo "ok - deb: $claim"
		deb_passed=$((deb_passed + 1))
	else
		echo "not ok - deb: $claim"
		deb_failed=$((deb_failed + 1))
	fi
}

step_deb()
{
	local log="$TG_WORK/deb.log" dir="$TG_WORK/deb" pkg="postgresql-$TG_PG_MAJOR-transfer-guard"
	local src deb control version tests ok
	deb_passed=0 deb_failed=0

	version=$(dpkg-parsechangelog -l "$TG_ROOT/debian/changelog" -S Version)
	src="$dir/transfer-guard-${version%-*}"
	mkdir -p "$dir"
	chmod 755 "$TG_WORK" "$dir"		# the autopkgtest's server reads the tree
	tg_copy_tree "$src"
	tg_say "deb: dpkg-buildpackage in $src"
	(cd "$src" && PG_UPDATECONTROL=yes DEB_BUILD_OPTIONS=nocheck \
		dpkg-buildpackage -us -uc -b -Pnocheck) >"$log" 2>&1 || tail -30 "$log"
	deb=$(ls "$dir/${pkg}_${version}_"*.deb 2>/dev/null | head -1)
	tg_deb_check "dpkg-buildpackage builds $pkg" "$([ -n "$deb" ] && echo 1)"
	if [ -z "$deb" ]; then
		tg_record deb "$deb_passed" "$deb_failed"
		return 1
	fi
	dpkg-deb -c "$deb"

	# a clean installation: the build tree's files go, the package's come
	control=$("$TG_PG_CONFIG" --sharedir)/extension/transfer_guard.control
	tg_as_root make -s -C "$TG_ROOT" PG_CONFIG="$TG_PG_CONFIG" uninstall
	ok=$([ ! -e "$control" ] && echo 1)
	tg_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "$deb" >>"$log" 2>&1 || tail -20 "$log"
	if [ "$ok" = 1 ] && [ "$(dpkg-query -S "$control" 2>/dev/null)" = "$pkg: $control" ] &&
		[ "$(dpkg-query -S "$("$TG_PG_CONFIG" --pkglibdir)/transfer_guard.so" 2>/dev/null | cut -d: -f1)" = "$pkg" ]; then
		tg_deb_check "installs in place of the build tree's files, which are gone" 1
	else
		tg_deb_check "installs in place of the build tree's files, which are gone" 0
	fi

	ok=$(psql -X -q -At -v ON_ERROR_STOP=1 -d postgres \
		-c "DROP DATABASE IF EXISTS tg_deb" -c "CREATE DATABASE tg_deb" &&
		psql -X -q -At -v ON_ERROR_STOP=1 -d tg_deb -c "CREATE EXTENSION transfer_guard" \
			-c "SELECT extversion FROM pg_extension WHERE extname = 'transfer_guard'")
	echo "extension version: $ok"
	tg_deb_check "CREATE EXTENSION transfer_guard from the package" \
		"$([ "$ok" = "$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$TG_ROOT/transfer_guard.control")" ] && echo 1)"
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS tg_deb"

	# the autopkgtest, in a cluster of its own on another port; it counts
	# what pg_regress reports ok against the Makefile's lists
	tg_say "deb: debian/tests/installcheck (the package's autopkgtest)"
	tests=$(( $(tg_make_var REGRESS | wc -w) + $(tg_make_var ISOLATION | wc -w) ))
	(cd "$src" && env -u PGHOST -u PGDATABASE -u PGUSER -u PGPASSWORD \
		PGPORT="$(tg_free_port)" debian/tests/installcheck) 2>&1 | tee "$log.autopkgtest" || true
	ok=$(grep -cE '^[[:space:]]*(test[[:space:]]+)?[^[:space:]]+[[:space:]]+\.\.\. ok\b|^ok [0-9]+ ' "$log.autopkgtest" || true)
	deb_passed=$((deb_passed + ok))
	if [ "$ok" -lt "$tests" ]; then
		deb_failed=$((deb_failed + tests - ok))
	fi
	echo "deb: autopkgtest: $ok of $tests tests ok"

	# the build tree's installation back
	tg_as_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "$pkg" >>"$log" 2>&1
	tg_as_root make -s -C "$TG_ROOT" PG_CONFIG="$TG_PG_CONFIG" install
	tg_record deb "$deb_passed" "$deb_failed"
	[ "$deb_failed" -eq 0 ]
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

# True when the word is one of the rest: tg_in WORD LIST...
tg_in()
{
	local w=$1
	shift
	[[ " $* " == *" $w "* ]]
}

# The steps a version runs when none are named: tg_default_steps MAJOR
tg_default_steps()
{
	local step

	for step in "${STEPS[@]}"; do
		case $step in
			clients) tg_in "$1" "${TG_CLIENTS_MAJORS[@]}" || continue ;;
			differential) tg_in "$1" "${TG_DIFFERENTIAL_MAJORS[@]}" || continue ;;
			citus) tg_in "$1" "${TG_CITUS_MAJORS[@]}" || continue ;;
			release) tg_in "$1" "${TG_RELEASE_MAJORS[@]}" || continue ;;
			deb) tg_in "$1" "${TG_DEB_MAJORS[@]}" || continue ;;
		esac
		echo "$step"
	done
}

# Print a results file's figures, one line per step, with INDENT before
# each, and set tg_passed and tg_failed to their sums:
#   tg_print_results FILE INDENT
tg_print_results()
{
	local file=$1 indent=$2 step passed failed

	tg_passed=0
	tg_failed=0
	while read -r step passed failed; do
		printf '%s%-12s %d passed, %d failed\n' "$indent" "$step" "$passed" "$failed"
		tg_passed=$((tg_passed + passed))
		tg_failed=$((tg_failed + failed))
	done <"$file"
}

# --pg all: each version in turn, by this script with --pg VERSION (in its
# root when it is not this machine's), then every version's figures and the
# total.
tg_all()
{
	local work major results start took total_passed=0 total_failed=0 status=0
	local -A seconds

	work=$(mktemp -d -t transfer_guard_all.XXXXXX)
	# expanded now: the trap runs after this function's locals are gone
	trap "rm -rf $(printf '%q' "$work")" EXIT
	for major in "${TG_ALL_MAJORS[@]}"; do
		tg_say "PostgreSQL $major"
		start=$SECONDS
		TG_RESULTS_OUT="$work/$major" TG_PG_MAJOR='' bash "$TG_ROOT/test/check.sh" \
			--pg "$major" "$@" || status=1
		seconds[$major]=$((SECONDS - start))
	done

	tg_say "results, every version"
	for major in "${TG_ALL_MAJORS[@]}"; do
		results=$work/$major
		took=$(printf '%dm%02ds' $((seconds[$major] / 60)) $((seconds[$major] % 60)))
		if [ -s "$results" ]; then
			echo "    PostgreSQL $major ($(tg_where "$major"), $took)"
			tg_print_results "$results" '        '
		else
			echo "    PostgreSQL $major ($(tg_where "$major"), $took): did not report"
			tg_passed=0 tg_failed=1
		fi
		printf '        %-12s %d passed, %d failed\n' total "$tg_passed" "$tg_failed"
		total_passed=$((total_passed + tg_passed))
		total_failed=$((total_failed + tg_failed))
	done
	if [ "$status" -ne 0 ] && [ "$total_failed" -eq 0 ]; then
		echo "    a version's run failed without a failed check"
		total_failed=1
	fi
	echo "$total_passed passed, $total_failed failed"
	[ "$total_failed" -eq 0 ]
}

# Where a version runs, for the summary: tg_where MAJOR
tg_where()
{
	if [ -z "${TG_IN_ROOT:-}" ] && tg_is_local_suite "$1"; then
		echo "$(tg_suite_of "$1"), this machine"
	else
		echo "$(tg_suite_of "$1") root"
	fi
}

if [ "$TG_PG" = all ]; then
	tg_all "$@"
	exit
fi

selected=("$@")
if [ ${#selected[@]} -eq 0 ]; then
	mapfile -t selected < <(tg_default_steps "$TG_PG_MAJOR")
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

# The figures of this run, also for a caller that asked for them
# (TG_RESULTS_OUT: --pg all, or the run outside a root): tg_finish STATUS
tg_finish()
{
	local cluster_status=$1 final=$TG_WORK/final step passed failed

	: >"$final"
	for step in "${selected[@]}"; do
		if read -r _ passed failed < <(grep "^$step " "$TG_RESULTS"); then
			echo "$step $passed $failed" >>"$final"
		else
			echo "    $step: did not report"
			echo "$step 0 1" >>"$final"
		fi
	done
	if [ "$cluster_status" -ne 0 ] && ! awk '$3 > 0 { f = 1 } END { exit !f }' "$final"; then
		echo "    the run exited with status $cluster_status without a failed check"
		echo "cluster 0 1" >>"$final"
	fi
	if [ -n "${TG_RESULTS_OUT:-}" ]; then
		cp "$final" "$TG_RESULTS_OUT"
	fi
	tg_say "results, PostgreSQL $TG_PG_MAJOR ($(tg_where "$TG_PG_MAJOR"))"
	tg_print_results "$final" '    '
	echo "$tg_passed passed, $tg_failed failed"
	[ "$tg_failed" -eq 0 ]
}

# Not this machine's version: the same, in the version's Debian root, whose
# run prints its own figures and leaves them for this one.
if ! tg_is_local_suite "$TG_PG_MAJOR" && [ "${TG_IN_ROOT:-}" != "$TG_PG_MAJOR" ]; then
	status=0
	tg_root_run "$TG_PG_MAJOR" "$TG_WORK/from_root" "${selected[@]}" || status=$?
	if [ -s "$TG_WORK/from_root" ]; then
		if [ -n "${TG_RESULTS_OUT:-}" ]; then
			cp "$TG_WORK/from_root" "$TG_RESULTS_OUT"
		fi
		exit $status
	fi
	tg_say "the run in the root of PostgreSQL $TG_PG_MAJOR did not report"
	tg_finish 1
	exit
fi

packages=("${TG_BUILD_PACKAGES[@]}" "${TG_TEST_PACKAGES[@]}")
if tg_in clients "${selected[@]}"; then
	packages+=("${TG_CLIENT_PACKAGES[@]}")
fi
if tg_in release "${selected[@]}"; then
	packages+=("${TG_RELEASE_PACKAGES[@]}")
fi
if tg_in deb "${selected[@]}"; then
	packages+=("${TG_DEB_PACKAGES[@]}")
fi
if tg_in citus "${selected[@]}"; then
	packages+=("${TG_CITUS_PACKAGES[@]}")
fi
prepared=1
tg_prepare "${packages[@]}" || prepared=0
if [ "$prepared" = 1 ] && { tg_in isolation "${selected[@]}" || tg_in deb "${selected[@]}"; }; then
	tg_isolation_tools || prepared=0
fi
if [ "$prepared" = 0 ]; then
	tg_say "preparation (packages, build, install) failed; no test ran"
	echo "preparation 0 1" >"$TG_RESULTS"
	selected=(preparation)
	tg_finish 1
	exit
fi

cluster_status=0
tg_virtualenv "$TG_ROOT/test/check.sh" --in-cluster "${selected[@]}" || cluster_status=$?
tg_finish "$cluster_status"
