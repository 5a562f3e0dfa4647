#!/bin/bash
#
# test/bench/profile.sh -- where a transfer() call spends its time
#
#     test/bench/profile.sh                    perf, 20 s of sampling: about 1 minute
#     test/bench/profile.sh --seconds N        perf, N s of sampling
#     test/bench/profile.sh --callgrind        valgrind's callgrind, 5,000 calls: about 3 minutes
#     test/bench/profile.sh --callgrind --calls N
#     test/bench/profile.sh --callgrind --compare   the same count for transfer(), transfer()
#                                                without journal, PL/pgSQL and the floor: about 8 minutes
#
# A benchmark, not a test: it reports figures and gates nothing, and
# test/check.sh does not run it.  It prepares the machine as test/check.sh
# does (packages, build, install; TG_NO_BUILD=1 profiles the extension as
# installed; it also installs linux-perf and valgrind) and runs in a
# throwaway cluster (fsync on) on a free port.
#
# perf (the default): pgbench runs transfer.sql (untyped keys, the text
# overload, between random accounts of 100,000; one client, -M prepared,
# synchronous_commit off, so that the backend is busy on the CPU), and
# `perf record -g` samples that one backend for N seconds.  perf's software
# clock is used, so it works in virtual machines without hardware counters.
# When perf cannot record, the callgrind form runs instead.
#
# callgrind: the cluster is stopped and one single-user backend
# (postgres --single) runs transfer() calls under valgrind --tool=callgrind,
# which counts the instructions executed: exact and repeatable, so two builds
# can be compared call for call, but about 50 times slower than native.
#
# How to read it:
#   - "by library" shows the share of the backend's time in postgres itself,
#     in transfer_guard.so, in libc and in the kernel;
#   - "self" lists the functions where the samples (or instructions) fell;
#     "inclusive" the share of time spent in each function and everything it
#     called: transfer_guard_transfer is the call as a whole; under it
#     tg_row_read, tg_row_update and tg_journal_append are the row path's
#     reads, updates and journal rows, and SPI_ and executor functions the
#     statements it runs for tables the row path does not serve; the rest
#     (parse, bind, commit, network) is what any statement costs;
#   - the call graph below transfer_guard_transfer shows which of its steps
#     take the time (callers above callees, percentages of all samples).
# Debian's postgres binary is stripped: its exported functions have names,
# its static ones show as addresses (install postgresql-15-dbgsym, where a
# debug archive is configured, to name them).  transfer_guard.so carries its
# own symbols.
#
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

mode=perf
compare=0
seconds=20
calls=5000
in_cluster=0
args=("$@")

usage()
{
	sed -n '5,10p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
		--seconds) seconds=${2:?}; shift ;;
		--callgrind) mode=callgrind ;;
		--calls) calls=${2:?}; shift ;;
		--compare) compare=1 ;;
		--in-cluster) in_cluster=1 ;;
		*) usage ;;
	esac
	shift
done
[[ "$seconds" =~ ^[1-9][0-9]*$ && "$calls" =~ ^[1-9][0-9]*$ ]] || usage

if [ "$in_cluster" = 0 ]; then
	bench_outside "$here/profile.sh" linux-perf valgrind -- "${args[@]}"
	exit
fi
bench_started

