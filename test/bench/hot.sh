#!/bin/bash
#
# test/bench/hot.sh -- transfers into and out of one row, with and without
# set_hot(), next to uniform traffic, with pgbench
#
#     test/bench/hot.sh                  20 s per run, 2 rounds: about 5 minutes
#     test/bench/hot.sh --seconds N      N s per run
#     test/bench/hot.sh --rounds N       each cell N times, interleaved
#     test/bench/hot.sh --soak N         afterwards, N s of hot credits with the
#                                        pending credits counted every 10 s
#
# A benchmark, not a test.  Prepares the machine as test/check.sh does
# (TG_NO_BUILD=1 measures the extension as installed) and runs in a
# throwaway cluster with fsync on, synchronous_commit on, transfer_guard in
# shared_preload_libraries and its maintenance worker settling the bench
# database every transfer_guard.settle_interval (1 s).  100,000 accounts,
# journal on (setup.sql), 32 clients (pgbench -j 2, -M prepared), transfer()
# of 1 between two accounts (transfer.sql after keys.sql):
#   uniform         two of the 100,000 accounts
#   credit 1        every transfer credits account 1 (not hot)
#   credit 1, hot   the same, account 1 marked hot
#   debit 1         every transfer debits account 1 (not hot)
#   debit 1, hot    the same, account 1 marked hot (no slots: a debit locks it)
#   debit 1, 16 slots
#                   the same, account 1 marked hot with 16 escrow slots
# The cells run interleaved, every round.  Prints a Markdown table: tps (mean
# of the rounds), latency (avg, p50, p99 over every transaction of every
# round, from pgbench's per-transaction log), the ratio to uniform, and the
# pending credits left at the end of the cell; then the totals check (the
# sum of current_balance() over all accounts, before and after).
#
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

seconds=20
rounds=2
soak=0
in_cluster=false
args=("$@")
while [ $# -gt 0 ]; do
	case $1 in
		--in-cluster) in_cluster=true; shift ;;
		--seconds) seconds=$2; shift 2 ;;
		--rounds) rounds=$2; shift 2 ;;
		--soak) soak=$2; shift 2 ;;
		*) echo "usage: hot.sh [--seconds N] [--rounds N] [--soak N]" >&2; exit 2 ;;
	esac
done

if ! $in_cluster; then
	BENCH_SERVER_OPTIONS=(-o shared_preload_libraries=transfer_guard
		-o "transfer_guard.settle_databases=$BENCH_DB"
		-o transfer_guard.settle_interval=1s -o synchronous_commit=on)
	bench_outside "$here/hot.sh" -- "${args[@]}"
	exit
fi
bench_started

clients=32
work=$(mktemp -d -t tg_bench_hot.XXXXXX)
trap 'rm -rf "$work"' EXIT
bench_setup >&2
script="$work/transfer.sql"
cat "$BENCH_DIR/keys.sql" "$BENCH_DIR/transfer.sql" >"$script"

total() { bench_psql -c "SELECT sum(current_balance('accounts', id::text)) FROM accounts"; }
pending() { bench_psql -c "SELECT count(*) FROM transfer_guard_pending"; }

# cell id -> pgbench -D definitions and whether account 1 is hot
cell_defs()
{
	case $1 in
		uniform) echo "-D n=$BENCH_ACCOUNTS -D hot=0 -D side=0" ;;
		credit | credit_hot) echo "-D n=$BENCH_ACCOUNTS -D hot=1 -D side=2" ;;
		debit | debit_hot | debit_slots) echo "-D n=$BENCH_ACCOUNTS -D hot=1 -D side=1" ;;
	esac
}
cell_label()
{
	case $1 in
		uniform) echo "uniform" ;;
		credit) echo "credit 1" ;;
		credit_hot) echo "credit 1, hot" ;;
		debit) echo "debit 1" ;;
		debit_hot) echo "debit 1, hot" ;;
		debit_slots) echo "debit 1, 16 slots" ;;
	esac
}

# keys.sql flips the direction at random; side=1 makes account 1 the
# source of every move, side=2 the destination
sed -i 's/^\\set flip random(0, 1)$/\\set flip CASE WHEN :side = 1 THEN 1 WHEN :side = 2 THEN 0 ELSE random(0, 1) END/' "$script"
grep -q ':side = 1' "$script"

