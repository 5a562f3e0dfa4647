#!/bin/bash
#
# test/bench/run.sh -- throughput and latency of transfer() next to the other
# ways of moving a balance, with pgbench
#
#     test/bench/run.sh --quick        30 key cells, 5 s per run: about 6 minutes
#     test/bench/run.sh                the full matrix, 192 cells, 4 s per run: about 32 minutes
#     test/bench/run.sh --seconds N    N s per run (full: about 4 + 6.4 x N minutes)
#     test/bench/run.sh --rounds N     each cell N times, interleaved (default 2; time grows with N)
#
# A benchmark, not a test: it reports figures and gates nothing, and
# test/check.sh does not run it.  It prepares the machine as test/check.sh
# does (packages, build, install; TG_NO_BUILD=1 measures the extension as
# installed) and runs in a throwaway cluster (fsync on) on a free port.
#
# Approaches, each one pgbench script (-M prepared, -n), with keys.sql in
# front to pick the two accounts:
#   transfer()              transfer.sql: untyped parameters, the text overload
#   transfer() bigint keys  transfer_typed.sql: the anycompatible overload
#   transfer() unindexed journal
#                           transfer.sql in a second database (BENCH_DB_unindexed),
#                           after journal_account_indexes(false): journaled,
#                           without the journal's two indexes by account
#   transfer() no journal   transfer_nojournal.sql: guard(..., journal => false)
#   transfer() no journal, statements
#                           the same with transfer_guard.row_path = off: rows
#                           locked and updated by SQL statements through SPI,
#                           as tables the row path does not serve are
#   client-side             client_side.sql: BEGIN, SELECT ... FOR UPDATE of the
#                           source then the destination (request order), the
#                           balance checked in the client (\gset, \if), two
#                           UPDATEs, COMMIT (or ROLLBACK when short)
#   PL/pgSQL                plpgsql.sql: bench_transfer_plpgsql() of setup.sql,
#                           rows locked in key order, checked, two UPDATEs
#   floor                   floor.sql: one UPDATE of both rows, no check
#   floor + journal row     floor_journal.sql: the floor's UPDATE and an INSERT
#                           of the row transfer() journals into a table with
#                           the journal's columns and indexes, in one statement
#   ... unindexed           the same without the two indexes by account, in the
#                           second database
#   batch N                 batch.sql: transfer_batch() of N legs, built by
#                           bench_legs() on the server (its cost included)
#   bench_legs N alone      legs.sql: bench_legs() alone, the part of a batch
#                           figure that is not transfer_batch()
# Only transfer() journals and draws a transfer id; PL/pgSQL, client-side and
# floor do neither, so "transfer() no journal" is the like-for-like figure;
# "floor + journal row" is the like-for-like figure for transfer() with the
# journal, and its unindexed form for the unindexed journal.
#
# Shapes (keys.sql): uniform (two of 100,000 accounts), busy (two of 10
# accounts), hot (account 1 and one of the others: every move touches it).
# For each shape, synchronous_commit on and off, and 1, 8 and 32 clients
# (pgbench -j 2, or 1 for one client).  The full matrix runs transfer(),
# transfer() unindexed journal, transfer() no journal (on the row path and
# through statements), client-side, PL/pgSQL, floor and both forms of floor +
# journal row in every cell; the bigint-key form in the uniform cells;
# batches of 1, 10 and 100 legs at 8 clients; bench_legs() alone at 8
# clients, uniform.  --quick runs 8 clients with synchronous_commit off: in
# the uniform shape everything but the bigint keys and the batches of 1 and
# 100 legs; in the busy shape the same without batches; in the hot shape the
# same but the statements form; and transfer() and floor with
# synchronous_commit on, uniform.
#
# Cells that are compared run interleaved (A, B, C, D, then A, B, C, D again)
# so that noise on the machine hits all alike.  Every balance starts at 10^12
# and every move is of 1, so no transfer is refused.
#
# Output (stdout): the machine, then a Markdown table, one row per cell:
#   tps         transactions per second (pgbench's, without connection time),
#               the mean of the rounds
#   moves/s     balance moves per second: tps times the legs per transaction
#               (1 for a single transfer, 0 for bench_legs alone)
#   avg, p50, p95, p99
#               latency of the successful transactions in ms, from pgbench's
#               per-transaction log (-l), over all rounds
#   failed      transactions that failed (deadlocks), summed over the rounds;
#               "aborted" when a client stopped on another error
#   deadlocks   deadlocks PostgreSQL detected (pg_stat_database), summed:
#               each made the transactions in the cycle, and those queued
#               behind their locks, wait deadlock_timeout (1 s)
#   spread      (highest - lowest) / mean of the rounds' tps, in %: how much
#               to trust the cell
#   vs transfer()  moves/s divided by transfer()'s in the same shape, sync
#               and clients
# then transfer() against the floor, and a check that no money appeared or
# vanished.  Progress goes to stderr.
#
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

