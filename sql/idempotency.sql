--
-- idempotency: a repeated request with the same key replays the original
-- result and moves nothing; the same key for another request is refused.
--
CREATE TABLE i_acc (id int PRIMARY KEY, balance bigint NOT NULL);
CREATE TABLE i_other (id int PRIMARY KEY, balance bigint NOT NULL, spare bigint NOT NULL);
INSERT INTO i_acc SELECT g, 100 FROM generate_series(1, 4) g;
INSERT INTO i_other VALUES (1, 100, 100), (2, 100, 100);
SELECT guard('i_acc', 'balance'), guard('i_other', 'balance'),
	   guard('i_other', 'spare');

-- first request moves, the repeat returns the same id and balances
SELECT transfer_id AS first_id, from_balance, to_balance
  FROM transfer('i_acc', 1, 2, 10, idempotency_key => 'order-1') \gset
SELECT transfer_id = :first_id AS same_id, from_balance, to_balance
  FROM transfer('i_acc', 1, 2, 10, idempotency_key => 'order-1');
-- a string key and an equal amount written differently are the same request
SELECT transfer_id = :first_id AS same_id
  FROM transfer('i_acc', '1', '2', 10.00, idempotency_key => 'order-1');
-- nothing moved twice, one journal row
SELECT * FROM i_acc ORDER BY id;
SELECT count(*) AS journal_rows FROM transfer_guard_journal
 WHERE idempotency_key = 'order-1';
-- try_transfer reports the replay as duplicate, with the original result
SELECT status, transfer_id = :first_id AS same_id, from_balance, to_balance
  FROM try_transfer('i_acc', 1, 2, 10, idempotency_key => 'order-1');

-- the same key for a different request: TG001, naming what differs
SELECT * FROM tg_try($$SELECT * FROM transfer('i_acc', 1, 2, 11, idempotency_key => 'order-1')$$);
SELECT * FROM tg_try($$SELECT * FROM transfer('i_acc', 1, 3, 10, idempotency_key => 'order-1')$$);
SELECT * FROM tg_try($$SELECT * FROM transfer('i_acc', 4, 2, 10, idempotency_key => 'order-1')$$);
SELECT * FROM tg_try($$SELECT * FROM transfer('i_other', 1, 2, 10, balance_column => 'balance', idempotency_key => 'order-1')$$);
SELECT * FROM tg_try($$SELECT * FROM transfer('i_acc', 1, 2, 10, to_table => 'i_other', to_column => 'spare', idempotency_key => 'order-1')$$);
SELECT * FROM tg_try($$SELECT * FROM transfer_batch('[{"from_table": "i_acc", "from_key": 1, "to_key": 2, "amount": 10}]', idempotency_key => 'order-1')$$);
SELECT * FROM tg_try($$SELECT * FROM try_transfer('i_acc', 1, 2, 12, idempotency_key => 'order-1')$$);
SELECT * FROM i_acc ORDER BY id;

