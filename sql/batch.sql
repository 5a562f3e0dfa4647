--
-- transfer_batch: several legs, any mix of tables and columns, all or none.
--
CREATE TABLE wallets (id bigint PRIMARY KEY, coins bigint NOT NULL, gems int NOT NULL);
CREATE TABLE stock (sku text PRIMARY KEY, units int NOT NULL);
INSERT INTO wallets VALUES (1, 100, 5), (2, 0, 0), (3, 10, 0);
INSERT INTO stock VALUES ('apple', 10), ('pear', 0);
SELECT guard('wallets', 'coins'), guard('wallets', 'gems'), guard('stock', 'units');

-- a purchase: coins from buyer to seller, stock from shop to buyer's gems
SELECT leg, from_balance, to_balance FROM transfer_batch($$[
	{"from_table": "wallets", "from_key": 1, "to_key": 2, "amount": 30, "from_column": "coins"},
	{"from_table": "stock", "from_key": "apple", "to_table": "wallets", "to_key": 1,
	 "to_column": "gems", "amount": 2}
]$$);
SELECT * FROM wallets ORDER BY id;
SELECT * FROM stock ORDER BY sku;

-- legs apply in order: a row may pass on what an earlier leg gave it;
-- each leg reports the balances after itself
SELECT leg, from_balance, to_balance FROM transfer_batch($$[
	{"from_table": "wallets", "from_column": "coins", "from_key": 1, "to_key": 3, "amount": 70},
	{"from_table": "wallets", "from_column": "coins", "from_key": 3, "to_key": 2, "amount": 80},
	{"from_table": "wallets", "from_column": "coins", "from_key": 2, "to_key": 1, "amount": 1}
]$$);
SELECT * FROM wallets ORDER BY id;

-- all or none: the third leg fails, the first two are undone
SELECT * FROM tg_try($$SELECT * FROM transfer_batch('[
	{"from_table": "stock", "from_key": "apple", "to_key": "pear", "amount": 1},
	{"from_table": "wallets", "from_column": "coins", "from_key": 2, "to_key": 1, "amount": 5},
	{"from_table": "wallets", "from_column": "coins", "from_key": 3, "to_key": 1, "amount": 500}
]')$$);
SELECT * FROM wallets ORDER BY id;
SELECT * FROM stock ORDER BY sku;

-- transfer ids: one per leg, growing
SELECT count(DISTINCT transfer_id) AS ids, min(transfer_id) < max(transfer_id) AS grow
  FROM transfer_batch($$[
	{"from_table": "stock", "from_key": "apple", "to_key": "pear", "amount": 1},
	{"from_table": "stock", "from_key": "pear", "to_key": "apple", "amount": 1}
]$$);

-- amounts and keys as strings are exact too
SELECT leg, from_balance, to_balance FROM transfer_batch($$[
	{"from_table": "wallets", "from_column": "coins", "from_key": "1", "to_key": "2", "amount": "1"}
]$$);

-- an empty batch does nothing
SELECT count(*) FROM transfer_batch('[]');

-- bad input is refused with the leg named, and moves nothing
SELECT * FROM tg_try($$SELECT * FROM transfer_batch(NULL)$$);
SELECT * FROM tg_try($$SELECT * FROM transfer_batch('{}')$$);
SELECT * FROM tg_try($$SELECT * FROM transfer_batch('5')$$);
SELECT * FROM tg_try($$SELECT * FROM transfer_batch('[1]')$$);
SELECT * FROM tg_try($$SELECT * FROM transfer_batch('[{"from_table": "stock", "from_key": "apple", "to_key": "pear", "ammount": 1}]')$$);
SELECT * FROM tg_try($$SELECT * FROM transfer_batch('[{"from_table": "stock", "from_key": "apple", "to_key": "pear"}]')$$);
SELECT * FROM tg_try($$SELECT * FROM transfer_batch('[{"from_table": "stock", "to_key": "pear", "amount": 1}]')$$);
SELECT * FROM tg_try($$SELECT * FROM transfer_batch('[{"from_key": "apple", "to_key": "pear", "amount": 1}]')$$);
SELECT * FROM tg_try($$SELECT * FROM transfer_batch('[{"from_table": 5, "from_key": "apple", "to_key": "pear", "amount": 1}]')$$);
SELECT * FROM tg_try($$SELECT * FROM transfer_batch('[{"from_table": "stock", "from_key": true, "to_key": "pear", "amount": 1}]')$$);
SELECT * FROM tg_try($$SELECT * FROM transfer_batch('[{"from_table": "stock", "from_key": "apple", "to_key": "pear", "amount": "lots"}]')$$);
SELECT * FROM tg_try($$SELECT * FROM transfer_batch('[{"from_table": "stock", "from_key": "apple", "to_key": "pear", "amount": 0.5}]')$$);
SELECT * FROM tg_try($$SELECT * FROM transfer_batch('[{"from_table": "nope", "from_key": "apple", "to_key": "pear", "amount": 1}]')$$);
SELECT * FROM tg_try($$SELECT * FROM transfer_batch('[{"from_table": "stock", "from_key": "apple", "to_key": "kiwi", "amount": 1}]')$$);
SELECT * FROM tg_try($$SELECT * FROM transfer_batch('[{"from_table": "stock", "from_key": "apple", "to_key": "apple", "amount": 1}]')$$);
SELECT * FROM tg_try($$SELECT * FROM transfer_batch('[{"from_table": "wallets", "from_key": 1, "to_key": 2, "amount": 1}]')$$);
SELECT * FROM tg_try($$SELECT * FROM transfer_batch('[{"from_table": "stock", "from_key": "apple", "to_key": "pear", "amount": 1}]', nowait => NULL)$$);
SELECT * FROM wallets ORDER BY id;
SELECT * FROM stock ORDER BY sku;

DROP TABLE wallets, stock;
