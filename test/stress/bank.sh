#!/bin/bash
#
# test/stress/bank.sh -- the bank invariant under concurrent load
#
#     test/stress/bank.sh                  quick form: every shape, a few seconds each (about 1 min)
#     test/stress/bank.sh --long           long form: 1,000,000 transfer transactions per shape
#                                          (about 30 min on 2 cores)
#     test/stress/bank.sh --transfers N    N transfer transactions per shape
#     test/stress/bank.sh --seconds N      N seconds per shape (quick form; default 7)
#     test/stress/bank.sh --unindexed-journal
#                                          the same with journal_account_indexes(false)
#     test/check.sh stress                 the quick form, as a step of the test suite
#
# Claim: however transfer() and transfer_batch() calls interleave, with each
# other, with settle() and with the steps of holds (hold(), capture(),
# try_capture(), release(), release_expired()), money is neither created nor
# destroyed and no guard is crossed.  Every consistent snapshot shows, for
# each guarded table, the starting number of accounts, the starting total
# (the balances plus what the holds still held hold), no NULL balance, no
# balance below the floor and none above the ceiling, and every balance equal
# to its start plus the journal's credits minus its debits (the rows of
# holds included: a hold's row has no destination, the rows that end it no
# source), where the balance of a hot account is its column plus its pending
# credits plus its escrow slots (the column alone held to the floor too, no
# slot below 0), every pending credit is one deferred credit of the journal,
# and current_balance() is that balance; every hold's state agrees with the
# journal (held: no row ends it; captured: its capture row and the release
# row of the rest; released or expired: one row of its whole amount back)
# and what the hold rows took minus what the rows that end holds gave is what
# the open holds hold; every call returns the balances it journals, no
# balance only for a deferred credit or a debit a slot served (which left the
# row alone); no two calls ever deadlock; and a last settle() leaves no
# pending credit and every invariant true.
#
# Two tables (see setup.sql): bank (bigint, floor 0, ceiling 250, every
# account starting at 100) and ledger (numeric(14,2), floor -500, no ceiling,
# starting at 0, accounts 1 and 2 hot: set_hot(), so a credit to them is
# deferred as a pending credit; account 2 with 4 escrow slots, so a debit one
# slot covers takes that slot, not the row, and any other combines the slots
# and the row).  For each shape (8 accounts per table, where every client
# fights over the same rows, and 10,000; with 8, 32 and 64 clients):
#
#   - pgbench transfer clients (transfer.sql) run single transfers and
#     batches of 2-5 legs in both directions between random accounts, nearly
#     half the ledger moves crediting or debiting a hot account (account 2
#     debited more than credited, so it stays near its floor), with amounts
#     often larger than the source balance, the room under the ceiling or
#     a slot; stress_step() counts each refusal (23514) and lets any other
#     error abort the client;
#   - 2 pgbench auditor clients (audit.sql) check the invariants over and
#     over, each audit in one REPEATABLE READ snapshot;
#   - pgbench hold clients (hold.sql; one for 8 transfer clients, at least
#     2), started once the transfer clients are connected, place holds
#     between random accounts of one table (aimed at the hot accounts as
#     transfers are; amounts often above the balance; 2 in 5 expiring
#     after 1..800 ms, some under an idempotency key and replayed), and act
#     on the 30 latest holds, so that they often act on the same one:
#     capture() and try_capture() of all of a hold, of part of it and of
#     more than it holds, release(), and now and then release_expired();
#     every answer is counted (refusals for the floor, a ceiling, an amount
#     above the hold, a hold captured, released or expired already; the
#     statuses of try_capture(); an expiry by a step on the hold, which the
#     hold's record, written by the step, tells apart) and checked against
#     the hold's record and the journal while the step still holds the
#     hold's lock; any other error aborts the client;
#   - 1 pgbench expiring client (expire.sql), started with the hold
#     clients, calls release_expired() every 250 ms, as an application's
#     scheduled job would, so that each call releases several holds in one
#     transaction while the load goes on; any error but a ceiling's refusal
#     aborts it;
#   - 2 pgbench settle clients (settle.sql) call settle() every 10 ms, so
#     credits, debits and settles of the hot accounts run concurrently (in
#     the quick form they stop a second early, leaving credits pending for
#     the last settle()); any error aborts the client;
#   - a violation seen by a transfer client, a hold client or an auditor is
#     recorded and then aborts its client.
#
# The database runs with synchronous_commit = off, for throughput: that
# changes what a crash may lose (see test/tap), not what concurrent
# transactions see.
#
# After the load, a last release_expired() releases every hold past its
# expiry but those a ceiling keeps held (their source too close to its
# ceiling to take them back), which a release() of each then confirms
# (should a ceiling refuse the release_expired() call itself, the release()
# of each does the work); with the library preloaded and its worker running
# for the database, the worker expires holds too (the expiries no client
# counted; without a worker there must be none).
#
# A shape passes when: no violation was recorded, no client aborted (an
# unexpected error), pgbench counted no failed transaction and
# pg_stat_database counted no deadlock, the auditors completed audits, the
# shape exercised what it claims to (moves done, refusals for the floor and
# for the ceiling, batches done, credits deferred, debits of hot accounts,
# credits folded by the settle clients and by debits, debits of account 2
# served by a slot, combined with the row, and refused), the counters of
# work done add up to the transactions pgbench reports (for the transfer
# clients, the hold clients and, in the quick form, the expiring client),
# the journal holds one row per move done (a transfer or a batch leg) and
# per step of a hold (a hold, a capture and the rest of a partial one, a
# release, an expiry), the holds' records count as many captures, releases
# and expiries, the holds exercised what they claim to (holds placed and
# refused, captures in full and in part, releases, expiries by
# release_expired() and by a step on the hold, steps that found their hold
# closed or expired), no hold past its expiry is left held after the last
# release (but those a ceiling keeps), no more credits were folded than
# deferred, and a final check after the load (the same invariants in a
# fresh snapshot, current_balance() of every account, a recount through the
# primary key index that agrees with a sequential scan, and amcheck of that
# index against the heap) finds nothing, before and after a last settle(),
# which must fold exactly the credits left pending and leave none.
#
# The figures of every shape are printed, two lines per shape (its holds,
# then the rest with the verdict), and written to
# test/stress/last-quick.txt or last-long.txt (not kept in git).
#
# Without --in-cluster (which test/check.sh passes), the script prepares the
# packages, builds and installs the extension as test/check.sh does
# (TG_NO_BUILD=1 uses the installed one), and runs itself in a throwaway
# pg_virtualenv cluster.  With --in-cluster it uses the cluster named by
# PGHOST, PGPORT, PGUSER and PGDATABASE, in a database tg_stress it creates.
#
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
mode=quick
seconds=7
transfers=
unindexed=0
in_cluster=0
args=("$@")

