--
-- transfer_guard on a Citus cluster (a coordinator and two workers, made by
-- test/citus/run.sh), through the coordinator: every kind of Citus table,
-- moves between kinds, every status, batches, idempotency keys, the
-- journal, and the tables that are refused.
--
CREATE EXTENSION transfer_guard;
SET citus.shard_count = 8;

-- a SQLSTATE without the message: the error of a NOWAIT lock names a shard
CREATE FUNCTION sqlstate_of(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE sql;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE;
END $$;

-- hash-distributed by the key, its rows on both workers
CREATE TABLE dist (id int PRIMARY KEY, balance bigint NOT NULL);
SELECT create_distributed_table('dist', 'id');
INSERT INTO dist SELECT g, 100 FROM generate_series(1, 20) g;
SELECT guard('dist', 'balance', min_balance => 0);
-- another, colocated, with a ceiling
CREATE TABLE capped (id int PRIMARY KEY, balance bigint NOT NULL);
SELECT create_distributed_table('capped', 'id', colocate_with => 'dist');
INSERT INTO capped VALUES (1, 0), (2, 95);
SELECT guard('capped', 'balance', max_balance => 100);
SELECT count(DISTINCT nodeport) AS workers_holding_rows
  FROM dist, citus_shards s
 WHERE s.shardid = get_shard_id_for_distribution_column('dist', dist.id);

-- a reference table (a copy on every node)
CREATE TABLE ref (id text PRIMARY KEY, balance numeric(12,2) NOT NULL);
SELECT create_reference_table('ref');
INSERT INTO ref VALUES ('fees', 0), ('house', 1000);
SELECT guard('ref', 'balance', min_balance => 0);

-- a plain table of the coordinator
CREATE TABLE loc (id int PRIMARY KEY, balance bigint NOT NULL);
INSERT INTO loc SELECT g, 100 FROM generate_series(1, 3) g;
SELECT guard('loc', 'balance', min_balance => 0);

-- a local table added to Citus's metadata (its rows in a shard)
CREATE TABLE cloc (id int PRIMARY KEY, balance bigint NOT NULL);
SELECT citus_add_local_table_to_metadata('cloc');
INSERT INTO cloc SELECT g, 100 FROM generate_series(1, 3) g;
SELECT guard('cloc', 'balance', min_balance => 0);

-- a single-shard table, and a table of a distributed schema
CREATE TABLE single (id int PRIMARY KEY, balance bigint NOT NULL);
SELECT create_distributed_table('single', NULL);
INSERT INTO single SELECT g, 100 FROM generate_series(1, 3) g;
SELECT guard('single', 'balance', min_balance => 0);
SET citus.enable_schema_based_sharding = on;
CREATE SCHEMA tenant;
RESET citus.enable_schema_based_sharding;
CREATE TABLE tenant.wallet (id bigint PRIMARY KEY, balance bigint NOT NULL);
INSERT INTO tenant.wallet SELECT g, 100 FROM generate_series(1, 3) g;
SELECT guard('tenant.wallet', 'balance', min_balance => 0);

SELECT logicalrelid, partmethod, repmodel FROM pg_dist_partition
 WHERE logicalrelid::text IN ('dist', 'ref', 'cloc', 'single', 'tenant.wallet')
 ORDER BY 1::text;

SET client_min_messages = error;	-- Citus: the views stay on the coordinator
CREATE VIEW books AS
SELECT (SELECT sum(balance) FROM dist) AS dist, (SELECT sum(balance) FROM ref) AS ref,
       (SELECT sum(balance) FROM loc) AS loc, (SELECT sum(balance) FROM cloc) AS cloc,
       (SELECT sum(balance) FROM single) AS single,
       (SELECT sum(balance) FROM tenant.wallet) AS wallet;
CREATE VIEW total AS
SELECT dist + ref + loc + cloc + single + wallet + (SELECT sum(balance) FROM capped) AS total
  FROM books;
RESET client_min_messages;
SELECT * FROM books;

-- transfer() within each kind; rows that exist are found
SELECT * FROM transfer('dist', 1, 2, 5);
SELECT * FROM transfer('dist', 2, 1, 7);
SELECT * FROM transfer('ref', 'house', 'fees', 2.50);
SELECT * FROM transfer('loc', 1, 2, 5);
SELECT * FROM transfer('cloc', 1, 2, 5);
SELECT * FROM transfer('single', 1, 2, 5);
SELECT * FROM transfer('tenant.wallet', 1, 2, 5);
SELECT id, balance FROM dist WHERE id <= 2 ORDER BY id;
SELECT * FROM transfer('dist', 1, 1, 3, to_table => 'capped');

-- between kinds, both ways
SELECT * FROM transfer('dist', '3', 'fees', 10, to_table => 'ref');
SELECT * FROM transfer('ref', 'house', '4', 10, to_table => 'dist');
SELECT * FROM transfer('ref', 'house', 'fees', 0.25);
SELECT * FROM transfer('dist', 5, 3, 1, to_table => 'loc');
SELECT * FROM transfer('loc', 3, 5, 1, to_table => 'dist');
SELECT * FROM transfer('cloc', 3, 6, 1, to_table => 'dist');
SELECT * FROM transfer('dist', 6, 3, 1, to_table => 'cloc');
SELECT * FROM transfer('single', 3, 7, 1, to_table => 'dist');
SELECT * FROM transfer('tenant.wallet', '3', 'fees', 1, to_table => 'ref');
SELECT * FROM transfer('ref', 'fees', '1', 1, to_table => 'loc');
SELECT * FROM transfer('loc', 1, 1, 1, to_table => 'single');
SELECT * FROM total;

-- every status of try_transfer()
SELECT * FROM try_transfer('dist', 8, 9, 1);
SELECT * FROM try_transfer('dist', 8, 9, 1000);
SELECT * FROM try_transfer('dist', 8, 12345, 1);
SELECT * FROM try_transfer('dist', 12345, 8, 1);
SELECT * FROM try_transfer('dist', 8, 2, 10, to_table => 'capped');
SELECT * FROM try_transfer('ref', 'nobody', 'fees', 1);
SELECT * FROM try_transfer('dist', 8, 9, 1, nowait => true);
-- busy: another session holds the row (test/citus/sql/citus_sessions.sql)

-- the errors transfer() raises, with their SQLSTATEs
SELECT sqlstate_of($$SELECT transfer('dist', 8, 9, 1000)$$);
SELECT sqlstate_of($$SELECT transfer('dist', 8, 12345, 1)$$);
SELECT sqlstate_of($$SELECT transfer('dist', 8, 2, 10, to_table => 'capped')$$);
SELECT sqlstate_of($$SELECT transfer('dist', 8, 9, -1)$$);
SELECT sqlstate_of($$SELECT transfer('dist', 8, 8, 1)$$);
SELECT sqlstate_of($$SELECT transfer('ref', 'house', 'fees', 0.001)$$);
SELECT * FROM total;

-- a batch over shards, workers and kinds: legs in order, each row once
SELECT * FROM transfer_batch('[
  {"from_table": "dist", "from_key": 10, "to_key": 11, "amount": 3},
  {"from_table": "dist", "from_key": 11, "to_key": 12, "amount": 5},
  {"from_table": "dist", "from_key": 13, "to_table": "ref", "to_key": "fees", "amount": 2},
  {"from_table": "ref", "from_key": "fees", "to_table": "loc", "to_key": 2, "amount": 1},
  {"from_table": "cloc", "from_key": 2, "to_table": "dist", "to_key": 10, "amount": 4}]');
SELECT id, balance FROM dist WHERE id BETWEEN 10 AND 13 ORDER BY id;
-- a batch whose last leg fails moves nothing
SELECT sqlstate_of($$SELECT transfer_batch('[
  {"from_table": "dist", "from_key": 10, "to_key": 11, "amount": 3},
  {"from_table": "dist", "from_key": 14, "to_key": 15, "amount": 1000}]')$$);
SELECT id, balance FROM dist WHERE id IN (10, 11, 14, 15) ORDER BY id;
SELECT * FROM total;

-- idempotency keys: the second call replays, moves nothing
SELECT * FROM transfer('dist', 16, 17, 5, idempotency_key => 'order-1');
SELECT * FROM transfer('dist', 16, 17, 5, idempotency_key => 'order-1');
SELECT status, from_balance, to_balance
  FROM try_transfer('dist', 16, 17, 5, idempotency_key => 'order-1');
SELECT sqlstate_of($$SELECT transfer('dist', 16, 18, 5, idempotency_key => 'order-1')$$);
SELECT id, balance FROM dist WHERE id IN (16, 17) ORDER BY id;

-- a transfer rolled back with its transaction leaves no trace on any node
BEGIN;
SELECT from_balance, to_balance FROM transfer('dist', 19, 20, 50);
SELECT from_balance, to_balance FROM transfer('ref', 'house', '20', 50, to_table => 'dist');
ROLLBACK;
SELECT id, balance FROM dist WHERE id IN (19, 20) ORDER BY id;

-- the journal (on the coordinator) reconciles with the distributed balances:
-- each row's balance is 100 plus its credits minus its debits
SELECT count(*) AS journal_rows FROM transfer_guard_journal;
WITH moves AS (
	SELECT to_key AS k, amount AS delta FROM transfer_guard_journal
	 WHERE to_table = 'dist'::regclass AND to_column = 'balance'
	UNION ALL
	SELECT from_key, -amount FROM transfer_guard_journal
	 WHERE from_table = 'dist'::regclass AND from_column = 'balance'),
net AS (SELECT k, sum(delta) AS delta FROM moves GROUP BY k)
SELECT count(*) AS rows_checked,
       count(*) FILTER (WHERE d.balance <> 100 + coalesce(n.delta, 0)) AS mismatches
  FROM dist d LEFT JOIN net n ON n.k = d.id::text;

-- Two-phase commit: Citus records each transaction it prepares on a worker
-- in pg_dist_transaction (nothing resolves them in this cluster meanwhile).
-- A call that writes on the coordinator too (its journal, a plain table's
-- row) asks for it even when its Citus rows are on one worker; a call on
-- Citus tables only, without a journal row or idempotency key, leaves
-- Citus's one-phase commit for one worker.
CREATE TABLE nj (id int PRIMARY KEY, balance bigint NOT NULL);
SELECT create_distributed_table('nj', 'id', colocate_with => 'dist');
INSERT INTO nj SELECT g, 100 FROM generate_series(1, 4) g;
SELECT guard('nj', 'balance', min_balance => 0, journal => false);
SELECT count(DISTINCT nodeport) AS workers_of_rows_1_and_2 FROM nj, citus_shards s
 WHERE s.shardid = get_shard_id_for_distribution_column('nj', nj.id) AND nj.id IN (1, 2);
SELECT count(*) AS before FROM pg_dist_transaction \gset
SELECT from_balance, to_balance FROM transfer('dist', 1, 2, 1);
SELECT count(*) - :before AS prepared_journaled FROM pg_dist_transaction;
SELECT count(*) AS before FROM pg_dist_transaction \gset
SELECT from_balance, to_balance FROM transfer('nj', 1, 2, 1);
SELECT count(*) - :before AS prepared_without_records FROM pg_dist_transaction;
SELECT count(*) AS before FROM pg_dist_transaction \gset
SELECT guard('loc', 'balance', min_balance => 0, journal => false);
SELECT from_balance, to_balance FROM transfer('loc', 2, 1, 1, to_table => 'nj');
SELECT count(*) - :before AS prepared_with_a_coordinator_row FROM pg_dist_transaction;
SELECT from_balance, to_balance FROM transfer('nj', 1, 2, 1, to_table => 'loc');
SELECT guard('loc', 'balance', min_balance => 0);

-- a local table guarded, then distributed: the next call routes to shards
CREATE TABLE later (id int PRIMARY KEY, balance bigint NOT NULL);
INSERT INTO later VALUES (1, 100), (2, 100);
SELECT guard('later', 'balance', min_balance => 0);
SELECT * FROM transfer('later', 1, 2, 10);
SELECT create_distributed_table('later', 'id');
SELECT truncate_local_data_after_distributing_table('later');
SELECT * FROM transfer('later', 1, 2, 10);
SELECT id, balance FROM later ORDER BY id;
-- undistribute_table() makes a new table: its guards go with the old one
SELECT undistribute_table('later');
SELECT sqlstate_of($$SELECT transfer('later', 1, 2, 10)$$);
SELECT count(*) FROM transfer_guards WHERE tbl::text = 'later';

-- a row of a Citus table cannot be hot (0A000): its credits would be
-- pending on the coordinator while its row lives on a worker
SELECT sqlstate_of($$SELECT set_hot('dist', '1')$$);
SELECT sqlstate_of($$SELECT set_hot('ref', '1')$$);
-- nor take part in a hold (0A000), and nothing moves
SELECT sqlstate_of($$SELECT hold('dist', 1, 2, 1)$$);
SELECT sqlstate_of($$SELECT hold('ref', 1, 2, 1)$$);
SELECT count(*) AS holds FROM transfer_guard_holds;

-- refused: append- and range-distributed tables
CREATE TABLE app (id int PRIMARY KEY, balance bigint NOT NULL);
SET client_min_messages = error;
SELECT create_distributed_table('app', 'id', 'append');
RESET client_min_messages;
SELECT guard('app', 'balance');
CREATE TABLE rng (id int PRIMARY KEY, balance bigint NOT NULL);
SELECT create_distributed_table('rng', 'id', 'range');
SELECT guard('rng', 'balance');
-- a guarded table distributed by range afterwards is refused at the call
CREATE TABLE rng2 (id int PRIMARY KEY, balance bigint NOT NULL);
SELECT guard('rng2', 'balance');
SELECT create_distributed_table('rng2', 'id', 'range');
SELECT * FROM transfer('rng2', 1, 2, 1);

-- refused: hash distribution by a column other than the key.  Citus itself
-- will not distribute a table with a unique key that leaves out its
-- distribution column, so no such table can be made; the catalog is
-- changed inside a transaction, rolled back, to see the refusal.
CREATE TABLE other (id int PRIMARY KEY, region int NOT NULL DEFAULT 1, balance bigint NOT NULL);
SELECT create_distributed_table('other', 'id');
BEGIN;
UPDATE pg_dist_partition SET partkey = column_name_to_column('other', 'region')
 WHERE logicalrelid = 'other'::regclass;
SELECT guard('other', 'balance');
ROLLBACK;

SELECT * FROM total;
