--
-- test/bench/citus/setup.sql -- the Citus benchmark's tables and the
-- careful PL/pgSQL function it compares transfer() with (run by citus.sh on
-- the coordinator, with psql -v n=ACCOUNTS)
--
CREATE EXTENSION transfer_guard;

-- the accounts, hash-distributed by id (32 shards over the two workers);
-- a twin with the journal off
CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint NOT NULL);
SELECT create_distributed_table('accounts', 'id');
INSERT INTO accounts SELECT g, 1000000000000 FROM generate_series(1, :n) g;
SELECT guard('accounts', 'balance', min_balance => 0);
CREATE TABLE accounts_nj (id bigint PRIMARY KEY, balance bigint NOT NULL);
SELECT create_distributed_table('accounts_nj', 'id', colocate_with => 'accounts');
INSERT INTO accounts_nj SELECT g, 1000000000000 FROM generate_series(1, :n) g;
SELECT guard('accounts_nj', 'balance', min_balance => 0, journal => false);

-- where a journal row can go: a table of the coordinator (as
-- transfer_guard_journal is), or a table distributed by the source key,
-- colocated with the accounts, so that its row goes to the source's worker
CREATE TABLE journal_local (id bigserial PRIMARY KEY, from_key bigint NOT NULL,
	to_key bigint NOT NULL, amount bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE journal_dist (id bigserial, from_key bigint NOT NULL,
	to_key bigint NOT NULL, amount bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (from_key, id));
SELECT create_distributed_table('journal_dist', 'from_key', colocate_with => 'accounts');

--
-- The careful PL/pgSQL transfer for Citus: the two rows locked in key
-- order, each by a single-key SELECT ... FOR NO KEY UPDATE that Citus routes
-- to its shard (a two-key locking SELECT is a multi-shard query, which
-- Citus refuses), the balance checked on the locked row, two single-key
-- UPDATEs.  journal: 0 none, 1 a row in journal_local, 2 in journal_dist.
--
CREATE FUNCTION careful_transfer(from_id bigint, to_id bigint, amount bigint,
	journal int DEFAULT 0, OUT from_balance bigint, OUT to_balance bigint)
LANGUAGE plpgsql AS $$
DECLARE
	first_id bigint := least(from_id, to_id);
	second_id bigint := greatest(from_id, to_id);
	b bigint;
	balance_from bigint;
BEGIN
	IF amount IS NULL OR amount <= 0 OR from_id IS NULL OR to_id IS NULL OR from_id = to_id THEN
		RAISE EXCEPTION 'bad transfer' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT balance INTO b FROM accounts WHERE id = first_id FOR NO KEY UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no account %', first_id USING ERRCODE = 'no_data_found';
	END IF;
	IF first_id = from_id THEN balance_from := b; END IF;
	SELECT balance INTO b FROM accounts WHERE id = second_id FOR NO KEY UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no account %', second_id USING ERRCODE = 'no_data_found';
	END IF;
	IF second_id = from_id THEN balance_from := b; END IF;
	IF balance_from - amount < 0 THEN
		RAISE EXCEPTION 'insufficient balance' USING ERRCODE = 'check_violation';
	END IF;
	UPDATE accounts SET balance = balance - amount WHERE id = from_id
		RETURNING balance INTO from_balance;
	UPDATE accounts SET balance = balance + amount WHERE id = to_id
		RETURNING balance INTO to_balance;
	IF journal = 1 THEN
		INSERT INTO journal_local (from_key, to_key, amount) VALUES (from_id, to_id, amount);
	ELSIF journal = 2 THEN
		INSERT INTO journal_dist (from_key, to_key, amount) VALUES (from_id, to_id, amount);
	END IF;
END
$$;