usage()
{
	sed -n '3,12p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
		--long) mode=long; transfers=${transfers:-1000000} ;;
		--transfers) mode=long; transfers=${2:?}; shift ;;
		--seconds) seconds=${2:?}; shift ;;
		--unindexed-journal) unindexed=1 ;;
		--in-cluster) in_cluster=1 ;;
		*) usage ;;
	esac
	shift
done

if [ "$in_cluster" = 0 ]; then
	source "$here/../lib/prepare.sh"
	tg_prepare "${TG_BUILD_PACKAGES[@]}"
	tg_virtualenv "$0" --in-cluster "${args[@]}"
	exit
fi

export PATH="/usr/lib/postgresql/${TG_PG_MAJOR:-15}/bin:$PATH"
db=tg_stress
auditors=2
settlers=2
shapes=(			# accounts per table, transfer clients
	"8 8"
	"8 32"
	"8 64"
	"10000 8"
	"10000 32"
	"10000 64"
)
figures="$here/last-$mode.txt"
work=$(mktemp -d -t tg_stress.XXXXXX)
trap 'rm -rf "$work"' EXIT

sql()
{
	psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" "$@"
}

say()
{
	printf '%s\n' "$*" | tee -a "$figures"
}

# the counters of the shape, each summed over all clients, read once after
# the load into counters[KIND]
declare -A counters
read_counters()
{
	local kind n

	counters=()
	while IFS='|' read -r kind n; do
		counters[$kind]=$n
	done < <(sql -c "SELECT kind, sum(n) FROM stress_counts GROUP BY kind")
}

