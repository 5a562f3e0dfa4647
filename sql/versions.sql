--
-- versions: guard(..., version_column => 'version') makes every transfer
-- add 1 to that column of each row it changes, so optimistic locking sees
-- a transfer as a change of the row.
--
CREATE TABLE v_acc (id int PRIMARY KEY, coins int NOT NULL, gems int NOT NULL,
					version bigint NOT NULL DEFAULT 0, note text);
INSERT INTO v_acc (id, coins, gems) VALUES (1, 100, 100), (2, 100, 100), (3, 0, 0);
SELECT guard('v_acc', 'coins', version_column => 'version'),
	   guard('v_acc', 'gems', version_column => 'version');
SELECT balance_column, version_column FROM transfer_guards
 WHERE tbl = 'v_acc'::regclass ORDER BY 1;

SELECT from_balance, to_balance FROM transfer('v_acc', 1, 2, 5, balance_column => 'coins');
SELECT id, coins, gems, version FROM v_acc ORDER BY id;

-- one call changing two columns of a row adds 1 once
SELECT from_balance, to_balance
  FROM transfer('v_acc', 1, 1, 5, balance_column => 'coins', to_column => 'gems');
-- a batch adds 1 once to each row it changes, however many legs touch it
SELECT count(*) FROM transfer_batch($$[
	{"from_table": "v_acc", "from_column": "coins", "from_key": 1, "to_key": 2, "amount": 1},
	{"from_table": "v_acc", "from_column": "coins", "from_key": 2, "to_key": 3, "amount": 1},
	{"from_table": "v_acc", "from_column": "gems", "from_key": 2, "to_key": 3, "amount": 1}
]$$);
SELECT id, coins, gems, version FROM v_acc ORDER BY id;
-- refused or rolled back transfers change no version
SELECT * FROM tg_try($$SELECT * FROM transfer('v_acc', 3, 1, 100, balance_column => 'coins')$$);
SELECT status FROM try_transfer('v_acc', 3, 1, 100, balance_column => 'coins');
SELECT id, version FROM v_acc ORDER BY id;

-- an optimistic save with the version read before the transfer now fails
SELECT version AS seen FROM v_acc WHERE id = 1 \gset
SELECT from_balance FROM transfer('v_acc', 1, 2, 1, balance_column => 'coins');
WITH save AS (
	UPDATE v_acc SET note = 'stale save', version = version + 1
	 WHERE id = 1 AND version = :seen RETURNING id)
SELECT count(*) AS rows_saved FROM save;

-- which columns can be version columns
SELECT * FROM tg_try($$SELECT guard('v_acc', 'coins', version_column => 'nope')$$);
SELECT * FROM tg_try($$SELECT guard('v_acc', 'coins', version_column => 'note')$$);
SELECT * FROM tg_try($$SELECT guard('v_acc', 'coins', version_column => 'id')$$);
SELECT * FROM tg_try($$SELECT guard('v_acc', 'coins', version_column => 'coins')$$);
SELECT * FROM tg_try($$SELECT guard('v_acc', 'coins', version_column => 'xmin')$$);
SELECT * FROM tg_try($$SELECT guard('v_acc', 'coins', journal => NULL)$$);

-- guard() sets every setting: called again without version_column, none
SELECT guard('v_acc', 'gems');
SELECT from_balance FROM transfer('v_acc', 1, 2, 1, balance_column => 'gems');
SELECT id, version FROM v_acc ORDER BY id;

-- dropping the version column keeps the guard, without a version column
ALTER TABLE v_acc DROP COLUMN version;
SELECT balance_column, version_column FROM transfer_guards
 WHERE tbl = 'v_acc'::regclass ORDER BY 1;
SELECT from_balance FROM transfer('v_acc', 1, 2, 1, balance_column => 'coins');

DROP TABLE v_acc;
