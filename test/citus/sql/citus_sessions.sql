--
-- transfer_guard on a Citus cluster: sessions that meet on rows held by
-- different workers, driven from this session through dblink.  Opposite
-- transfers wait for each other and never deadlock; a client locking in
-- argument order does deadlock, and Citus cancels one of its transactions;
-- a busy row is busy; and a worker node refuses the calls.  Runs after
-- citus_tables.sql, whose sqlstate_of() it uses.
--
CREATE EXTENSION IF NOT EXISTS transfer_guard;
CREATE EXTENSION dblink;
SET citus.shard_count = 8;

CREATE TABLE sess (id int PRIMARY KEY, balance bigint NOT NULL);
SELECT create_distributed_table('sess', 'id');
INSERT INTO sess SELECT g, 100 FROM generate_series(1, 4) g;
SELECT guard('sess', 'balance', min_balance => 0);
-- rows 1 and 3 are on different workers (2 and 4 on the same as 1)
SELECT count(DISTINCT nodeport) AS workers FROM sess, citus_shards s
 WHERE s.shardid = get_shard_id_for_distribution_column('sess', sess.id)
   AND sess.id IN (1, 3);

-- wait until a condition holds, at most 30 s
CREATE FUNCTION wait_until(cond text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	ok boolean;
BEGIN
	FOR i IN 1 .. 300 LOOP
		EXECUTE cond INTO ok;
		IF ok THEN
			RETURN true;
		END IF;
		PERFORM pg_sleep(0.1);
	END LOOP;
	RETURN false;
END $$;

-- the result of a session's statement sent with dblink_send_query: its
-- one bigint, or the SQLSTATE of its error
CREATE FUNCTION outcome(conn text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r text;
BEGIN
	SELECT string_agg(v::text, ',') INTO r FROM dblink_get_result(conn) AS t(v bigint);
	PERFORM * FROM dblink_get_result(conn) AS t(v bigint);
	RETURN coalesce(r, 'no row');
EXCEPTION WHEN OTHERS THEN
	PERFORM * FROM dblink_get_result(conn) AS t(v bigint);
	RETURN SQLSTATE;
END $$;

SELECT dblink_connect(s, format('host=127.0.0.1 port=%s dbname=%s',
								current_setting('port'), current_database()))
  FROM (VALUES ('s1'), ('s2')) v(s);

-- 1. Opposite transfers between rows on two workers.  s1 moves 1 -> 3 and
-- holds both rows; s2's 3 -> 1 locks row 1 first (the global order), so it
-- waits there holding nothing, and goes on when s1 commits.
SELECT dblink_exec('s1', 'BEGIN');
SELECT * FROM dblink('s1', $$SELECT to_balance FROM transfer('sess', 1, 3, 10)$$) AS t(v bigint);
SELECT dblink_send_query('s2', $$SELECT to_balance FROM transfer('sess', 3, 1, 30)$$);
SELECT wait_until($$SELECT count(*) > 0 FROM citus_lock_waits$$) AS s2_waits;
SELECT dblink_is_busy('s2') AS s2_busy;

-- meanwhile: a try with nowait reports the held row busy, a transfer with
-- nowait fails with 55P03, and rows nobody holds move
SELECT status FROM try_transfer('sess', 1, 2, 1, nowait => true);
SELECT status FROM try_transfer('sess', 2, 3, 1, nowait => true);
SELECT sqlstate_of($$SELECT transfer('sess', 2, 1, 1, nowait => true)$$);
SELECT status, from_balance, to_balance FROM try_transfer('sess', 2, 4, 1, nowait => true);

SELECT dblink_exec('s1', 'COMMIT');
SELECT outcome('s2') AS s2_to_balance;
SELECT id, balance FROM sess ORDER BY id;

-- 2. The same, the other way round, both in open transactions
SELECT dblink_exec('s2', 'BEGIN');
SELECT * FROM dblink('s2', $$SELECT to_balance FROM transfer('sess', 3, 1, 5)$$) AS t(v bigint);
SELECT dblink_exec('s1', 'BEGIN');
SELECT dblink_send_query('s1', $$SELECT to_balance FROM transfer('sess', 1, 3, 5)$$);
SELECT wait_until($$SELECT count(*) > 0 FROM citus_lock_waits$$) AS s1_waits;
SELECT dblink_exec('s2', 'COMMIT');
SELECT outcome('s1') AS s1_to_balance;
SELECT dblink_exec('s1', 'COMMIT');
SELECT id, balance FROM sess ORDER BY id;

-- 3. A client that locks in argument order (from, then to), as
-- SELECT ... FOR NO KEY UPDATE: s1 holds row 1 and wants 3, s2 holds row 3
-- and wants 1.  Citus finds the distributed deadlock and cancels one
-- (40P01); the other then gets its row.
SELECT dblink_exec(s, 'BEGIN') FROM (VALUES ('s1'), ('s2')) v(s);
SELECT * FROM dblink('s1', 'SELECT balance FROM sess WHERE id = 1 FOR NO KEY UPDATE') AS t(v bigint);
SELECT * FROM dblink('s2', 'SELECT balance FROM sess WHERE id = 3 FOR NO KEY UPDATE') AS t(v bigint);
SELECT dblink_send_query('s1', 'SELECT balance FROM sess WHERE id = 3 FOR NO KEY UPDATE');
SELECT dblink_send_query('s2', 'SELECT balance FROM sess WHERE id = 1 FOR NO KEY UPDATE');
CREATE FUNCTION finish_pair() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	a text;
	b text;
	ra text;
	rb text;
BEGIN
	PERFORM wait_until($q$SELECT dblink_is_busy('s1') = 0 OR dblink_is_busy('s2') = 0$q$);
	IF dblink_is_busy('s1') = 0 THEN
		a := 's1'; b := 's2';
	ELSE
		a := 's2'; b := 's1';
	END IF;
	ra := outcome(a);
	PERFORM dblink_exec(a, 'ROLLBACK');
	PERFORM wait_until(format($q$SELECT dblink_is_busy(%L) = 0$q$, b));
	rb := outcome(b);
	PERFORM dblink_exec(b, 'ROLLBACK');
	-- which one Citus cancels is its choice: report the two in one order
	ra := CASE WHEN ra ~ '^[0-9]+$' THEN 'locked' ELSE ra END;
	rb := CASE WHEN rb ~ '^[0-9]+$' THEN 'locked' ELSE rb END;
	RETURN least(ra, rb) || ' and ' || greatest(ra, rb);
END $$;
SELECT finish_pair() AS outcomes;

-- 4. A reference table: Citus serializes the writers of a reference table
-- (a lock on its one shard), so a nowait call on other rows of it waits
-- for the writer holding it instead of failing at once or reporting busy.
CREATE TABLE refacc (id int PRIMARY KEY, balance bigint NOT NULL);
SELECT create_reference_table('refacc');
INSERT INTO refacc SELECT g, 100 FROM generate_series(1, 4) g;
SELECT guard('refacc', 'balance', min_balance => 0);
SELECT dblink_exec('s1', 'BEGIN');
SELECT * FROM dblink('s1', $$SELECT to_balance FROM transfer('refacc', 1, 2, 1)$$) AS t(v bigint);
SELECT dblink_send_query('s2', $$SELECT to_balance FROM try_transfer('refacc', 3, 4, 1, nowait => true)$$);
SELECT pg_sleep(1);
SELECT dblink_is_busy('s2') AS s2_still_waiting;
SELECT dblink_exec('s1', 'COMMIT');
SELECT outcome('s2') AS s2_to_balance;

-- 5. A worker node refuses the calls on Citus tables, naming the coordinator
SELECT dblink_connect('w1', format('host=127.0.0.1 port=%s dbname=%s', nodeport, current_database()))
  FROM pg_dist_node WHERE groupid = 1;
SELECT * FROM dblink('w1', $$
	SELECT extversion FROM pg_extension WHERE extname = 'transfer_guard'$$) AS t(v text);
CREATE FUNCTION worker_sqlstate(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	PERFORM * FROM dblink('w1', sql) AS t(v text);
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT worker_sqlstate($$SELECT transfer('sess', 1, 2, 1)::text$$);
SELECT worker_sqlstate($$SELECT guard('sess', 'balance')::text$$);

SELECT dblink_disconnect(s) FROM (VALUES ('s1'), ('s2'), ('w1')) v(s);
SELECT sum(balance) AS total FROM sess;
