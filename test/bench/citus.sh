#!/bin/bash
#
# test/bench/citus.sh -- transfers through a Citus coordinator, next to the
# careful PL/pgSQL function on the same cluster, with pgbench
#
#     test/bench/citus.sh               15 s per run, 2 rounds: about 6 minutes
#     test/bench/citus.sh --seconds N   N s per run
#
# A benchmark, not a test.  Builds Citus if needed (as test/citus/run.sh
# does), makes a coordinator and two workers on this machine
# (test/citus/cluster.sh: fsync on, synchronous_commit on), loads
# test/bench/citus/setup.sql (100,000 accounts hash-distributed by id over
# 32 shards), and runs each approach through the coordinator, 8 clients,
# -M prepared, the cells of one shape interleaved, every round:
#   transfer()                  journal on: its row in the coordinator's journal
#   transfer() no journal       guard(..., journal => false)
#   PL/pgSQL                    careful_transfer(): single-key locks in key
#                               order, check, two single-key UPDATEs
#   PL/pgSQL + local journal    and a row in a table of the coordinator
#   PL/pgSQL + distributed journal
#                               and a row in a table distributed by the
#                               source key, colocated with the accounts
# Shapes (test/bench/keys.sql): uniform (two of 100,000 accounts) and busy
# (two of 10).  Prints a Markdown table: tps (mean of the rounds), average
# latency, failed transactions, and the ratio to PL/pgSQL in the same shape;
# then a check that the totals did not change.
#
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
major=${TG_PG_MAJOR:-15}
pgbin=/usr/lib/postgresql/$major/bin
seconds=15
rounds=2
while [ $# -gt 0 ]; do
	case $1 in
		--seconds) seconds=$2; shift 2 ;;
		--rounds) rounds=$2; shift 2 ;;
		--as-user) work=$2; shift 2 ;;
		*) echo "usage: citus.sh [--seconds N] [--rounds N]" >&2; exit 2 ;;
	esac
done

if [ -z "${work:-}" ]; then
	"$root/test/citus/cluster.sh" build "$pgbin/pg_config" >&2
	work=$(mktemp -d -t tg_bench_citus.XXXXXX)
	chmod 755 "$work"
	args=(--seconds "$seconds" --rounds "$rounds" --as-user "$work")
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$work"
		exec runuser -u postgres -- env TG_PG_MAJOR="$major" bash "$0" "${args[@]}"
	fi
	exec bash "$0" "${args[@]}"
fi

export PATH="$pgbin:$PATH"
trap '"$root/test/citus/cluster.sh" stop "$work/cluster"; rm -rf "$work"' EXIT
read -r coord w1 w2 < <("$root/test/citus/cluster.sh" start "$work/cluster")
export PGHOST=127.0.0.1 PGPORT=$coord PGUSER=postgres PGDATABASE=tg_citus
q()
{
	psql -X -q -At -v ON_ERROR_STOP=1 "$@"
}
echo "setting up: 100,000 accounts on a coordinator ($coord) and two workers ($w1, $w2)" >&2
q -v n=100000 -f "$here/citus/setup.sql" >/dev/null

names=("transfer()" "transfer() no journal" "PL/pgSQL" "PL/pgSQL + local journal" "PL/pgSQL + distributed journal")
scripts=(
	"SELECT * FROM transfer('accounts', :a, :b, 1);"
	"SELECT * FROM transfer('accounts_nj', :a, :b, 1);"
	"SELECT * FROM careful_transfer(:a, :b, 1);"
	"SELECT * FROM careful_transfer(:a, :b, 1, 1);"
	"SELECT * FROM careful_transfer(:a, :b, 1, 2);"
)
for i in "${!scripts[@]}"; do
	{ cat "$root/test/bench/keys.sql"; echo "${scripts[$i]}"; } >"$work/script$i.sql"
done

declare -A tps lat fails
for shape in uniform busy; do
	n=100000
	[ "$shape" = busy ] && n=10
	for round in $(seq 1 "$rounds"); do
		for i in "${!scripts[@]}"; do
			echo "$shape, round $round: ${names[$i]}" >&2
			pgbench -n -M prepared -c 8 -j 2 -T "$seconds" -D n="$n" -D hot=0 \
				-f "$work/script$i.sql" >"$work/out" 2>&1 || true
			t=$(sed -n 's/^tps = \([0-9.]*\) (without.*/\1/p' "$work/out")
			l=$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' "$work/out")
			f=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$work/out")
			grep -q 'aborted' "$work/out" && f=aborted
			tps[$shape,$i]="${tps[$shape,$i]:-} ${t:-0}"
			lat[$shape,$i]="${lat[$shape,$i]:-} ${l:-0}"
			fails[$shape,$i]="${fails[$shape,$i]:-} ${f:-?}"
		done
	done
done

mean() { echo "$@" | awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; printf "%.0f", s / NF }'; }
meanf() { echo "$@" | awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; printf "%.2f", s / NF }'; }

echo "PostgreSQL $(q -c 'SHOW server_version'), Citus $(q -c "SELECT extversion FROM pg_extension WHERE extname = 'citus'"), $(nproc) cores; coordinator and two workers on one machine; fsync on, synchronous_commit on; 8 clients; $seconds s x $rounds rounds"
echo
echo "| shape | approach | tps | avg ms | failed | vs PL/pgSQL |"
echo "|---|---|---|---|---|---|"
for shape in uniform busy; do
	base=$(mean ${tps[$shape,2]})
	for i in "${!scripts[@]}"; do
		t=$(mean ${tps[$shape,$i]})
		echo "| $shape | ${names[$i]} | $t | $(meanf ${lat[$shape,$i]}) | $(echo ${fails[$shape,$i]} | tr ' ' '+') | $(awk -v a="$t" -v b="$base" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }') |"
	done
done
echo
for t in accounts accounts_nj; do
	echo "total of $t: $(q -c "SELECT sum(balance) = 100000 * 1000000000000::numeric FROM $t") (t: unchanged)"
done
