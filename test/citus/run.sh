#!/bin/bash
#
# test/citus/run.sh -- transfer_guard on a Citus cluster
#
#     test/citus/run.sh                 build Citus if needed, then every check
#     test/check.sh citus               as a step of the test suite
#
# Builds and installs Citus (13.2.2, from ../shared/citus beside the
# repository, or TG_CITUS_DIR) into the server TG_PG_MAJOR names (default
# 15), unless it is there already; then makes a coordinator and two workers
# on 127.0.0.1 (test/citus/cluster.sh) and runs, through the coordinator:
#
#   regress   pg_regress on test/citus/sql against test/citus/expected:
#             every kind of Citus table, moves between kinds, every status,
#             batches, idempotency, the journal, what is refused; sessions
#             meeting on rows of two workers (no deadlock), busy rows, and
#             the refusal on a worker node
#   load      8 clients of opposite moves over 20 rows on both workers for
#             10 s: total conserved, no negative balance, no failed
#             transaction, the journal reconciles
#   crash     a worker killed (SIGKILL, postmaster and backends) under
#             transfers, six times; once Citus has recovered its prepared
#             transactions: total conserved, no negative balance, no
#             prepared transaction left, the journal reconciles
#
# The cluster is stopped and removed at the end, even when a check fails
# (its logs are printed then).  TG_CITUS_RESULTS=DIR copies the regress
# output there, to review a change of the expected files.  The extension must be installed for the
# server (test/check.sh does it).  Prints "ok"/"not ok" per check and ends
# with "N passed, N failed".
#
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
major=${TG_PG_MAJOR:-15}
pgbin=/usr/lib/postgresql/$major/bin
pg_config=$pgbin/pg_config
[ -x "$pg_config" ] || pg_config=$(command -v pg_config)

if [ "${1:-}" != --as-user ]; then
	"$here/cluster.sh" build "$pg_config"
	# a copy of test/citus, which the user running the cluster can read
	# wherever the repository is
	work=$(mktemp -d -t tg_citus.XXXXXX)
	chmod 755 "$work"
	cp -r "$here" "$work/citus"
	if [ "$(id -u)" -eq 0 ]; then
		chown -R postgres: "$work"
		exec runuser -u postgres -- env TG_PG_MAJOR="$major" \
			bash "$work/citus/run.sh" --as-user "$work"
	fi
	exec bash "$work/citus/run.sh" --as-user "$work"
fi

# --- as the user that runs the cluster ---------------------------------------
work=$2
export PATH="$pgbin:$PATH"
pgxs=$(dirname "$(dirname "$("$pg_config" --pgxs)")")
passed=0
failed=0

