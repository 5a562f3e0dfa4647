#!/bin/bash
#
# test/dump/round_trip.sh -- pg_dump of a database keeps its guards, journal,
# idempotency records, transfer id sequence, hot rows, pending credits,
# slots and holds, and the restored database works: guards apply, transfer
# ids go on from where they were, a replayed idempotency key returns the
# original result, an open hold can be captured, and every exact balance
# is what it was.
#
# Runs against the server in PGHOST/PGPORT/PGUSER (the test command's
# throwaway cluster); creates and drops its own two databases.  Prints one
# "ok"/"not ok" line per check and exits non-zero if any failed.
#
set -uo pipefail

src=transfer_guard_dump_src
dst=transfer_guard_dump_dst
dst2=transfer_guard_dump_dst2
dump=$(mktemp)
dump2=$(mktemp)
failed=0
passed=0

trap 'rm -f "$dump" "$dump2"' EXIT

q()
{
	psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"
}

check()
{
	local name=$1 got=$2 want=$3

	if [ "$got" = "$want" ]; then
		echo "ok - $name"
		passed=$((passed + 1))
	else
		echo "not ok - $name: got '$got', want '$want'"
		failed=$((failed + 1))
	fi
}

for db in "$src" "$dst" "$dst2"; do
	psql -X -q -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" >/dev/null
done
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $src" -c "CREATE DATABASE $dst" \
	-c "CREATE DATABASE $dst2" || exit 1

psql -X -q -v ON_ERROR_STOP=1 -d "$src" >/dev/null <<'SQL' || exit 1
CREATE EXTENSION transfer_guard;
CREATE SCHEMA bank;
CREATE TABLE bank.accounts (id bigint PRIMARY KEY, balance bigint NOT NULL,
							version int NOT NULL DEFAULT 0);
CREATE TABLE public.shop (sku text PRIMARY KEY, stock numeric(10,2) NOT NULL);
INSERT INTO bank.accounts (id, balance) SELECT g, 1000 FROM generate_series(1, 5) g;
INSERT INTO public.shop VALUES ('apple', 50), ('pear', 0);
SELECT guard('bank.accounts', 'balance', 0, 1500, version_column => 'version');
SELECT guard('shop', 'stock', journal => false);
-- a dropped column before the guarded ones: a restored table numbers its
-- columns otherwise; and columns renamed since guard()
CREATE TABLE bank.shifted (junk int, id int PRIMARY KEY, other bigint NOT NULL DEFAULT 0,
						   bal bigint NOT NULL, ver int NOT NULL DEFAULT 0);
ALTER TABLE bank.shifted DROP COLUMN junk;
INSERT INTO bank.shifted (id, bal) VALUES (1, 100), (2, 100);
SELECT guard('bank.shifted', 'bal', version_column => 'ver');
ALTER TABLE bank.shifted RENAME bal TO balance;
ALTER TABLE bank.shifted RENAME ver TO version;
SELECT * FROM transfer('bank.accounts', 1, 2, 100, idempotency_key => 'order-1');
SELECT * FROM transfer('bank.accounts', 2, 3, 50);
SELECT * FROM transfer_batch('[{"from_table": "bank.accounts", "from_key": 3, "to_key": 4, "amount": 5},
							   {"from_table": "shop", "from_key": "apple", "to_key": "pear", "amount": 2.5}]');
-- a hot row with slots, a pending credit and a slot debited, in a table
-- whose columns a restore numbers otherwise
CREATE TABLE bank.hot (junk int, id int PRIMARY KEY, bal numeric(10,2) NOT NULL);
ALTER TABLE bank.hot DROP COLUMN junk;
INSERT INTO bank.hot VALUES (1, 100), (2, 100);
SELECT guard('bank.hot', 'bal');
SELECT set_hot('bank.hot', '1', slots => 2);
SELECT * FROM transfer('bank.hot', 2, 1, 7);
SELECT * FROM transfer('bank.hot', 1, 2, 3);
-- holds: one open with an expiry a day away (and an idempotency key), one
-- open that never expires, one captured in part; drawn from a table whose
-- columns a restore numbers otherwise
CREATE TABLE bank.cards (junk int, id int PRIMARY KEY, bal numeric(10,2) NOT NULL);
ALTER TABLE bank.cards DROP COLUMN junk;
INSERT INTO bank.cards VALUES (1, 100), (2, 100);
CREATE TABLE bank.merchants (id int PRIMARY KEY, takings numeric(10,2) NOT NULL);
INSERT INTO bank.merchants VALUES (1, 0);
SELECT guard('bank.cards', 'bal');
SELECT guard('bank.merchants', 'takings');
SELECT * FROM hold('bank.cards', 1, 1, 30, to_table => 'bank.merchants', expires_in => '1 day', idempotency_key => 'auth-1');
SELECT * FROM hold('bank.cards', 1, 2, 5);
SELECT * FROM capture((hold('bank.cards', 2, 1, 50, to_table => 'bank.merchants')).hold_id, 20);
SQL

