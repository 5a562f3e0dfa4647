#!/bin/bash
#
# test/bench/quick.sh -- a quick side-by-side of transfer() and the
# client-side recipe, in a throwaway cluster.  Reports figures; it is not a
# test and gates nothing.
#
#     test/bench/quick.sh [SECONDS]      (default 10 s per run)
#
# Shapes: 100k accounts (uniform) and 10 busy accounts; 8 clients, 2 threads,
# prepared statements, synchronous_commit = off; each approach runs twice,
# interleaved.  After each shape it prints the change of the total balance,
# which must be 0.
#
set -euo pipefail

source "$(dirname "$0")/../lib/prepare.sh"
tg_prepare "${TG_BUILD_PACKAGES[@]}"

export TG_BENCH_SECONDS=${1:-10}
export TG_BENCH_DIR="$TG_ROOT/test/bench"

tg_virtualenv bash -c '
set -euo pipefail
bin=/usr/lib/postgresql/15/bin
for n in 100000 10; do
	$bin/psql -qX -c "DROP DATABASE IF EXISTS bench" -c "CREATE DATABASE bench"
	$bin/psql -qX -d bench -v ON_ERROR_STOP=1 \
		-c "ALTER DATABASE bench SET synchronous_commit = off" \
		-c "CREATE EXTENSION transfer_guard" \
		-c "CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint NOT NULL)" \
		-c "INSERT INTO accounts SELECT g, 1000000000 FROM generate_series(1, $n) g" \
		-c "SELECT guard('"'"'accounts'"'"', '"'"'balance'"'"')" \
		-c "VACUUM ANALYZE accounts" >/dev/null
	for approach in client_side transfer client_side transfer; do
		out=$($bin/pgbench -n -M prepared -c 8 -j 2 -T "$TG_BENCH_SECONDS" \
			-D n=$n -f "$TG_BENCH_DIR/$approach.sql" bench 2>&1)
		tps=$(sed -n "s/^tps = \([0-9.]*\) .*/\1/p" <<<"$out")
		failed=$(sed -n "s/^number of failed transactions: \([0-9]*\).*/\1/p" <<<"$out")
		printf "accounts=%-7s %-12s tps=%-10s failed=%s\n" "$n" "$approach" "$tps" "${failed:-0}"
	done
	printf "accounts=%-7s total balance change: %s\n" "$n" \
		"$($bin/psql -qXAt -d bench -c "SELECT sum(balance) - $n::numeric * 1000000000 FROM accounts")"
done
'
