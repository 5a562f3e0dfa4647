#!/bin/bash
#
# test/bench/holds.sh -- orders paid with a hold and its capture, next to a
# plain transfer and to the same order flow written by hand, with pgbench
#
#     test/bench/holds.sh                  20 s per run, 2 rounds: about 4 minutes
#     test/bench/holds.sh --seconds N      N s per run
#     test/bench/holds.sh --rounds N       each cell N times, interleaved
#
# A benchmark, not a test.  Prepares the machine as test/check.sh does
# (TG_NO_BUILD=1 measures the extension as installed) and runs in a
# throwaway cluster with fsync on, synchronous_commit on, transfer_guard in
# shared_preload_libraries and its maintenance worker serving the bench
# database.  100,000 accounts, journal on (setup.sql), 32 clients (pgbench
# -j 2, -M prepared).  One pgbench transaction is one order of 1 from one
# account to another (keys.sql), made of one or two transactions:
#   transfer          transfer(): the order paid at once, no reservation
#   hold + capture    hold(), then capture() in a second transaction
#   hold + release    hold(), then release() in a second transaction
#   by hand           the same two steps written by the application: lock
#                     the source, check, debit it and insert its own hold
#                     row; then lock that row, credit the destination and
#                     mark the row captured
#   shop              hold + capture, every order paying account 1
#   shop, hot         the same, account 1 marked hot (set_hot())
# The cells run interleaved, every round.  Prints a Markdown table: orders
# per second (mean of the rounds), latency of an order (avg, p50, p99 over
# every order of every round), the ratio to transfer; then the totals check
# (the sum of current_balance() over all accounts plus the open holds and
# the hand-written holds, before and after).
#
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

seconds=20
rounds=2
in_cluster=false
args=("$@")
while [ $# -gt 0 ]; do
	case $1 in
		--in-cluster) in_cluster=true; shift ;;
		--seconds) seconds=$2; shift 2 ;;
		--rounds) rounds=$2; shift 2 ;;
		*) echo "usage: holds.sh [--seconds N] [--rounds N]" >&2; exit 2 ;;
	esac
done

if ! $in_cluster; then
	BENCH_SERVER_OPTIONS=(-o shared_preload_libraries=transfer_guard
		-o "transfer_guard.settle_databases=$BENCH_DB"
		-o transfer_guard.settle_interval=1s -o synchronous_commit=on)
	bench_outside "$here/holds.sh" -- "${args[@]}"
	exit
fi
bench_started

clients=32
work=$(mktemp -d -t tg_bench_holds.XXXXXX)
trap 'rm -rf "$work"' EXIT
bench_setup >&2
bench_psql -c "CREATE TABLE app_holds (id bigserial PRIMARY KEY, src bigint NOT NULL,
	dst bigint NOT NULL, amount bigint NOT NULL, state text NOT NULL DEFAULT 'held')" >/dev/null

# the scripts, each after keys.sql (pgbench has no include)
cat >"$work/transfer.body" <<'SQL'
SELECT * FROM transfer('accounts', :a, :b, 1);
SQL
cat >"$work/capture.body" <<'SQL'
SELECT hold_id FROM hold('accounts', :a, :b, 1) \gset
SELECT * FROM capture(:hold_id);
SQL
cat >"$work/release.body" <<'SQL'
SELECT hold_id FROM hold('accounts', :a, :b, 1) \gset
SELECT release(:hold_id);
SQL
cat >"$work/by_hand.body" <<'SQL'
BEGIN;
SELECT balance AS source_balance FROM accounts WHERE id = :a FOR UPDATE \gset
\if :source_balance >= 1
UPDATE accounts SET balance = balance - 1 WHERE id = :a;
INSERT INTO app_holds (src, dst, amount) VALUES (:a, :b, 1) RETURNING id AS hold_id \gset
COMMIT;
BEGIN;
SELECT state FROM app_holds WHERE id = :hold_id FOR UPDATE \gset
UPDATE accounts SET balance = balance + 1 WHERE id = :b;
UPDATE app_holds SET state = 'captured' WHERE id = :hold_id;
COMMIT;
\else
ROLLBACK;
\endif
SQL
for body in transfer capture release by_hand; do
	cat "$BENCH_DIR/keys.sql" "$work/$body.body" >"$work/$body.sql"
	# shop: account 1 is the destination of every order
	sed -i 's/^\\set flip random(0, 1)$/\\set flip CASE WHEN :hot = 1 THEN 0 ELSE random(0, 1) END/' "$work/$body.sql"