cells=(uniform credit credit_hot debit debit_hot debit_slots)
before=$(total)
for round in $(seq "$rounds"); do
	for cell in "${cells[@]}"; do
		case $cell in
			*_hot) bench_psql -c "SELECT set_hot('accounts', '1')" >/dev/null ;;
			*_slots) bench_psql -c "SELECT set_hot('accounts', '1', slots => 16)" >/dev/null ;;
		esac
		bench_wait_idle
		mkdir -p "$work/log.$cell.$round"
		# shellcheck disable=SC2046 # the definitions are words
		(cd "$work/log.$cell.$round" && pgbench -n -M prepared -c "$clients" -j 2 -T "$seconds" \
			-l $(cell_defs "$cell") -f "$script" "$BENCH_DB") >"$work/out.$cell.$round" 2>&1 || true
		tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$work/out.$cell.$round" | tail -1)
		echo "$cell $round ${tps:-0} $(pending)" >>"$work/runs"
		cat "$work/log.$cell.$round"/pgbench_log.* | awk '{ print $3 }' >>"$work/lat.$cell"
		rm -rf "$work/log.$cell.$round"
		case $cell in
			*_hot | *_slots) bench_psql -c "SELECT set_hot('accounts', '1', hot => false)" >/dev/null ;;
		esac
		printf 'round %d %-14s %8.1f tps\n' "$round" "$(cell_label "$cell")" "${tps:-0}" >&2
	done
done
after=$(total)

echo "# hot rows: $seconds s per run, $rounds rounds, $clients clients, pgbench -M prepared"
echo
bench_describe
echo
printf '| cell | tps | vs uniform | avg ms | p50 ms | p99 ms | pending at end |\n'
printf '|---|---|---|---|---|---|---|\n'
uniform=$(awk '$1 == "uniform" { s += $3; n++ } END { printf "%.1f", n ? s / n : 0 }' "$work/runs")
for cell in "${cells[@]}"; do
	tps=$(awk -v c="$cell" '$1 == c { s += $3; n++ } END { printf "%.1f", n ? s / n : 0 }' "$work/runs")
	left=$(awk -v c="$cell" '$1 == c { p = $4 } END { print p }' "$work/runs")
	lat=$(sort -n "$work/lat.$cell" | awk '
		{ v[NR] = $1; sum += $1 }
		function rank(p,  i) { i = int(p * NR); if (i < p * NR) i++; if (i < 1) i = 1; return v[i] / 1000 }
		END { printf "%.2f | %.2f | %.2f", sum / NR / 1000, rank(0.50), rank(0.99) }')
	printf '| %s | %s | %.2f | %s | %s |\n' "$(cell_label "$cell")" "$tps" \
		"$(awk -v a="$tps" -v b="$uniform" 'BEGIN { print (b > 0 ? a / b : 0) }')" "$lat" "$left"
done
echo
echo "total of current_balance(): $before before, $after after: $([ "$before" = "$after" ] && echo unchanged || echo CHANGED)"

if [ "$soak" -gt 0 ]; then
	bench_psql -c "SELECT set_hot('accounts', '1')" >/dev/null
	sed -i 's/^\\set flip .*/\\set flip 0/' "$script"
	sed -i 's/^\\set x .*/\\set x 1/' "$script"
	pgbench -n -M prepared -c "$clients" -j 2 -T "$soak" -D n="$BENCH_ACCOUNTS" -D hot=1 -D side=2 \
		-f "$script" "$BENCH_DB" >"$work/soak.out" 2>&1 &
	pid=$!
	echo
	echo "soak: $soak s of credits to hot account 1; pending credits every 10 s:"
	samples=()
	while kill -0 "$pid" 2>/dev/null; do
		sleep 10
		samples+=("$(pending)")
	done
	wait "$pid" || true
	echo "  ${samples[*]}"
	echo "  $(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$work/soak.out" | tail -1) tps; max $(printf '%s\n' "${samples[@]}" | sort -n | tail -1) pending"
	sleep 3
	echo "  pending 3 s after the load: $(pending); total $(total) (before: $before)"
fi
