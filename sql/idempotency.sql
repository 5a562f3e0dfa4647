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