mode=full
seconds=
rounds=2
in_cluster=0
args=("$@")

usage()
{
	sed -n '6,9p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
		--quick) mode=quick ;;
		--seconds) seconds=${2:?}; shift ;;
		--rounds) rounds=${2:?}; shift ;;
		--in-cluster) in_cluster=1 ;;
		*) usage ;;
	esac
	shift
done
[[ "${seconds:-1}" =~ ^[1-9][0-9]*$ && "$rounds" =~ ^[1-9][0-9]*$ ]] || usage
if [ -z "$seconds" ]; then
	if [ "$mode" = quick ]; then seconds=5; else seconds=4; fi
fi

if [ "$in_cluster" = 0 ]; then
	bench_outside "$here/run.sh" -- "${args[@]}"
	exit
fi
bench_started

# ---------------------------------------------------------------------------
# The matrix
# ---------------------------------------------------------------------------

# The cells compared with each other, one group a line: shape, sync,
# clients, then the approaches, which run interleaved round after round.
groups=()
if [ "$mode" = quick ]; then
	groups=(
		"uniform off 8 transfer unindexed nojournal statements client plpgsql floor floorjournal floorjournal_ui batch10 legs10"
		"busy off 8 transfer unindexed nojournal statements client plpgsql floor floorjournal floorjournal_ui"
		"hot off 8 transfer unindexed nojournal client plpgsql floor floorjournal floorjournal_ui"
		"uniform on 8 transfer floor"
	)
else
	for shape in uniform busy hot; do
		for sync in on off; do
			for clients in 1 8 32; do
				line="$shape $sync $clients transfer"
				[ "$shape" = uniform ] && line+=" typed"
				line+=" unindexed nojournal statements client plpgsql floor floorjournal floorjournal_ui"
				[ "$clients" = 8 ] && line+=" batch1 batch10 batch100"
				[ "$clients" = 8 ] && [ "$shape" = uniform ] && line+=" legs1 legs10 legs100"
				groups+=("$line")
			done
		done
	done
fi

# pgbench -D definitions of a shape
shape_defs()
{
	case $1 in
		uniform) echo "-D n=$BENCH_ACCOUNTS -D hot=0" ;;
		busy) echo "-D n=10 -D hot=0" ;;
		hot) echo "-D n=$BENCH_ACCOUNTS -D hot=1" ;;
	esac
}

# An approach's label, script (keys.sql in front when it needs keys), extra
# pgbench definitions and moves per transaction, into approach_* variables.
approach()
{
	approach_defs=
	approach_options=
	approach_moves=1
	approach_keys=1
	approach_db=$BENCH_DB
	case $1 in
		transfer) approach_label="transfer()" approach_file=transfer.sql ;;
		typed) approach_label="transfer() bigint keys" approach_file=transfer_typed.sql ;;
		nojournal) approach_label="transfer() no journal" approach_file=transfer_nojournal.sql ;;
		unindexed)
			approach_label="transfer() unindexed journal"
			approach_file=transfer.sql approach_db=${BENCH_DB}_unindexed
			;;
		statements)
			approach_label="transfer() no journal, statements"
			approach_file=transfer_nojournal.sql
			approach_options="-c transfer_guard.row_path=off"
			;;
		client) approach_label="client-side" approach_file=client_side.sql ;;
		plpgsql) approach_label="PL/pgSQL" approach_file=plpgsql.sql ;;
		floor) approach_label="floor" approach_file=floor.sql ;;
		floorjournal) approach_label="floor + journal row" approach_file=floor_journal.sql ;;
		floorjournal_ui)
			approach_label="floor + journal row, unindexed"
			approach_file=floor_journal.sql approach_db=${BENCH_DB}_unindexed
			;;
		batch*)
			approach_moves=${1#batch}
			approach_label="batch $approach_moves"
			approach_file=batch.sql approach_keys=0
			approach_defs="-D legs=$approach_moves"
			;;
		legs*)
			approach_label="bench_legs ${1#legs} alone"
			approach_file=legs.sql approach_keys=0 approach_moves=0
			approach_defs="-D legs=${1#legs}"
			;;
		*) echo "unknown approach $1" >&2; return 1 ;;
	esac
}