# the counter KIND summed over all clients
count()
{
	echo "${counters[$1]:-0}"
}

# the counters whose kind matches the glob pattern, summed
count_like()
{
	local kind n=0

	for kind in "${!counters[@]}"; do
		if [[ $kind == $1 ]]; then
			n=$((n + counters[$kind]))
		fi
	done
	echo "$n"
}

# wait (up to 10 s) until at least N other sessions are connected to the
# database
wait_connected()
{
	local i

	for i in $(seq 200); do
		if [ "$(sql -c "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")" -ge "$1" ]; then
			return 0
		fi
		sleep 0.05
	done
	return 0
}

# wait until no other session is connected to the database (the pgbench
# backends have exited and flushed their statistics)
wait_idle()
{
	local i
	for i in $(seq 100); do
		if [ "$(sql -c "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")" = 0 ]; then
			sleep 0.5
			return 0
		fi
		sleep 0.1
	done
	echo "bank.sh: sessions still connected to $db" >&2
	return 1
}

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "SET client_min_messages = warning" \
	-c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
sql -c "ALTER DATABASE $db SET synchronous_commit = off"
sql -f "$here/setup.sql"
if [ "$unindexed" = 1 ]; then
	sql -c "SELECT journal_account_indexes(false)" >/dev/null
fi

: >"$figures"
say "bank invariant stress, $mode form, $(date -u '+%Y-%m-%d %H:%M UTC'), $(psql -X -A -t -d "$db" -c 'SHOW server_version'), $(nproc) cores"
if [ "$mode" = long ]; then
	say "  $transfers transfer transactions per shape, $auditors auditors, $settlers settle clients, hold clients (one for 8 transfer clients, at least 2) making a quarter as many transactions, 1 expiring client"
else
	say "  $seconds s per shape, $auditors auditors, $settlers settle clients, hold clients (one for 8 transfer clients, at least 2), 1 expiring client"
fi
if [ "$unindexed" = 1 ]; then
	say "  journal without its indexes by account (journal_account_indexes(false))"
fi

