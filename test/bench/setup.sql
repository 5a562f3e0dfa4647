-- test/bench/setup.sql -- the data and helper functions of the benchmarks
--
-- Run by run.sh, memory.sh and profile.sh in a fresh database, with the psql
-- variable accounts set to the number of accounts (100,000).
--
--   accounts     the accounts every approach moves balances between; guarded
--                with the journal on (guard()'s default)
--   accounts_nj  the same accounts, guarded with journal => false, for
--                transfer() with the journal off
--   bench_journal  a table with the journal's columns and indexes, for the
--                floor plus a journal row written by hand (floor_journal.sql)
--
-- Every balance starts at 10^12 and every move is of 1, so no transfer is
-- ever refused for want of funds in any run; the checks still run on every
-- call (transfer()'s in C, the client's and the PL/pgSQL function's below).

\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE EXTENSION transfer_guard;

CREATE TABLE accounts (
	id bigint PRIMARY KEY,
	balance bigint NOT NULL
);
INSERT INTO accounts SELECT g, 1000000000000 FROM generate_series(1, :accounts) g;
SELECT guard('accounts', 'balance');

CREATE TABLE accounts_nj (
	id bigint PRIMARY KEY,
	balance bigint NOT NULL
);
INSERT INTO accounts_nj SELECT g, 1000000000000 FROM generate_series(1, :accounts) g;
SELECT guard('accounts_nj', 'balance', journal => false);

CREATE TABLE bench_journal (LIKE transfer_guard_journal INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE bench_journal ADD PRIMARY KEY (transfer_id);
CREATE INDEX bench_journal_from ON bench_journal (from_table, from_key);
CREATE INDEX bench_journal_to ON bench_journal (to_table, to_key);
CREATE SEQUENCE bench_journal_id;

--
-- bench_transfer_plpgsql: the careful PL/pgSQL version of a transfer, as a
-- team that writes it by hand would: both rows locked in key order (never in
-- request order, so two opposite transfers cannot deadlock), the balance
-- checked on the locked row, two UPDATEs.  No journal and no transfer id:
-- compare it with transfer() with the journal off for the same work.
--
CREATE FUNCTION bench_transfer_plpgsql(from_id bigint, to_id bigint, amount bigint,
	OUT from_balance bigint, OUT to_balance bigint)
LANGUAGE plpgsql AS $$
DECLARE
	r record;
	have_from boolean := false;
	have_to boolean := false;
	balance_from bigint;
BEGIN
	IF amount IS NULL OR amount <= 0 THEN
		RAISE EXCEPTION 'amount must be positive' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF from_id IS NULL OR to_id IS NULL OR from_id = to_id THEN
		RAISE EXCEPTION 'two different accounts are needed' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- LockRows sits above the Sort, so the rows are locked in id order
	FOR r IN SELECT a.id, a.balance FROM accounts a
			WHERE a.id IN (from_id, to_id) ORDER BY a.id FOR UPDATE
	LOOP
		IF r.id = from_id THEN
			have_from := true;
			balance_from := r.balance;
		ELSE
			have_to := true;
		END IF;
	END LOOP;
	IF NOT (have_from AND have_to) THEN
		RAISE EXCEPTION 'no account %', CASE WHEN have_from THEN to_id ELSE from_id END
			USING ERRCODE = 'no_data_found';
	END IF;
	IF balance_from - amount < 0 THEN
		RAISE EXCEPTION 'insufficient balance in account %', from_id
			USING ERRCODE = 'check_violation';
	END IF;
	UPDATE accounts SET balance = balance - amount WHERE id = from_id
		RETURNING balance INTO from_balance;
	UPDATE accounts SET balance = balance + amount WHERE id = to_id
		RETURNING balance INTO to_balance;
END
$$;

--
-- bench_legs: the legs argument of one transfer_batch() call, built on the
-- server from random keys, because pgbench cannot loop to build it.  legs
-- moves of 1 between accounts of the shape (n accounts 1..n, two different
-- ones per leg; hot: one of the two is account 1), each in a random
-- direction.  Its cost is part of every batch figure; run.sh measures it
-- alone too.
--
CREATE FUNCTION bench_legs(legs integer, n bigint, hot integer)
RETURNS jsonb
LANGUAGE sql VOLATILE AS $$
	SELECT jsonb_agg(jsonb_build_object(
			'from_table', 'accounts',
			'from_key', CASE WHEN flip THEN x ELSE y END,
			'to_key', CASE WHEN flip THEN y ELSE x END,
			'amount', 1) ORDER BY i)
	FROM (SELECT i, x,
				1 + (x + floor(random() * (n - 1))::bigint) % n AS y,
				random() < 0.5 AS flip
			FROM (SELECT i, CASE WHEN hot = 1 THEN 1
							ELSE 1 + floor(random() * n)::bigint END AS x
					FROM generate_series(1, legs) i) picked) keyed
$$;

--
-- bench_memory_calls: calls transfer() calls times in this session, with
-- random keys, the two overloads in turn (bigint keys resolve to anycompatible,
-- text keys to the text overload), committing every commit_every calls.
-- Every sample_every calls it records this backend's memory (see
-- bench_memory_sample below).  Used by memory.sh.
--
CREATE PROCEDURE bench_memory_calls(calls integer, n bigint,
	commit_every integer, sample_every integer, done_before bigint)
LANGUAGE plpgsql AS $$
DECLARE
	a bigint;
	b bigint;
BEGIN
	FOR i IN 1..calls LOOP
		a := 1 + floor(random() * n)::bigint;
		b := 1 + (a + floor(random() * (n - 1))::bigint) % n;
		IF i % 2 = 0 THEN
			PERFORM transfer('accounts', a, b, 1);
		ELSE
			PERFORM transfer('accounts', a::text, b::text, 1);
		END IF;
		IF i % commit_every = 0 THEN
			COMMIT;
		END IF;
		IF i % sample_every = 0 THEN
			CALL bench_memory_sample(done_before + i, 'in loop');
		END IF;
	END LOOP;
	COMMIT;
END
$$;

-- What memory.sh reads: for each sample, this backend's memory contexts
-- grouped by name, and its private resident memory (RssAnon, from
-- /proc/self/status, which read by the backend describes the backend).
CREATE UNLOGGED TABLE bench_memory_contexts (
	calls_done bigint NOT NULL,
	stage text NOT NULL,
	name text NOT NULL,
	contexts bigint NOT NULL,
	total_bytes bigint NOT NULL,
	used_bytes bigint NOT NULL
);
CREATE UNLOGGED TABLE bench_memory_rss (
	calls_done bigint NOT NULL,
	stage text NOT NULL,
	taken_at timestamptz NOT NULL,
	rss_anon_kb bigint
);

-- one sample of this backend's memory, labelled with the calls made so far
-- and where it was taken (in the calling loop, or between statements)
CREATE PROCEDURE bench_memory_sample(calls_done bigint, stage text)
LANGUAGE sql AS $$
	INSERT INTO bench_memory_contexts
	SELECT calls_done, stage, name, count(*), sum(total_bytes), sum(used_bytes)
	FROM pg_backend_memory_contexts
	GROUP BY name;
	INSERT INTO bench_memory_rss
	SELECT calls_done, stage, clock_timestamp(),
		substring(pg_read_file('/proc/self/status') FROM 'RssAnon:\s*([0-9]+) kB')::bigint;
$$;

VACUUM ANALYZE accounts, accounts_nj;