-- batches: replayed as a whole; another leg list is refused
SELECT min(transfer_id) AS b_first, count(*) AS b_legs FROM transfer_batch($$[
	{"from_table": "i_acc", "from_key": 3, "to_key": 4, "amount": 1},
	{"from_table": "i_other", "from_column": "spare", "from_key": 1, "to_key": 2, "amount": 2}
]$$, idempotency_key => 'cart-7') \gset
SELECT :b_legs AS legs_moved;
SELECT leg, transfer_id - :b_first AS id_offset, from_balance, to_balance
  FROM transfer_batch($$[
	{"from_table": "i_acc", "from_key": 3, "to_key": 4, "amount": 1},
	{"from_table": "i_other", "from_column": "spare", "from_key": 1, "to_key": 2, "amount": 2}
]$$, idempotency_key => 'cart-7') ORDER BY leg;
SELECT * FROM tg_try($$SELECT * FROM transfer_batch('[
	{"from_table": "i_acc", "from_key": 3, "to_key": 4, "amount": 1}
]', idempotency_key => 'cart-7')$$);
SELECT * FROM tg_try($$SELECT * FROM transfer_batch('[
	{"from_table": "i_acc", "from_key": 3, "to_key": 4, "amount": 1},
	{"from_table": "i_other", "from_column": "spare", "from_key": 1, "to_key": 2, "amount": 3}
]', idempotency_key => 'cart-7')$$);
SELECT * FROM i_other ORDER BY id;

-- a request that failed leaves its key unused: it rolled back
SELECT * FROM tg_try($$SELECT * FROM transfer('i_acc', 3, 4, 500, idempotency_key => 'order-2')$$);
SELECT from_balance, to_balance FROM transfer('i_acc', 3, 4, 5, idempotency_key => 'order-2');
-- so does a try_transfer that moved nothing: a retry after funding succeeds
SELECT status, transfer_id IS NULL AS no_id, from_balance, to_balance
  FROM try_transfer('i_acc', 3, 1, 150, idempotency_key => 'order-3');
SELECT from_balance, to_balance FROM transfer('i_acc', 4, 3, 100);
SELECT status, from_balance, to_balance
  FROM try_transfer('i_acc', 3, 1, 150, idempotency_key => 'order-3');
SELECT status FROM try_transfer('i_acc', 3, 1, 150, idempotency_key => 'order-3');
-- and a rollback of the caller's transaction
BEGIN;
SELECT from_balance, to_balance FROM transfer('i_acc', 1, 2, 1, idempotency_key => 'order-4');
ROLLBACK;
SELECT status FROM try_transfer('i_acc', 1, 2, 1, idempotency_key => 'order-4');

-- keys are scoped by role: another role's use of the same key is its own
CREATE ROLE regress_tg_idem;
GRANT SELECT, UPDATE ON i_acc TO regress_tg_idem;
SET ROLE regress_tg_idem;
SELECT status FROM try_transfer('i_acc', 2, 1, 3, idempotency_key => 'order-1');
SELECT status FROM try_transfer('i_acc', 2, 1, 3, idempotency_key => 'order-1');
RESET ROLE;
SELECT caller, idempotency_key FROM transfer_guard_idempotency
 WHERE idempotency_key = 'order-1' ORDER BY caller;

-- a NULL key is no key; the empty string is refused (a client sending ''
-- for "no key" would otherwise be replayed forever), and so is a huge key
SELECT count(*) AS two_moves FROM (
	SELECT * FROM transfer('i_acc', 1, 2, 1, idempotency_key => NULL)
	UNION ALL
	SELECT * FROM transfer('i_acc', 1, 2, 1, idempotency_key => NULL)) AS m;
SELECT * FROM tg_try($$SELECT * FROM try_transfer('i_acc', 1, 2, 1, idempotency_key => '')$$);
SELECT * FROM tg_try($$SELECT * FROM transfer_batch('[]', idempotency_key => '')$$);
SELECT * FROM tg_try($$SELECT * FROM transfer('i_acc', 1, 2, 1, idempotency_key => repeat('k', 1001))$$);
SELECT status FROM try_transfer('i_acc', 1, 2, 1, idempotency_key => repeat('k', 1000));
SELECT status FROM try_transfer('i_acc', 1, 2, 1, idempotency_key => repeat('k', 1000));

-- validation still comes first: a replayed key does not hide bad arguments
SELECT * FROM tg_try($$SELECT * FROM transfer('i_acc', 1, 2, -10, idempotency_key => 'order-1')$$);

SELECT * FROM i_acc ORDER BY id;
REVOKE ALL ON i_acc FROM regress_tg_idem;
DROP ROLE regress_tg_idem;
DROP TABLE i_acc, i_other;

--
-- the same request spelled differently: keys are compared as the key
-- column compares them (the rows are the same rows), and the record keeps
-- each key as the row holds it
--
CREATE TABLE i_num (id numeric PRIMARY KEY, balance int NOT NULL);
CREATE TABLE i_char (id char(4) PRIMARY KEY, balance int NOT NULL);
CREATE COLLATION i_ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE i_ci_t (id text COLLATE i_ci PRIMARY KEY, balance int NOT NULL);
INSERT INTO i_num VALUES (1, 100), (1.5, 100), (2, 100);
INSERT INTO i_char VALUES ('a', 100), ('b', 100);
INSERT INTO i_ci_t VALUES ('Alice', 100), ('bob', 100);
SELECT guard('i_num', 'balance'), guard('i_char', 'balance'),
	   guard('i_ci_t', 'balance');
-- numeric: 1.0, 1.00, 1 and '1.000' are one key; 1.5 is another row
SELECT transfer_id AS n_id FROM transfer('i_num', 1.0, 2, 5, idempotency_key => 'num-1') \gset
SELECT transfer_id = :n_id AS same_id FROM transfer('i_num', 1.00, 2.0, 5, idempotency_key => 'num-1');
SELECT status, transfer_id = :n_id AS same_id FROM try_transfer('i_num', '1.000', '2', 5, idempotency_key => 'num-1');
SELECT transfer_id = :n_id AS same_id FROM transfer('i_num', 1, 2, 5, idempotency_key => 'num-1');
SELECT * FROM tg_try($$SELECT * FROM transfer('i_num', 1.5, 2, 5, idempotency_key => 'num-1')$$);
SELECT count(*) AS n_batch FROM transfer_batch($$[{"from_table": "i_num", "from_key": 2.0, "to_key": "1.50", "amount": 1}]$$,
	idempotency_key => 'num-2');
SELECT count(*) AS n_batch FROM transfer_batch($$[{"from_table": "i_num", "from_key": "2", "to_key": 1.5, "amount": 1}]$$,
	idempotency_key => 'num-2');
SELECT * FROM i_num ORDER BY id;
-- char(n): padded or not
SELECT transfer_id AS c_id FROM transfer('i_char', 'a', 'b   ', 5, idempotency_key => 'char-1') \gset
SELECT transfer_id = :c_id AS same_id FROM transfer('i_char', 'a  ', 'b', 5, idempotency_key => 'char-1');
SELECT transfer_id = :c_id AS same_id FROM transfer('i_char', 'a'::char(4), 'b'::char(4), 5, idempotency_key => 'char-1');
SELECT * FROM i_char ORDER BY id;
-- a case-insensitive key: 'ALICE' and 'alice' name the row 'Alice', so
-- they are the same request; another row is not
SELECT transfer_id AS ci_id FROM transfer('i_ci_t', 'ALICE', 'BOB', 5, idempotency_key => 'ci-1') \gset
SELECT transfer_id = :ci_id AS same_id FROM transfer('i_ci_t', 'alice', 'Bob', 5, idempotency_key => 'ci-1');
SELECT * FROM tg_try($$SELECT * FROM transfer('i_ci_t', 'bob', 'alice', 5, idempotency_key => 'ci-1')$$);
SELECT * FROM i_ci_t ORDER BY id;
-- the records hold the rows' own spellings
SELECT idempotency_key, request->'legs'->0->>'from_key' AS from_key,
	   request->'legs'->0->>'to_key' AS to_key
  FROM transfer_guard_idempotency
 WHERE idempotency_key IN ('num-1', 'num-2', 'char-1', 'ci-1') ORDER BY 1;
-- a record made before 1.3 holds the caller's spelling; a retry spelled
-- otherwise is still the same request
UPDATE transfer_guard_idempotency
   SET request = jsonb_set(request, '{legs,0,from_key}', '"1.0"')
 WHERE idempotency_key = 'num-1';
SELECT transfer_id = :n_id AS same_id FROM transfer('i_num', 1.00, 2, 5, idempotency_key => 'num-1');
-- a recorded key the key column's type cannot read (its type changed since)
-- is a different request, not an input error
UPDATE transfer_guard_idempotency
   SET request = jsonb_set(request, '{legs,0,from_key}', '"one"')
 WHERE idempotency_key = 'num-1';
SELECT * FROM tg_try($$SELECT * FROM transfer('i_num', 1, 2, 5, idempotency_key => 'num-1')$$);
SELECT * FROM i_num ORDER BY id;
DROP TABLE i_num, i_char, i_ci_t;
DROP COLLATION i_ci;