hot_state="SELECT (SELECT string_agg(format('%s.%s %s %s %s %s', tbl, balance_column, key, slots, slot_amount, pending_amount), '; ')
	FROM transfer_guard_hot_rows) || ' | ' || (SELECT string_agg(current_balance('bank.hot', id::text)::text, ' ' ORDER BY id) FROM bank.hot)"
hot_src=$(q "$src" "$hot_state")
guards_src=$(q "$src" "SELECT string_agg(format('%s.%s %s %s %s %s', tbl, balance_column, min_balance, max_balance, journal, version_column), '; ' ORDER BY 1) FROM transfer_guards")
journal_src=$(q "$src" "SELECT count(*) || ' ' || sum(amount) FROM transfer_guard_journal")
lastid_src=$(q "$src" "SELECT max(transfer_id) FROM transfer_guard_journal")
holds_state="SELECT string_agg(format('%s %s.%s %s -> %s.%s %s: %s %s expires %s transfer %s captured %s by %s',
	hold_id, from_table, from_column, from_key, to_table, to_column, to_key, amount, state, expires_at,
	transfer_id, captured, placed_by), '; ' ORDER BY hold_id) FROM transfer_guard_holds"
holds_src=$(q "$src" "$holds_state")
hold_steps="SELECT string_agg(format('%s:%s:%s', transfer_id, kind, hold_id), ' ' ORDER BY transfer_id)
	FROM transfer_guard_journal WHERE kind <> 'transfer' OR hold_id IS NOT NULL"
hold_steps_src=$(q "$src" "$hold_steps")
hold_open=$(q "$src" "SELECT hold_id FROM transfer_guard_holds WHERE expires_at IS NOT NULL")
hold_captured=$(q "$src" "SELECT hold_id FROM transfer_guard_holds WHERE state = 'captured'")
cards_money="SELECT (SELECT sum(bal) FROM bank.cards) + (SELECT sum(takings) FROM bank.merchants)
	+ (SELECT sum(amount) FROM transfer_guard_holds WHERE state = 'held')"
cards_attnums="SELECT string_agg(transfer_guard_column_attnum(from_column)::text, ',' ORDER BY hold_id) FROM transfer_guard_hold"

pg_dump -d "$src" -f "$dump" || exit 1
psql -X -q -v ON_ERROR_STOP=1 -d "$dst" -f "$dump" >/dev/null || exit 1

check "guards survive dump and restore" \
	"$(q "$dst" "SELECT string_agg(format('%s.%s %s %s %s %s', tbl, balance_column, min_balance, max_balance, journal, version_column), '; ' ORDER BY 1) FROM transfer_guards")" \
	"$guards_src"
check "journal survives dump and restore" \
	"$(q "$dst" "SELECT count(*) || ' ' || sum(amount) FROM transfer_guard_journal")" \
	"$journal_src"
check "an idempotency key replays its original result after restore" \
	"$(q "$dst" "SELECT status || ' ' || from_balance || ' ' || to_balance FROM try_transfer('bank.accounts', 1, 2, 100, idempotency_key => 'order-1')")" \
	"duplicate 900 1100"
check "transfer ids go on after the highest id handed out before the dump" \
	"$(q "$dst" "SELECT transfer_id > $lastid_src FROM transfer('bank.accounts', 4, 5, 1)")" \
	"t"
check "the floor still applies after restore" \
	"$(q "$dst" "SELECT status FROM try_transfer('bank.accounts', 1, 2, 901)")" \
	"insufficient_funds"
check "the ceiling still applies after restore" \
	"$(q "$dst" "SELECT status FROM try_transfer('bank.accounts', 3, 2, 500)")" \
	"limit_exceeded"
check "the version column still counts after restore" \
	"$(q "$dst" "SELECT version FROM bank.accounts WHERE id = 5")" \
	"1"
check "the unjournaled guard stays unjournaled after restore" \
	"$(q "$dst" "SELECT count(*) FROM transfer('shop', 'pear', 'apple', 1), transfer_guard_journal j WHERE j.from_table = 'shop'::regclass")" \
	"0"
shifted_attnums="SELECT string_agg(concat_ws(',', transfer_guard_column_attnum(balance_column),
	transfer_guard_column_attnum(version_column), transfer_guard_column_attnum(key_column)), '')
	FROM transfer_guard_registry WHERE tbl = 'bank.shifted'::regclass"
check "a restored table with a dropped column numbers its columns otherwise" \
	"$(q "$src" "$shifted_attnums") $(q "$dst" "$shifted_attnums")" \
	"4,5,2 3,4,1"
check "its guard, version and key columns are found by name after restore" \
	"$(q "$dst" "SELECT count(*) FROM transfer('bank.shifted', 1, 2, 10)" >/dev/null
	   q "$dst" "SELECT string_agg(concat_ws(',', id, other, balance, version), ' ' ORDER BY id) FROM bank.shifted")" \
	"1,0,90,1 2,0,110,1"
check "hot rows, slots and pending credits survive dump and restore, on the right column" \
	"$(q "$dst" "$hot_state")" "$hot_src"