work=$(mktemp -d -t tg_profile.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"

tg_say "profile: setting up $BENCH_ACCOUNTS accounts" >&2
bench_setup

if [ "$mode" = perf ] && ! perf record -e cpu-clock -o "$work/probe.data" -- true >/dev/null 2>&1; then
	echo "perf cannot record here; counting instructions with callgrind instead" >&2
	mode=callgrind
fi

echo "# transfer_guard profile ($mode)"
echo
echo '```'
bench_describe
echo "date:      $(date -u '+%Y-%m-%d %H:%M UTC')"
echo '```'

# ---------------------------------------------------------------------------
# perf: sample one pgbench backend
# ---------------------------------------------------------------------------
profile_perf()
{
	local pid='' pgbench_pid data="$work/perf.data" status=0
	# perf report, on the samples, without the header
	report()
	{
		perf report -i "$data" --stdio --quiet "$@" 2>/dev/null | grep -v '^$' || true
	}

	cat "$here/keys.sql" "$here/transfer.sql" >"$work/transfer.sql"
	PGAPPNAME=tg_profile PGOPTIONS="-c synchronous_commit=off" \
		pgbench -n -M prepared -c 1 -j 1 -T $((seconds + 4)) \
		-D n="$BENCH_ACCOUNTS" -D hot=0 -f "$work/transfer.sql" "$BENCH_DB" \
		>"$work/pgbench.out" 2>&1 &
	pgbench_pid=$!
	for _ in $(seq 100); do
		pid=$(bench_psql -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'tg_profile' LIMIT 1")
		[ -n "$pid" ] && break
		sleep 0.1
	done
	if [ -z "$pid" ]; then
		echo "the pgbench backend did not appear" >&2
		wait "$pgbench_pid" || true
		cat "$work/pgbench.out" >&2
		return 1
	fi
	sleep 2		# past the first calls, which fill the caches
	tg_say "profile: perf record -g -p $pid for $seconds s" >&2
	perf record -e cpu-clock -F 999 -g -p "$pid" -o "$data" -- sleep "$seconds" \
		>"$work/perf.out" 2>&1 || status=$?
	wait "$pgbench_pid" || status=$?
	if [ "$status" -ne 0 ]; then
		cat "$work/perf.out" "$work/pgbench.out" >&2
		return 1
	fi

	echo
	echo "pgbench, one client, transfer.sql: $(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$work/pgbench.out") transfers/s;" \
		"$(sed -n 's/.*perf record: Captured and wrote .*(\([0-9]*\) samples).*/\1/p' "$work/perf.out") samples of backend $pid"
	echo
	echo "## By library (self)"
	echo
	report --no-children --sort dso -g none --percent-limit 0.5
	echo
	echo "## Top functions (self)"
	echo
	report --no-children --sort dso,sym -g none | head -n 30 || true
	echo
	echo "## Inclusive (the function and all it calls), at least 3%, named functions only"
	echo
	report --children --sort sym -g none --percent-limit 3 | grep -v '\] 0x[0-9a-f]* *$' | head -n 45 || true
	echo
	echo "## Call graph below transfer_guard_transfer (callees, at least 2% of all samples)"
	echo
	# the entry of transfer_guard_transfer in the caller-ordered graph
	report --children --sort sym -g graph,2,caller,function,percent |
		awk '/^ +[0-9.]+% +[0-9.]+% +\[\.\] transfer_guard_transfer *$/ { on = 1; print; next }
			on && /^ +[0-9.]+% +[0-9.]+% / { exit }
			on && !/^[ |]*$/ { print }' | head -n 80 || true
}

# ---------------------------------------------------------------------------
# callgrind: count the instructions of one single-user backend
# ---------------------------------------------------------------------------
# The statements of one approach, prepared once and executed calls times
# between the same random accounts (srand(1)): transfer (transfer.sql under
# pgbench -M prepared: text keys, the text overload), nojournal (the same on
# accounts_nj), plpgsql (bench_transfer_plpgsql), floor (floor.sql).
callgrind_calls()
{
	awk -v calls="$calls" -v n="$BENCH_ACCOUNTS" -v q="'" -v kind="$1" 'BEGIN {
		srand(1)
		if (kind == "floor")
			print "PREPARE t(bigint, bigint) AS UPDATE accounts SET balance = balance + CASE id WHEN $1 THEN -1 ELSE 1 END WHERE id = ANY (ARRAY[$1, $2]::bigint[]);"
		else if (kind == "plpgsql")
			print "PREPARE t(bigint, bigint) AS SELECT * FROM bench_transfer_plpgsql($1, $2, 1);"
		else
			print "PREPARE t(text, text) AS SELECT * FROM transfer(" q (kind == "nojournal" ? "accounts_nj" : "accounts") q ", $1, $2, 1);"
		for (i = 0; i < calls; i++) {
			a = 1 + int(rand() * n); b = 1 + (a + int(rand() * (n - 1))) % n
			printf "EXECUTE t(%s%d%s, %s%d%s);\n", q, a, q, q, b, q
		}
	}'
}