work=$(mktemp -d -t tg_bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/scripts" "$work/lat"

runs=0
for line in "${groups[@]}"; do
	# shellcheck disable=SC2086 # a group is words
	set -- $line
	runs=$((runs + (${#} - 3) * rounds))
done

# ---------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------

tg_say "bench: setting up $BENCH_ACCOUNTS accounts" >&2
bench_setup
bench_setup "${BENCH_DB}_unindexed" "SELECT journal_account_indexes(false);
	DROP INDEX bench_journal_from; DROP INDEX bench_journal_to"

# the starting total of each table, checked at the end
totals_sql="SELECT (SELECT sum(balance) FROM accounts) || ' ' || (SELECT sum(balance) FROM accounts_nj)"
totals()
{
	echo "$(bench_psql -c "$totals_sql") $(bench_psql -d "${BENCH_DB}_unindexed" -c "$totals_sql")"
}
totals_before=$(totals)

tg_say "bench: $runs runs of $seconds s ($rounds rounds), about $(((runs * (seconds * 10 + 6) / 10 + 30) / 60)) minutes" >&2

# deadlocks detected in the database so far (counted by the backends that
# detected them, flushed when they exit)
deadlocks()
{
	bench_psql -c "SELECT sum(deadlocks) FROM pg_stat_database
		WHERE datname IN ('$BENCH_DB', '${BENCH_DB}_unindexed')"
}

# One pgbench run of a cell: appends its latencies to lat/CELL and a line
# "CELL ROUND TPS FAILED STATUS DEADLOCKS" to runs.
run_one()
{
	local shape=$1 sync=$2 clients=$3 id=$4 round=$5
	local cell="$shape.$sync.$clients.$id" script="$work/scripts/$id.sql"
	local threads=$((clients < 2 ? clients : 2)) out status=0 tps failed dl

	approach "$id"
	if [ ! -e "$script" ]; then
		if [ "$approach_keys" = 1 ]; then
			cat "$here/keys.sql" "$here/$approach_file" >"$script"
		else
			cp "$here/$approach_file" "$script"
		fi
	fi
	bench_wait_idle || true
	dl=$(deadlocks)
	rm -f "$work"/log.*
	# shellcheck disable=SC2046,SC2086 # the definitions are words
	out=$(PGOPTIONS="-c synchronous_commit=$sync $approach_options" pgbench -n -M prepared \
		-c "$clients" -j "$threads" -T "$seconds" \
		$(shape_defs "$shape") $approach_defs \
		-l --log-prefix="$work/log" -f "$script" "$approach_db" 2>&1) || status=$?
	tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out")
	failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out")
	if [ "$status" -ne 0 ]; then
		printf '%s\n' "$out" | grep -iE 'error|abort' | head -n 5 >&2 || true
	fi
	cat "$work"/log.* 2>/dev/null | awk '$3 ~ /^[0-9]+$/ { print $3 }' >>"$work/lat/$cell"
	bench_wait_idle || true
	dl=$(($(deadlocks) - dl))
	echo "$cell $round ${tps:-0} ${failed:-0} $status $dl" >>"$work/runs"
	done_runs=$((done_runs + 1))
	printf '[%d/%d] %-7s sync=%-3s clients=%-2s %-22s round %d: %8.1f tps, %s failed, %s deadlocks%s\n' \
		"$done_runs" "$runs" "$shape" "$sync" "$clients" "$approach_label" "$round" \
		"${tps:-0}" "${failed:-0}" "$dl" "$([ "$status" -eq 0 ] || echo ", pgbench exit $status")" >&2
}

# The figures of a cell, over its rounds, as a line of results:
# shape sync clients id tps spread failed aborted deadlocks avg p50 p95 p99 moves
summarize()
{
	local shape=$1 sync=$2 clients=$3 id=$4 cell="$1.$2.$3.$4" runstats latstats

	approach "$id"
	runstats=$(awk -v cell="$cell" '
		$1 == cell { n++; sum += $3; failed += $4; if ($5 != 0) aborted = 1; deadlocks += $6
			if (n == 1 || $3 < lo) lo = $3; if (n == 1 || $3 > hi) hi = $3 }
		END { mean = n ? sum / n : 0
			printf "%.1f %.1f %d %d %d", mean, (mean > 0 ? 100 * (hi - lo) / mean : 0), failed, aborted, deadlocks }' \
		"$work/runs")
	latstats=$(sort -n "$work/lat/$cell" | awk '
		{ v[NR] = $1; sum += $1 }
		function rank(p,  i) { i = int(p * NR); if (i < p * NR) i++; if (i < 1) i = 1; return v[i] / 1000 }
		END { if (NR == 0) { print "- - - -"; exit }
			printf "%.3f %.3f %.3f %.3f", sum / NR / 1000, rank(0.50), rank(0.95), rank(0.99) }')
	rm -f "$work/lat/$cell"
	echo "$shape $sync $clients $id $runstats $latstats $approach_moves" >>"$work/results"
}

done_runs=0
for line in "${groups[@]}"; do
	# shellcheck disable=SC2086 # a group is words
	set -- $line
	shape=$1 sync=$2 clients=$3
	shift 3
	for round in $(seq "$rounds"); do
		for id in "$@"; do
			run_one "$shape" "$sync" "$clients" "$id" "$round"
		done
	done
	for id in "$@"; do
		summarize "$shape" "$sync" "$clients" "$id"
	done
done
bench_wait_idle || true

# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------

echo "# transfer_guard benchmark ($mode: $seconds s per run, $rounds rounds, pgbench -M prepared)"
echo
echo '```'
bench_describe
echo "date:      $(date -u '+%Y-%m-%d %H:%M UTC')"
echo '```'
echo

# moves/s of transfer() in each group, for the ratios
awk '$4 == "transfer" { print $1, $2, $3, $5 * $14 }' "$work/results" >"$work/base"

while read -r shape sync clients id tps spread failed aborted deadlocks avg p50 p95 p99 moves; do
	approach "$id"
	base=$(awk -v k="$shape $sync $clients" '$1 " " $2 " " $3 == k { print $4 }' "$work/base")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
		"$approach_label" "$shape" "$sync" "$clients" "$tps" \
		"$(awk -v t="$tps" -v m="$moves" 'BEGIN { printf "%.1f", t * m }')" \
		"$avg" "$p50" "$p95" "$p99" \
		"$([ "$aborted" = 1 ] && echo "$failed, aborted" || echo "$failed")" \
		"$deadlocks" "$spread%" \
		"$(awk -v t="$tps" -v m="$moves" -v b="${base:-0}" \
			'BEGIN { if (m == 0 || b == 0) print "-"; else printf "%.2f", t * m / b }')"
done <"$work/results" >"$work/table"

# a Markdown table with aligned columns: text left, figures right
markdown()
{
	awk -F '\t' '
		{ for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) }
		  if (NF > nf) nf = NF }
		END {
			for (r = 1; r <= NR; r++) {
				line = "|"
				for (i = 1; i <= nf; i++) {
					if (r == 1 || i <= 2) line = line sprintf(" %-" w[i] "s |", cell[r, i])
					else line = line sprintf(" %" w[i] "s |", cell[r, i])
				}
				print line
				if (r == 1) {
					line = "|"
					for (i = 1; i <= nf; i++) {
						d = ""; for (j = 0; j < w[i]; j++) d = d "-"
						line = line (i <= 2 ? " " d " |" : " " substr(d, 2) ": |")
					}
					print line
				}
			}
		}'
}

{
	printf 'approach\tshape\tsync\tclients\ttps\tmoves/s\tavg ms\tp50 ms\tp95 ms\tp99 ms\tfailed\tdeadlocks\tspread\tvs transfer()\n'
	cat "$work/table"
} | markdown

echo
echo "transfer() against the floor (one UPDATE of both rows, no check), the floor with a"
echo "journal row written by hand, and the PL/pgSQL function, tps ratios within each group"
echo "(- where a cell did not run):"
echo
{
	printf 'shape\tsync\tclients\ttransfer()/floor\tunindexed journal/floor\tno journal/floor\tno journal/PL/pgSQL\tno journal, row path/statements\ttransfer()/floor + journal row\tunindexed journal/floor + journal row, unindexed\n'
	awk '{ k = $1 " " $2 " " $3; tps[k, $4] = $5; if (!(k in seen)) { seen[k] = 1; order[++n] = k } }
		function ratio(k, a, b) { return ((k, a) in tps) && ((k, b) in tps) && tps[k, b] > 0 ? sprintf("%.2f", tps[k, a] / tps[k, b]) : "-" }
		END { for (i = 1; i <= n; i++) { k = order[i]; if (!((k, "floor") in tps)) continue
			split(k, p, " ")
			printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p[1], p[2], p[3], ratio(k, "transfer", "floor"),
				ratio(k, "unindexed", "floor"), ratio(k, "nojournal", "floor"), ratio(k, "nojournal", "plpgsql"),
				ratio(k, "nojournal", "statements"), ratio(k, "transfer", "floorjournal"),
				ratio(k, "unindexed", "floorjournal_ui") } }' \
		"$work/results"
} | markdown

echo
totals_after=$(totals)
if [ "$totals_after" = "$totals_before" ]; then
	echo "total balance of each table unchanged ($totals_after)"
else
	echo "TOTAL BALANCE CHANGED: before $totals_before, after $totals_after"
fi