shapes_passed=0
shapes_failed=0
pgbench_major=$(pgbench --version | sed -n 's/^pgbench (PostgreSQL) \([0-9]*\).*/\1/p')
for shape in "${shapes[@]}"; do
	read -r accounts clients <<<"$shape"
	problems=()

	sql -c "SELECT stress_reset($accounts)" -c "VACUUM ANALYZE bank" \
		-c "VACUUM ANALYZE ledger" >/dev/null
	deadlocks_before=$(sql -c "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")

	# the auditors run until the transfer clients are done
	pgbench -n -M prepared -c "$auditors" -j 1 -T 100000 -f "$here/audit.sql" "$db" \
		>"$work/audit.out" 2>"$work/audit.err" &
	audit_pid=$!

	# the settle clients too; in the quick form they stop a second before
	# the transfer clients, so the last settle() finds credits to fold
	if [ "$mode" = long ]; then
		limit=(-t $(((transfers + clients - 1) / clients)))
		settle_limit=(-T 100000)
	else
		limit=(-T "$seconds")
		settle_limit=(-T $((seconds > 1 ? seconds - 1 : 1)))
	fi
	pgbench -n -M prepared -c "$settlers" -j 1 "${settle_limit[@]}" -f "$here/settle.sql" "$db" \
		>"$work/settle.out" 2>"$work/settle.err" &
	settle_pid=$!
	status=0
	pgbench -n -M prepared -c "$clients" -j 2 "${limit[@]}" -D n="$accounts" \
		-f "$here/transfer.sql" "$db" >"$work/transfer.out" 2>"$work/transfer.err" &
	transfer_pid=$!
	# the hold clients, once the transfer clients are connected (their
	# load would slow the connections down) until the transfer clients
	# end; in the long form, a quarter as many transactions
	started=$EPOCHREALTIME
	wait_connected $((auditors + settlers + clients))
	holders=$((clients / 8 > 2 ? clients / 8 : 2))
	if [ "$mode" = long ]; then
		hold_limit=(-t $(((transfers / 4 + holders - 1) / holders)))
	else
		waited=$(((${EPOCHREALTIME//[!0-9]/} - ${started//[!0-9]/}) / 1000000))
		hold_limit=(-T $((seconds - waited > 1 ? seconds - waited : 1)))
	fi
	pgbench -n -M prepared -c "$holders" -j 1 "${hold_limit[@]}" -D n="$accounts" \
		-f "$here/hold.sql" "$db" >"$work/hold.out" 2>"$work/hold.err" &
	hold_pid=$!
	# and the expiring client, as long as the hold clients (in the long
	# form, until they are done)
	if [ "$mode" = long ]; then
		expire_limit=(-T 100000)
	else
		expire_limit=("${hold_limit[@]}")
	fi
	pgbench -n -M prepared -c 1 -j 1 "${expire_limit[@]}" -f "$here/expire.sql" "$db" \
		>"$work/expire.out" 2>"$work/expire.err" &
	expire_pid=$!
	wait "$transfer_pid" || status=$?
	hold_status=0
	wait "$hold_pid" || hold_status=$?
	expire_status=0
	if [ "$mode" = long ]; then
		kill -TERM "$expire_pid" 2>/dev/null || expire_status=exited
		wait "$expire_pid" 2>/dev/null || true
	else
		wait "$expire_pid" || expire_status=$?
	fi

	auditors_alive=1
	kill -TERM "$audit_pid" 2>/dev/null || auditors_alive=0
	wait "$audit_pid" 2>/dev/null || true
	settle_status=0
	if [ "$mode" = long ]; then
		kill -TERM "$settle_pid" 2>/dev/null || settle_status=exited
		wait "$settle_pid" 2>/dev/null || true
	else
		wait "$settle_pid" || settle_status=$?
	fi
	wait_idle || problems+=("sessions did not end")

	# the holds past their expiry that no client released go now, before
	# the figures are read (a release to a hot account defers a credit)
	if end_expiry=$(sql -F ' ' -c "SELECT released, by_one, kept, left_over FROM stress_expire_at_end()" 2>"$work/end.err"); then
		read -r end_expired end_by_one end_kept end_left <<<"$end_expiry"
	else
		problems+=("the last release of the expired holds failed: $(cat "$work/end.err")")
		end_expired=0 end_by_one=f end_kept=0 end_left=0
	fi

	processed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$work/transfer.out")
	failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$work/transfer.out")
	if [ -z "$failed" ] && [ -n "$processed" ] && [ "$pgbench_major" -lt 15 ]; then
		# pgbench before 15 has no such count: a failed transaction
		# aborts its client, which "aborted" below counts
		failed=0
	fi
	# before 14, two figures: with and without connecting; the last is the latter
	tps=$(sed -n 's/^tps = \([0-9]*\.[0-9]\).*/\1/p' "$work/transfer.out" | tail -n 1)
	# a client aborts on an unexpected error, or deliberately after it found
	# a violation (stress_fail)
	aborted=$(cat "$work/transfer.err" "$work/audit.err" "$work/settle.err" "$work/hold.err" "$work/expire.err" | grep -cE 'client [0-9]+ (script [0-9]+ )?aborted' || true)
	unexpected=$(cat "$work/transfer.err" "$work/audit.err" "$work/settle.err" "$work/hold.err" "$work/expire.err" | grep -E 'client [0-9]+ (script [0-9]+ )?aborted' |
		grep -cv 'bank invariant violated' || true)
	deadlocks_after=$(sql -c "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
	deadlocks=$((deadlocks_after - deadlocks_before))

	read_counters
	single_ok=$(count single_ok)
	single_floor=$(count single_refused_floor)
	single_ceiling=$(count single_refused_ceiling)
	batch_ok=$(count batch_ok)
	batch_legs=$(count batch_legs)
	batch_floor=$(count batch_refused_floor)
	batch_ceiling=$(count batch_refused_ceiling)
	audits=$(count audit)
	ok=$((single_ok + batch_ok))
	refused_floor=$((single_floor + batch_floor))
	refused_ceiling=$((single_ceiling + batch_ceiling))
	attempted=$((ok + refused_floor + refused_ceiling))
	journal=$(sql -c "SELECT count(*) FROM transfer_guard_journal WHERE transfer_id > (SELECT min(journal_after) FROM stress_expect)")
	# hot accounts: credits deferred (journaled without a balance), debits
	# of them, and credits folded by the settle clients
	deferred=$(sql -c "SELECT count(*) FROM transfer_guard_journal j, stress_expect e WHERE e.tbl = 'ledger'::regclass AND j.transfer_id > e.journal_after AND j.to_table = e.tbl AND j.to_balance IS NULL")
	hot_debits=$(sql -c "SELECT count(*) FROM transfer_guard_journal j, stress_expect e WHERE e.tbl = 'ledger'::regclass AND j.transfer_id > e.journal_after AND j.from_table = e.tbl AND j.from_key = ANY (e.hot_keys)")
	settles=$(count settle)
	settle_folded=$(count settle_folded)
	# the slotted account: debits served by a slot (journaled without a
	# balance), combined (with one), and single debits of it refused (only
	# a combine refuses one)
	slot_served=$(sql -c "SELECT count(*) FROM transfer_guard_journal j, stress_expect e WHERE e.tbl = 'ledger'::regclass AND j.transfer_id > e.journal_after AND j.from_table = e.tbl AND j.from_key = ANY (e.slot_keys) AND j.from_balance IS NULL")
	combined=$(sql -c "SELECT count(*) FROM transfer_guard_journal j, stress_expect e WHERE e.tbl = 'ledger'::regclass AND j.transfer_id > e.journal_after AND j.from_table = e.tbl AND j.from_key = ANY (e.slot_keys) AND j.from_balance IS NOT NULL")
	combine_refused=$(count combine_refused)

	# the holds: what the hold clients' pgbench reports, and each answer
	# counted (the counters "hold:..." add up to its transactions)
	hold_processed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$work/hold.out")
	hold_failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$work/hold.out")
	if [ -z "$hold_failed" ] && [ -n "$hold_processed" ] && [ "$pgbench_major" -lt 15 ]; then
		hold_failed=0
	fi
	hold_attempted=$(count_like 'hold:*')
	placed=$(count hold:hold_placed)
	hold_floor=$(count hold:hold_refused_floor)
	expiring=$(count hold+expiring)
	replayed=$(count hold+replayed)
	capture_full=$(count hold:capture_ok_full)
	capture_partial=$(count hold:capture_ok_partial)
	try_full=$(count hold:try_capture_ok_full)
	try_partial=$(count hold:try_capture_ok_partial)
	captured_full=$((capture_full + try_full))
	captured_partial=$((capture_partial + try_partial))
	released=$(count hold:release_ok)
	try_expired_here=$(count hold:try_capture_expired_here)
	release_expired_here=$(count hold:release_expired_here)
	expired_lazily=$((try_expired_here + release_expired_here))
	expire_calls=$(count expire:release_expired_ok)
	re_calls=$(($(count hold:release_expired_ok) + expire_calls))
	re_ceiling=$(($(count hold:release_expired_refused_ceiling) + $(count expire:release_expired_refused_ceiling)))
	expire_attempted=$(count_like 'expire:*')
	expire_processed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$work/expire.out")
	expire_failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$work/expire.out")
	re_expired=$(count hold+expired_by_release_expired)
	# every answer but a move, by call: the hold closed already (captured,
	# released, expired), a ceiling, an amount above the hold
	refusals=""
	for what in capture try_capture release; do
		part=""
		for outcome in refused_captured captured refused_released released refused_expired expired \
			refused_ceiling limit_exceeded refused_exceeds exceeds_hold; do
			n=$(count "hold:${what}_$outcome")
			if [ "$n" != 0 ]; then
				part="$part${part:+ }${outcome#refused_} $n"
			fi
		done
		refusals="$refusals${refusals:+; }$what() ${part:-none}"
	done
	refused_closed=$(count_like 'hold:*refused_captured')
	refused_closed=$((refused_closed + $(count_like 'hold:*refused_released') + $(count hold:try_capture_captured) + $(count hold:try_capture_released)))
	refused_expired=$(($(count_like 'hold:*refused_expired') + $(count hold:try_capture_expired)))
	# the holds as their records end, and the journal's rows of each kind
	read -r holds_held holds_captured holds_released holds_expired held_amount <<<"$(sql -F ' ' -c "
		SELECT count(*) FILTER (WHERE state = 'held'), count(*) FILTER (WHERE state = 'captured'),
			   count(*) FILTER (WHERE state = 'released'), count(*) FILTER (WHERE state = 'expired'),
			   coalesce(sum(amount) FILTER (WHERE state = 'held'), 0)
		FROM transfer_guard_hold WHERE hold_id > (SELECT min(journal_after) FROM stress_expect)")"
	expire_rows=$(sql -c "SELECT count(*) FROM transfer_guard_journal WHERE transfer_id > (SELECT min(journal_after) FROM stress_expect) AND kind = 'expire'")
	# the expiries no client made: the worker's (when the library is
	# preloaded and the worker runs for this database)
	worker=$(sql -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'transfer_guard worker' AND datname = current_database()")
	worker_expired=$((expire_rows - expired_lazily - re_expired - end_expired - end_left))
	# the expiry of holds, from their expires_at to their release
	expiry_lag=$(sql -c "
		SELECT coalesce(round(extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY closed_at - expires_at)) * 1000), 0)
			   || ' ms median, ' || coalesce(round(extract(epoch FROM max(closed_at - expires_at)) * 1000), 0) || ' ms at most'
		FROM transfer_guard_hold
		WHERE hold_id > (SELECT min(journal_after) FROM stress_expect) AND state = 'expired'")

	final=$(sql -c "SELECT stress_final(false)" 2>&1) || problems+=("final check failed: $final")
	pending_left=$(sql -c "SELECT count(*) FROM transfer_guard_pending")
	final_folded=$(sql -c "SELECT settle()" 2>&1) || {
		problems+=("the last settle() failed: $final_folded")
		final_folded=0
	}
	final=$(sql -c "SELECT stress_final(true)" 2>&1) || problems+=("final check after settle() failed: $final")
	violations=$(sql -c "SELECT count(*) FROM stress_violations")
	# the credits folded by the debits of hot accounts (which settle them
	# first): the others
	debit_folded=$((deferred - settle_folded - final_folded))

	[ "$violations" = 0 ] || problems+=("$violations violation(s)")
	[ "$aborted" = 0 ] || problems+=("$aborted client(s) aborted")
	[ "$status" = 0 ] || problems+=("transfer pgbench exited with status $status")
	[ "$auditors_alive" = 1 ] || problems+=("auditor pgbench had exited before the end")
	if [ "$settle_status" = exited ]; then
		problems+=("settle pgbench had exited before the end")
	elif [ "$settle_status" != 0 ]; then
		problems+=("settle pgbench exited with status $settle_status")
	fi
	[ -n "$processed" ] || problems+=("no pgbench report")
	[ "${failed:-1}" = 0 ] || problems+=("pgbench counted ${failed:-?} failed transaction(s)")
	[ "$deadlocks" = 0 ] || problems+=("$deadlocks deadlock(s)")
	[ "$audits" -gt 0 ] || problems+=("no audit completed")
	[ "$attempted" = "${processed:-}" ] ||
		problems+=("the counters add up to $attempted transactions, pgbench reports ${processed:-none}")
	hold_rows=$((placed + captured_full + 2 * captured_partial + released + expire_rows))
	[ "$journal" = $((single_ok + batch_legs + hold_rows)) ] ||
		problems+=("the journal holds $journal rows for $((single_ok + batch_legs)) moves done and $hold_rows steps of holds")
	[ "$single_ok" -gt 0 ] && [ "$batch_ok" -gt 0 ] || problems+=("no single transfer or no batch succeeded")
	[ "$refused_floor" -gt 0 ] && [ "$refused_ceiling" -gt 0 ] ||
		problems+=("the floor or the ceiling never refused a move")
	[ "$deferred" -gt 0 ] || problems+=("no credit was deferred")
	[ "$hot_debits" -gt 0 ] || problems+=("no hot account was debited")
	[ "$settle_folded" -gt 0 ] || problems+=("the settle clients folded nothing")
	[ "$slot_served" -gt 0 ] || problems+=("no debit was served by a slot")
	[ "$combined" -gt 0 ] || problems+=("no debit of the slotted account combined its slots")
	[ "$combine_refused" -gt 0 ] || problems+=("no combine was refused")
	[ "$hold_status" = 0 ] || problems+=("hold pgbench exited with status $hold_status")
	[ -n "$hold_processed" ] || problems+=("no pgbench report of the hold clients")
	[ "${hold_failed:-1}" = 0 ] || problems+=("pgbench counted ${hold_failed:-?} failed hold transaction(s)")
	[ "$hold_attempted" = "${hold_processed:-}" ] ||
		problems+=("the hold counters add up to $hold_attempted transactions, pgbench reports ${hold_processed:-none}")
	if [ "$expire_status" = exited ]; then
		problems+=("the expiring client's pgbench had exited before the end")
	elif [ "$expire_status" != 0 ]; then
		problems+=("the expiring client's pgbench exited with status $expire_status")
	elif [ "$mode" != long ] && [ "$expire_attempted" != "${expire_processed:-}" ]; then
		problems+=("the expiring client counted $expire_attempted calls, pgbench reports ${expire_processed:-none}")
	fi
	[ "${expire_failed:-0}" = 0 ] || problems+=("pgbench counted $expire_failed failed transaction(s) of the expiring client")
	[ "$holds_captured" = $((captured_full + captured_partial)) ] && [ "$holds_released" = "$released" ] &&
		[ "$holds_expired" = "$expire_rows" ] &&
		[ $((holds_held + holds_captured + holds_released + holds_expired)) = "$placed" ] ||
		problems+=("hold records: $holds_held held, $holds_captured captured, $holds_released released, $holds_expired expired, for $placed placed, $((captured_full + captured_partial)) captures, $released releases and $expire_rows expire rows")
	if [ "$worker" = 0 ] && [ "$worker_expired" != 0 ]; then
		problems+=("$worker_expired expire rows that no client made, without a worker")
	elif [ "$worker_expired" -lt 0 ]; then
		problems+=("the clients counted $((expired_lazily + re_expired + end_expired + end_left)) expiries, the journal holds $expire_rows")
	fi
	[ "$end_left" = 0 ] || problems+=("the last release_expired() left $end_left holds past their expiry held that release() could release")
	[ "$placed" -gt 0 ] && [ "$hold_floor" -gt 0 ] || problems+=("no hold was placed, or none refused")
	[ "$captured_full" -gt 0 ] && [ "$captured_partial" -gt 0 ] && [ "$released" -gt 0 ] ||
		problems+=("no hold was captured in full, or in part, or released")
	[ "$expired_lazily" -gt 0 ] && [ "$re_expired" -gt 0 ] ||
		problems+=("no hold was expired by a step on it, or none by release_expired()")
	[ "$refused_closed" -gt 0 ] && [ "$refused_expired" -gt 0 ] ||
		problems+=("no step found its hold captured or released already, or none found it expired")
	[ "$final_folded" = "$pending_left" ] ||
		problems+=("the last settle() folded $final_folded credits, $pending_left were pending")
	if [ "$debit_folded" -lt 0 ]; then
		problems+=("settle() folded $((settle_folded + final_folded)) credits, only $deferred were deferred")
	elif [ "$debit_folded" = 0 ]; then
		problems+=("no debit of a hot account folded a credit")
	fi

	say "$(printf 'accounts=%-5s clients=%-2s holds: %s clients, attempted %s: placed %s (%s expiring, %s replayed), refused %s (floor); captured %s (full %s, partial %s); released %s; expired %s: by the worker %s, by release_expired() %s in %s calls (%s by the expiring client; %s refused by a ceiling), by a step on the hold %s (try_capture() %s, release() %s), at the end %s%s; expired %s after expires_at; other answers: %s; open at the end %s holding %s' \
		"$accounts" "$clients" "$holders" "$hold_attempted" "$placed" "$expiring" "$replayed" "$hold_floor" \
		$((captured_full + captured_partial)) "$captured_full" "$captured_partial" "$released" \
		"$expire_rows" "$worker_expired" "$re_expired" "$re_calls" "$expire_calls" "$re_ceiling" "$expired_lazily" \
		"$try_expired_here" "$release_expired_here" "$end_expired" \
		"$([ "$end_by_one" = t ] && echo " (one by one: release_expired() refused by a ceiling)")$([ "$end_kept" != 0 ] && echo " ($end_kept kept held by a ceiling)")" \
		"$expiry_lag" "$refusals" "$holds_held" "$held_amount")"
	say "$(printf 'accounts=%-5s clients=%-2s attempted %s: ok %s, refused %s (floor %s, ceiling %s); batches ok %s (%s legs); journal rows %s; hot: %s credits deferred, %s debits, folded %s by %s settles, %s by debits, %s at the end; slots: %s debits served, %s combined, %s combines refused; audits %s; violations %s; deadlocks %s; failed %s; unexpected errors %s; tps %s: %s' \
		"$accounts" "$clients" "$attempted" "$ok" $((refused_floor + refused_ceiling)) \
		"$refused_floor" "$refused_ceiling" "$batch_ok" "$batch_legs" "$journal" \
		"$deferred" "$hot_debits" "$settle_folded" "$settles" "$debit_folded" "$final_folded" \
		"$slot_served" "$combined" "$combine_refused" "$audits" \
		"$violations" "$deadlocks" "${failed:-?}" "$unexpected" "${tps:-?}" \
		"$([ ${#problems[@]} -eq 0 ] && echo PASS || echo FAIL)")"
	if [ ${#problems[@]} -eq 0 ]; then
		shapes_passed=$((shapes_passed + 1))
	else
		shapes_failed=$((shapes_failed + 1))
		for p in "${problems[@]}"; do
			say "    $p"
		done
		sql -c "SELECT format('    %s: %s', who, what) FROM stress_violations ORDER BY at LIMIT 20" | tee -a "$figures"
		grep -hE 'aborted|ERROR|error' "$work/transfer.err" "$work/audit.err" "$work/settle.err" "$work/hold.err" "$work/expire.err" | head -20 || true
	fi
done

say "bank stress: $shapes_passed shapes passed, $shapes_failed failed"
psql -X -q -d postgres -c "DROP DATABASE $db" || true
[ "$shapes_failed" -eq 0 ]