# Run one approach's calls in postgres --single under callgrind, into $1
callgrind_run()
{
	local out=$1 kind=$2 conf data_dir

	conf="$PG_CLUSTER_CONF_ROOT/$TG_PG_MAJOR/regress/postgresql.conf"
	data_dir=$(pg_conftool -s "$TG_PG_MAJOR" regress show data_directory)
	callgrind_calls "$kind" >"$work/calls.sql"
	chmod 644 "$work/calls.sql"
	# each approach starts from tables in the same state: no dead row
	# versions left by the one before, hint bits set
	bench_psql -c "VACUUM accounts, accounts_nj" >/dev/null
	chown postgres "$work"
	pg_ctlcluster "$TG_PG_MAJOR" regress stop
	tg_say "profile: $calls calls ($kind) in postgres --single under callgrind" >&2
	# only what the statements cost (their parse, analysis, plan, run and
	# commit), not the backend's start; exec_simple_query, which does all of
	# these, is static, so it has no name in Debian's stripped binary
	runuser -u postgres -- valgrind --tool=callgrind --callgrind-out-file="$out" \
		--collect-atstart=no --toggle-collect=StartTransactionCommand \
		--toggle-collect=pg_parse_query --toggle-collect=pg_analyze_and_rewrite_fixedparams \
		--toggle-collect=pg_plan_queries --toggle-collect=PortalStart --toggle-collect=PortalRun \
		--toggle-collect=CommitTransactionCommand \
		"$TG_PG_BINDIR/postgres" --single -D "$data_dir" -c config_file="$conf" \
		-c synchronous_commit=off "$BENCH_DB" <"$work/calls.sql" >"$work/single.out" 2>"$work/valgrind.err" || {
		tail -n 20 "$work/valgrind.err" >&2
		pg_ctlcluster "$TG_PG_MAJOR" regress start
		return 1
	}
	pg_ctlcluster "$TG_PG_MAJOR" regress start
}

# --compare: instructions per call of each approach, with and without what
# the single-user backend spends printing result rows (debugtup), which a
# client connection does not
profile_compare()
{
	local kind out total printing

	echo
	echo "$calls calls each in one single-user backend, instructions per call (statement"
	echo "parse, plan, run and commit; the first calls, which fill the caches, included):"
	echo
	echo "| approach | per call | printing results | per call without printing | vs floor |"
	echo "| --- | ---: | ---: | ---: | ---: |"
	for kind in floor nojournal transfer plpgsql; do
		out="$work/callgrind.$kind.out"
		callgrind_run "$out" "$kind"
		total=$(callgrind_annotate "$out" 2>/dev/null | sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)
		# (awk reads to the end: with pipefail, a pipe closed early fails)
		printing=$(callgrind_annotate --inclusive=yes "$out" 2>/dev/null |
			awk '/:debugtup / && p == "" { gsub(",", "", $1); p = $1 } END { print p + 0 }')
		echo "$kind $(((total - printing) / calls)) $((total / calls)) $((printing / calls))" >>"$work/compare"
	done
	awk 'NR == FNR { if ($1 == "floor") f = $2; next }
		{ label = $1 == "transfer" ? "transfer()" : $1 == "nojournal" ? "transfer() no journal" : $1 == "plpgsql" ? "PL/pgSQL" : "floor"
		  printf "| %s | %d | %d | %d | %.2f |\n", label, $3, $4, $2, $2 / f }' "$work/compare" "$work/compare"
}

profile_callgrind()
{
	local out="$work/callgrind.out" total per_call

	if [ "$compare" = 1 ]; then
		profile_compare
		return
	fi
	callgrind_run "$out" transfer

	# callgrind_annotate's function lines, inclusive or self: "Ir (pct)  file:function [object]"
	annotate()
	{
		# (a function of transfer_guard.so may be listed twice, under its
		# source file's absolute and relative names: only the first, larger,
		# line is kept)
		callgrind_annotate "$@" "$out" 2>/dev/null | sed -n '/^-\{10,\}/,$p' | grep -E '^ *[0-9]' |
			awk '{ f = $0; sub(/^[^:]*:/, "", f); sub(/ .*/, "", f) } f == "" || !seen[f]++' || true
	}
	annotate --inclusive=yes >"$work/inclusive.txt"
	annotate --inclusive=no >"$work/self.txt"
	total=$(sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' "$work/self.txt" | tr -d ,)
	per_call=$(awk -v calls="$calls" '/:transfer_guard_transfer( |$)/ { gsub(",", "", $1); printf "%.0f", $1 / calls; exit }' \
		"$work/inclusive.txt")
	echo
	echo "$calls calls of transfer() in one single-user backend: $total instructions in the" \
		"statements, $((total / calls)) per statement, ${per_call:-?} per call inside transfer_guard_transfer" \
		"(the first calls, which fill the caches, included)"
	echo
	echo "## Inclusive instructions (the function and all it calls), top 40"
	echo
	head -n 40 "$work/inclusive.txt"
	echo
	echo "## Self instructions, top 30"
	echo
	sed -n '2,31p' "$work/self.txt"
}

if [ "$mode" = perf ]; then
	profile_perf
else
	profile_callgrind
fi