done

total()
{
	bench_psql -c "SELECT sum(current_balance('accounts', id::text))
		+ (SELECT coalesce(sum(amount), 0) FROM transfer_guard_holds WHERE state = 'held')
		+ (SELECT coalesce(sum(amount), 0) FROM app_holds WHERE state = 'held') FROM accounts"
}

cell_script()
{
	case $1 in
		transfer) echo transfer ;;
		capture | shop | shop_hot) echo capture ;;
		release) echo release ;;
		by_hand) echo by_hand ;;
	esac
}
cell_defs()
{
	case $1 in
		shop | shop_hot) echo "-D n=$BENCH_ACCOUNTS -D hot=1" ;;
		*) echo "-D n=$BENCH_ACCOUNTS -D hot=0" ;;
	esac
}
cell_label()
{
	case $1 in
		transfer) echo "transfer" ;;
		capture) echo "hold + capture" ;;
		release) echo "hold + release" ;;
		by_hand) echo "by hand" ;;
		shop) echo "shop" ;;
		shop_hot) echo "shop, hot" ;;
	esac
}

cells=(transfer capture release by_hand shop shop_hot)
before=$(total)
for round in $(seq "$rounds"); do
	for cell in "${cells[@]}"; do
		[ "$cell" = shop_hot ] && bench_psql -c "SELECT set_hot('accounts', '1')" >/dev/null
		bench_wait_idle
		mkdir -p "$work/log.$cell.$round"
		# shellcheck disable=SC2046 # the definitions are words
		(cd "$work/log.$cell.$round" && pgbench -n -M prepared -c "$clients" -j 2 -T "$seconds" \
			-l $(cell_defs "$cell") -f "$work/$(cell_script "$cell").sql" "$BENCH_DB") \
			>"$work/out.$cell.$round" 2>&1 || true
		tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$work/out.$cell.$round" | tail -1)
		failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$work/out.$cell.$round" | tail -1)
		echo "$cell $round ${tps:-0} ${failed:-?}" >>"$work/runs"
		cat "$work/log.$cell.$round"/pgbench_log.* | awk '{ print $3 }' >>"$work/lat.$cell"
		rm -rf "$work/log.$cell.$round"
		[ "$cell" = shop_hot ] && bench_psql -c "SELECT set_hot('accounts', '1', hot => false)" >/dev/null
		printf 'round %d %-16s %8.1f orders/s\n' "$round" "$(cell_label "$cell")" "${tps:-0}" >&2
	done
done
after=$(total)

echo "# holds: $seconds s per run, $rounds rounds, $clients clients, pgbench -M prepared"
echo
bench_describe
echo
printf '| cell | orders/s | vs transfer | avg ms | p50 ms | p99 ms | failed |\n'
printf '|---|---|---|---|---|---|---|\n'
base=$(awk '$1 == "transfer" { s += $3; n++ } END { printf "%.1f", n ? s / n : 0 }' "$work/runs")
for cell in "${cells[@]}"; do
	tps=$(awk -v c="$cell" '$1 == c { s += $3; n++ } END { printf "%.1f", n ? s / n : 0 }' "$work/runs")
	failed=$(awk -v c="$cell" '$1 == c { s += $4 } END { print s }' "$work/runs")
	lat=$(sort -n "$work/lat.$cell" | awk '
		{ v[NR] = $1; sum += $1 }
		function rank(p,  i) { i = int(p * NR); if (i < p * NR) i++; if (i < 1) i = 1; return v[i] / 1000 }
		END { printf "%.2f | %.2f | %.2f", sum / NR / 1000, rank(0.50), rank(0.99) }')
	printf '| %s | %s | %.2f | %s | %s |\n' "$(cell_label "$cell")" "$tps" \
		"$(awk -v a="$tps" -v b="$base" 'BEGIN { print (b > 0 ? a / b : 0) }')" "$lat" "$failed"
done
echo
echo "balances plus open holds: $before before, $after after: $([ "$before" = "$after" ] && echo unchanged || echo CHANGED)"