check "a restored hot row settles and gives its slots back" \
	"$(q "$dst" "SELECT set_hot('bank.hot', '1', hot => false)" >/dev/null; q "$dst" "SELECT string_agg(bal::text, ' ' ORDER BY id) FROM bank.hot")" \
	"104.00 96.00"
check "balances add up after restore" \
	"$(q "$dst" "SELECT sum(balance) FROM bank.accounts")" \
	"5000"

# holds
check "holds survive dump and restore: tables, columns, keys, amounts, states, expiries, captures, placers" \
	"$(q "$dst" "$holds_state")" "$holds_src"
check "the restored holds take their source column by attribute number, which a restore numbers otherwise" \
	"$(q "$src" "$cards_attnums") $(q "$dst" "$cards_attnums")" \
	"3,3,3 2,2,2"
check "the restored journal keeps the kinds and hold_ids of the steps of holds" \
	"$(q "$dst" "$hold_steps")" "$hold_steps_src"
check "the balances and the open holds add up after restore as before it" \
	"$(q "$dst" "$cards_money")" "$(q "$src" "$cards_money")"
check "an open hold's idempotency key replays it after restore" \
	"$(q "$dst" "SELECT hold_id FROM hold('bank.cards', 1, 1, 30, to_table => 'bank.merchants', expires_in => '1 day', idempotency_key => 'auth-1')")" \
	"$hold_open"
check "the restored captured hold stays captured, with its capture's transfer id" \
	"$(q "$dst" "SELECT status || ' ' || (transfer_id = (SELECT transfer_id FROM transfer_guard_holds WHERE hold_id = $hold_captured)) FROM try_capture($hold_captured)")" \
	"captured true"
check "a restored open hold keeps its table: DROP TABLE is refused" \
	"$(q "$dst" "DROP TABLE bank.merchants" >/dev/null 2>&1; q "$dst" "SELECT to_regclass('bank.merchants') IS NOT NULL")" \
	"t"
check "the open hold with an expiry a day away is captured in part after restore, the rest back to the source" \
	"$(q "$dst" "SELECT from_balance || ' ' || to_balance FROM capture($hold_open, 10)")" \
	"85.00 30.00"
check "after the capture the balances and the open holds still add up, the captured hold's money now in the balances" \
	"$(q "$dst" "$cards_money") $(q "$dst" "SELECT string_agg(bal::text, ' ' ORDER BY id) FROM bank.cards") $(q "$dst" "SELECT takings FROM bank.merchants")" \
	"$(q "$src" "$cards_money") 85.00 80.00 30.00"
check "the journal reconciles after restore: each hold is open for its hold row less its other rows" \
	"$(q "$dst" "SELECT count(*) FROM transfer_guard_holds h WHERE
		(SELECT sum(CASE WHEN j.kind = 'hold' THEN j.amount ELSE -j.amount END) FROM transfer_guard_journal j WHERE j.hold_id = h.hold_id)
		<> CASE WHEN h.state = 'held' THEN h.amount ELSE 0 END")" \
	"0"

# the journal's indexes by account: made by default, and a choice to go
# without them survives a dump restored in parallel into a fresh database
account_indexes="SELECT string_agg(c.relname, ' ' ORDER BY c.relname) FROM pg_index i
	JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'transfer_guard_journal'::regclass"
check "a restored journal has its indexes by account by default" \
	"$(q "$dst" "$account_indexes")" \
	"transfer_guard_journal_from transfer_guard_journal_pkey transfer_guard_journal_to"
q "$src" "SELECT journal_account_indexes(false)" >/dev/null || exit 1
pg_dump -Fc -d "$src" -f "$dump2" || exit 1
pg_restore -j 2 -d "$dst2" "$dump2" || exit 1
check "holds survive a dump restored in parallel (pg_restore -j 2)" \
	"$(q "$dst2" "$holds_state")" "$holds_src"
check "journal_account_indexes(false) survives dump and restore (pg_restore -j 2)" \
	"$(q "$dst2" "$account_indexes") $(q "$dst2" "SELECT journal_account_indexes FROM transfer_guard_settings")" \
	"transfer_guard_journal_pkey f"
check "the journal without indexes by account survives and goes on recording" \
	"$(q "$dst2" "SELECT count(*) FROM transfer('bank.accounts', 5, 4, 1)" >/dev/null; q "$dst2" "SELECT count(*) FROM transfer_guard_journal")" \
	"$(( ${journal_src%% *} + 1 ))"
check "journal_account_indexes(true) after restore indexes every journal row" \
	"$(q "$dst2" "SELECT journal_account_indexes(true)" >/dev/null; q "$dst2" "$account_indexes") $(psql -X -q -At -d "$dst2" \
		-c "SET enable_seqscan = off" -c "SET enable_bitmapscan = off" \
		-c "SELECT count(*) FROM transfer_guard_journal WHERE from_table = 'bank.accounts'::regclass AND from_key >= ''")" \
	"transfer_guard_journal_from transfer_guard_journal_pkey transfer_guard_journal_to $(q "$dst2" "SELECT count(*) FROM transfer_guard_journal WHERE from_table = 'bank.accounts'::regclass")"

for db in "$src" "$dst" "$dst2"; do
	psql -X -q -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" >/dev/null
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