cleanup()
{
	local rc=$?

	"$here/cluster.sh" stop "$work/cluster" || true
	if [ "$failed" -ne 0 ] || [ "$rc" -ne 0 ]; then
		for log in "$work"/cluster/*.log; do
			echo "--- $log (last 30 lines)"
			tail -30 "$log"
		done
	fi
	rm -rf "$work"
}
trap cleanup EXIT

check()
{
	if [ "$2" = 1 ]; then
		echo "ok - $1"
		passed=$((passed + 1))
	else
		echo "not ok - $1"
		failed=$((failed + 1))
	fi
}

read -r coord w1 w2 < <("$here/cluster.sh" start "$work/cluster")
echo "citus: coordinator on port $coord, workers on $w1 and $w2"
export PGHOST=127.0.0.1 PGPORT=$coord PGUSER=postgres PGDATABASE=tg_citus
# nothing here waits long: a statement stuck on a lock fails instead
export PGOPTIONS="-c statement_timeout=120s"
q()
{
	psql -X -q -At -v ON_ERROR_STOP=1 "$@"
}

# --- regress ----------------------------------------------------------------
tests="citus_tables citus_sessions"		# in this order: ids follow on
mkdir -p "$work/regress"
timeout 600 "$pgxs/test/regress/pg_regress" --use-existing --dbname=tg_citus \
	--host=127.0.0.1 --port="$coord" --user=postgres \
	--inputdir="$here" --outputdir="$work/regress" $tests >"$work/regress.log" 2>&1 || true
cat "$work/regress.log"
for t in $tests; do
	check "regress $t" "$(grep -qE "^(ok [0-9]+ +- +$t\b|test $t +\.\.\. ok\b)" "$work/regress.log" && echo 1)"
done
if [ -s "$work/regress/regression.diffs" ]; then
	cat "$work/regress/regression.diffs"
fi
if [ -n "${TG_CITUS_RESULTS:-}" ]; then
	cp "$work"/regress/results/*.out "$TG_CITUS_RESULTS"/	# to review new output
fi

# the books of one table: total, negatives, and rows whose balance is not
# START plus its journaled credits less its debits
books()
{
	local tbl=$1 start=$2
	q -c "
WITH moves AS (
	SELECT to_key AS k, amount AS delta FROM transfer_guard_journal
	 WHERE to_table = '$tbl'::regclass
	UNION ALL
	SELECT from_key, -amount FROM transfer_guard_journal
	 WHERE from_table = '$tbl'::regclass),
net AS (SELECT k, sum(delta) AS delta FROM moves GROUP BY k)
SELECT sum(balance), count(*) FILTER (WHERE balance < 0),
       count(*) FILTER (WHERE balance <> $start + coalesce(net.delta, 0))
  FROM $tbl t LEFT JOIN net ON net.k = t.id::text" | tr '|' ' '
}

# --- load ---------------------------------------------------------------------
# a guarded table of 20 rows, distributed by id: accounts NAME START
accounts()
{
	q -c "CREATE TABLE $1 (id int PRIMARY KEY, balance bigint NOT NULL)" \
		-c "SELECT create_distributed_table('$1', 'id')" \
		-c "INSERT INTO $1 SELECT g, $2 FROM generate_series(1, 20) g" \
		-c "SELECT guard('$1', 'balance', min_balance => 0)" >/dev/null
}
accounts load 100
spread=$(q -c "SELECT count(DISTINCT nodeport) FROM load, citus_shards s
				WHERE s.shardid = get_shard_id_for_distribution_column('load', load.id)")
check "load: the 20 rows are on both workers" "$([ "$spread" = 2 ] && echo 1)"
# the pgbench script of random moves between two of its 20 rows: moves NAME
moves()
{
	printf '%s\n' '\set a random(1, 20)' '\set b 1 + (:a + random(0, 18)) % 20' \
		'\set n random(1, 40)' "SELECT status FROM try_transfer('$1', :a, :b, :n);" \
		>"$work/$1.sql"
}
moves load
timeout 120 pgbench -n -c 8 -j 2 -T 10 -f "$work/load.sql" >"$work/load.log" 2>&1 || true
cat "$work/load.log"
txns=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$work/load.log")
fails=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$work/load.log")
aborted=$(grep -c 'aborted in command\|client [0-9]* aborted\|ERROR' "$work/load.log" || true)
read -r total negative mismatched < <(books load 100)
moved=$(q -c "SELECT count(*) FROM transfer_guard_journal WHERE from_table = 'load'::regclass")
echo "load: $txns transactions, ${fails:-?} failed, $moved transfers moved; total $total, $negative negative, $mismatched rows off the journal"
check "load: transactions ran" "$([ "${txns:-0}" -gt 0 ] && echo 1)"
check "load: no failed transaction, no client aborted" "$([ "${fails:-1}" = 0 ] && [ "$aborted" = 0 ] && echo 1)"
check "load: the total is conserved" "$([ "$total" = 2000 ] && echo 1)"
check "load: no negative balance" "$([ "$negative" = 0 ] && echo 1)"
check "load: every balance reconciles with the journal" "$([ "$mismatched" = 0 ] && [ "$moved" -gt 0 ] && echo 1)"

# --- crash ----------------------------------------------------------------------
accounts crash 1000
moves crash
kill_worker()
{
	local data=$1 pid
	pid=$(head -1 "$data/postmaster.pid")
	kill -9 $(pgrep -P "$pid") "$pid" 2>/dev/null || true
	while kill -0 "$pid" 2>/dev/null || pgrep -P "$pid" >/dev/null; do sleep 0.1; done
	for _ in $(seq 1 100); do
		if pg_ctl -D "$data" -l "$data.log" -w start >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.2
	done
	return 1
}
# Citus commits or aborts the prepared transactions a dead worker left
# (its maintenance daemon does it every citus.recover_2pc_interval, which
# cluster.sh turns off so that this count is whole).  Until then their rows
# stay locked.  Sets recovered (adding) and left (on every node).
recover()
{
	local n

	for _ in $(seq 1 50); do
		n=$(q -c "SELECT recover_prepared_transactions()" 2>/dev/null || echo 0)
		recovered=$((recovered + n))
		left=0
		for port in "$coord" "$w1" "$w2"; do
			left=$((left + $(q -p "$port" -c "SELECT count(*) FROM pg_prepared_xacts" || echo 1)))
		done
		[ "$left" = 0 ] && return
		sleep 0.2
	done
}
restarted=1
recovered=0
for round in 1 2 3 4 5 6; do
	worker=worker$(( (round % 2) + 1 ))
	timeout 120 pgbench -n -c 6 -j 2 -T 6 -f "$work/crash.sql" >"$work/crash.$round.log" 2>&1 &
	bench=$!
	sleep 3
	kill_worker "$work/cluster/$worker" || restarted=0
	wait "$bench" || true
	# the transactions the worker had prepared, left for Citus to resolve
	port=$(sed -n 's/^port = //p' "$work/cluster/$worker/postgresql.conf")
	prepared=$(q -p "$port" -c "SELECT count(*) FROM pg_prepared_xacts" 2>/dev/null || echo '?')
	recover
	echo "crash $round: $worker killed; pgbench: $(grep -c 'aborted\|ERROR\|FATAL' "$work/crash.$round.log" || true) client errors, $(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$work/crash.$round.log") transactions; $prepared prepared transactions on it after its restart"
done
check "crash: each killed worker restarted" "$restarted"
read -r total negative mismatched < <(books crash 1000)
moved=$(q -c "SELECT count(*) FROM transfer_guard_journal WHERE from_table = 'crash'::regclass")
echo "crash: $moved transfers committed; Citus resolved $recovered prepared transactions; total $total, $negative negative, $mismatched rows off the journal, $left prepared transactions left"
check "crash: no prepared transaction left on any node" "$([ "$left" = 0 ] && echo 1)"
check "crash: the total is conserved" "$([ "$total" = 20000 ] && echo 1)"
check "crash: no negative balance" "$([ "$negative" = 0 ] && echo 1)"
check "crash: every balance reconciles with the journal" "$([ "$mismatched" = 0 ] && [ "$moved" -gt 0 ] && echo 1)"
ok=$(q -c "SELECT status FROM try_transfer('crash', 1, 2, 1)")
check "crash: transfers go on afterwards" "$([ "$ok" = ok ] || [ "$ok" = insufficient_funds ] && echo 1)"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
