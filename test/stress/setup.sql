--
-- test/stress/setup.sql -- schema and functions of the bank invariant stress
--
-- Run once per database by test/stress/bank.sh.  Two guarded tables hold the
-- money:
--
--   bank    bigint balances, floor 0 and a ceiling (guard(.., 0, 250)),
--           every account starting at 100
--   ledger  numeric(14,2) balances, an overdraft floor of -500 and no
--           ceiling, every account starting at 0.00
--
-- The balance columns are deliberately nullable: the "no balance is NULL"
-- check must be able to fail, so no NOT NULL constraint does its work for it.
--
-- Transfer clients (pgbench, transfer.sql) call stress_step(), which makes one
-- transfer() or one transfer_batch() call, counts it as done or refused, and
-- checks what it can see from inside its own transaction.  Auditor clients
-- (pgbench, audit.sql) call stress_audit() inside one REPEATABLE READ
-- snapshot.  Both record every violation in stress_violations and return how
-- many they found; the pgbench scripts then make the client fail.
--
-- The expected figures (accounts, total, floor, ceiling) are written to
-- stress_expect by stress_reset(), next to the guard() calls that set the
-- limits; the checks compare against them, never against what the extension
-- reports about its own guards.  The journal (transfer_guard_journal) is checked
-- against what each call returned and against the balances.
--
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE EXTENSION transfer_guard;
CREATE EXTENSION amcheck;

CREATE TABLE bank (id int PRIMARY KEY, balance bigint);
CREATE TABLE ledger (id int PRIMARY KEY, balance numeric(14, 2));

-- what every snapshot must show, per table
CREATE TABLE stress_expect (
	tbl regclass PRIMARY KEY,
	accounts int NOT NULL,
	start_balance numeric NOT NULL,
	total numeric NOT NULL,
	floor numeric,				-- NULL: none
	ceiling numeric,			-- NULL: none
	journal_after bigint NOT NULL	-- the shape's journal rows have higher ids
);

-- per-client counters, written in the client's own transaction, so a count
-- commits exactly when the work it counts commits; each client touches only
-- its own rows, so the counters add no lock contention between clients
CREATE UNLOGGED TABLE stress_counts (
	client int NOT NULL,
	kind text NOT NULL,
	n bigint NOT NULL,
	PRIMARY KEY (client, kind)
);

CREATE TABLE stress_violations (
	at timestamptz NOT NULL DEFAULT clock_timestamp(),
	who text NOT NULL,
	what text NOT NULL
);

CREATE FUNCTION stress_count(client int, kind text, howmany bigint DEFAULT 1)
RETURNS void
LANGUAGE sql
AS $$
	INSERT INTO stress_counts AS c VALUES (client, kind, howmany)
	ON CONFLICT (client, kind) DO UPDATE SET n = c.n + excluded.n;
$$;

-- record one violation; returns 1 so callers can add it up
CREATE FUNCTION stress_note(who text, what text)
RETURNS int
LANGUAGE plpgsql
AS $$
BEGIN
	INSERT INTO stress_violations (who, what) VALUES (who, what);
	RETURN 1;
END;
$$;

-- the failure a pgbench script raises after a committed violation: it aborts
-- the client, so pgbench exits non-zero
CREATE FUNCTION stress_fail(who text, violations int)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
	RAISE EXCEPTION 'bank invariant violated: % found % violation(s)', who, violations
		USING ERRCODE = 'P0001',
			  HINT = 'SELECT * FROM stress_violations lists them.';
END;
$$;

-- a balance within its table's limits (and not NULL)
CREATE FUNCTION stress_within(t regclass, bal numeric)
RETURNS boolean
LANGUAGE sql
STABLE
AS $$
	SELECT bal IS NOT NULL
		AND (e.floor IS NULL OR bal >= e.floor)
		AND (e.ceiling IS NULL OR bal <= e.ceiling)
	FROM stress_expect e
	WHERE e.tbl = t;
$$;

-- the balance a row holds now, as this transaction sees it
CREATE FUNCTION stress_balance(t regclass, id int)
RETURNS numeric
LANGUAGE plpgsql
AS $$
DECLARE
	bal numeric;
BEGIN
	EXECUTE format('SELECT balance FROM %s WHERE id = $1', t) INTO bal USING id;
	RETURN bal;
END;
$$;

-- Fill both tables: n accounts each.  Starts a shape from scratch.
CREATE FUNCTION stress_reset(n int)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
	last_id bigint;
BEGIN
	TRUNCATE bank, ledger, stress_expect, stress_counts, stress_violations;
	INSERT INTO bank SELECT g, 100 FROM generate_series(1, n) g;
	INSERT INTO ledger SELECT g, 0.00 FROM generate_series(1, n) g;
	PERFORM guard('bank', 'balance', 0, 250, journal => true);
	PERFORM guard('ledger', 'balance', -500, NULL, journal => true);
	-- transfer ids grow, so the journal rows of this shape are those above
	-- the highest id journaled so far
	SELECT coalesce(max(transfer_id), 0) INTO last_id FROM transfer_guard_journal;
	INSERT INTO stress_expect VALUES
		('bank', n, 100, n * 100::numeric, 0, 250, last_id),
		('ledger', n, 0, 0, -500, NULL, last_id);
END;
$$;

-- One transfer() on table t, a -> b.  A refusal for the floor or the ceiling
-- (23514 with the guard's constraint name) is expected and counted; every
-- other error propagates and aborts the client.  After a move, the balances
-- it returned must be within the limits and equal to what the two rows now
-- hold (this transaction still has them locked), and the journal must hold
-- the move as returned.  Returns the number of violations found.
CREATE FUNCTION stress_single(client int, t regclass, a int, b int, amount numeric)
RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	r record;
	cname text;
	v int := 0;
	who text := format('transfer client %s', client);
BEGIN
	BEGIN
		SELECT * INTO STRICT r FROM transfer(t, a, b, amount);
	EXCEPTION WHEN check_violation THEN
		GET STACKED DIAGNOSTICS cname = CONSTRAINT_NAME;
		IF cname = 'transfer_guard_min_balance' THEN
			PERFORM stress_count(client, 'single_refused_floor');
			RETURN 0;
		ELSIF cname = 'transfer_guard_max_balance' THEN
			PERFORM stress_count(client, 'single_refused_ceiling');
			RETURN 0;
		END IF;
		RAISE;
	END;
	PERFORM stress_count(client, 'single_ok');

	IF r.transfer_id IS NULL THEN
		v := v + stress_note(who, format('%s %s -> %s: NULL transfer_id', t, a, b));
	END IF;
	IF NOT stress_within(t, r.from_balance) OR NOT stress_within(t, r.to_balance) THEN
		v := v + stress_note(who, format('%s %s -> %s amount %s returned balances %s, %s outside the limits',
										 t, a, b, amount, r.from_balance, r.to_balance));
	END IF;
	PERFORM FROM transfer_guard_journal j
	WHERE j.transfer_id = r.transfer_id AND j.batch_id IS NULL AND j.leg = 1
		AND j.from_table = t AND j.from_key = a::text
		AND j.to_table = t AND j.to_key = b::text
		AND j.amount = stress_single.amount
		AND j.from_balance = r.from_balance AND j.to_balance = r.to_balance;
	IF NOT FOUND THEN
		v := v + stress_note(who, format('%s %s -> %s amount %s: transfer %s not journaled as returned',
										 t, a, b, amount, r.transfer_id));
	END IF;
	IF stress_balance(t, a) IS DISTINCT FROM r.from_balance
		OR stress_balance(t, b) IS DISTINCT FROM r.to_balance THEN
		v := v + stress_note(who, format('%s %s -> %s: returned %s, %s but the rows hold %s, %s',
										 t, a, b, r.from_balance, r.to_balance,
										 stress_balance(t, a), stress_balance(t, b)));
	END IF;
	RETURN v;
END;
$$;

-- One transfer_batch() of nlegs legs, each on bank or ledger at random; about
-- half the legs after the first reverse the previous leg (b -> a after
-- a -> b), so batches move money both ways and overlap in both orders.
-- Refusals are counted as above.  After a batch: every leg reported once and
-- journaled as reported (with the batch's first transfer id as batch_id),
-- every returned balance within its table's limits, and every touched row
-- holds the balance reported by the last leg that touched it.
CREATE FUNCTION stress_batch(client int, nlegs int)
RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	legs jsonb := '[]';
	tbls regclass[] := '{}';
	t regclass;
	n int;
	a int;
	b int;
	amount numeric;
	i int;
	res jsonb;
	got jsonb;				-- the row transfer_batch() returned for a leg
	lastbal jsonb := '{}';		-- "table/key" -> balance after the last leg touching it
	k text;
	cname text;
	v int := 0;
	who text := format('transfer client %s', client);
BEGIN
	FOR i IN 1..nlegs LOOP
		IF i > 1 AND random() < 0.5 THEN
			SELECT b, a INTO a, b;		-- the previous leg's pair, reversed
		ELSE
			t := CASE WHEN random() < 0.5 THEN 'bank' ELSE 'ledger' END::regclass;
			SELECT accounts INTO n FROM stress_expect WHERE tbl = t;
			a := 1 + floor(random() * n)::int;
			b := 1 + (a + floor(random() * (n - 1))::int) % n;
		END IF;
		IF t = 'bank'::regclass THEN
			amount := 1 + floor(random() * 250);
		ELSE
			amount := (1 + floor(random() * 60000)) / 100.0;
		END IF;
		legs := legs || jsonb_build_object('from_table', t::text, 'from_key', a,
										   'to_key', b, 'amount', amount);
		tbls := tbls || t;
	END LOOP;

	BEGIN
		SELECT jsonb_agg(to_jsonb(x) ORDER BY x.leg) INTO res FROM transfer_batch(legs) x;
	EXCEPTION WHEN check_violation THEN
		GET STACKED DIAGNOSTICS cname = CONSTRAINT_NAME;
		IF cname = 'transfer_guard_min_balance' THEN
			PERFORM stress_count(client, 'batch_refused_floor');
			RETURN 0;
		ELSIF cname = 'transfer_guard_max_balance' THEN
			PERFORM stress_count(client, 'batch_refused_ceiling');
			RETURN 0;
		END IF;
		RAISE;
	END;
	PERFORM stress_count(client, 'batch_ok');
	PERFORM stress_count(client, 'batch_legs', nlegs);

	IF jsonb_array_length(coalesce(res, '[]')) <> nlegs THEN
		RETURN v + stress_note(who, format('batch of %s legs returned %s rows: %s', nlegs,
										   jsonb_array_length(coalesce(res, '[]')), legs));
	END IF;
	FOR i IN 1..nlegs LOOP
		got := res -> (i - 1);
		t := tbls[i];
		IF (got ->> 'leg')::int IS DISTINCT FROM i OR got -> 'transfer_id' = 'null' THEN
			v := v + stress_note(who, format('batch row %s is %s', i, got));
		END IF;
		PERFORM FROM transfer_guard_journal j
		WHERE j.transfer_id = (got ->> 'transfer_id')::bigint
			AND j.batch_id = (res -> 0 ->> 'transfer_id')::bigint AND j.leg = i
			AND j.from_table = t AND j.from_key = legs -> (i - 1) ->> 'from_key'
			AND j.to_table = t AND j.to_key = legs -> (i - 1) ->> 'to_key'
			AND j.amount = (legs -> (i - 1) ->> 'amount')::numeric
			AND j.from_balance = (got ->> 'from_balance')::numeric
			AND j.to_balance = (got ->> 'to_balance')::numeric;
		IF NOT FOUND THEN
			v := v + stress_note(who, format('batch leg %s %s (%s) not journaled as returned',
											 i, legs -> (i - 1), got));
		END IF;
		IF NOT stress_within(t, (got ->> 'from_balance')::numeric)
			OR NOT stress_within(t, (got ->> 'to_balance')::numeric) THEN
			v := v + stress_note(who, format('batch leg %s %s returned balances outside the limits: %s',
											 i, legs -> (i - 1), got));
		END IF;
		lastbal := lastbal
			|| jsonb_build_object(t::text || '/' || (legs -> (i - 1) ->> 'from_key'), got -> 'from_balance')
			|| jsonb_build_object(t::text || '/' || (legs -> (i - 1) ->> 'to_key'), got -> 'to_balance');
	END LOOP;
	FOR k IN SELECT jsonb_object_keys(lastbal) LOOP
		IF stress_balance(split_part(k, '/', 1)::regclass, split_part(k, '/', 2)::int)
			IS DISTINCT FROM (lastbal ->> k)::numeric THEN
			v := v + stress_note(who, format('after batch %s row %s holds %s, the batch reported %s',
											 legs, k,
											 stress_balance(split_part(k, '/', 1)::regclass,
															split_part(k, '/', 2)::int),
											 lastbal ->> k));
		END IF;
	END LOOP;
	RETURN v;
END;
$$;

-- What one pgbench transfer transaction does, chosen by kind (1..10):
-- 1-6 a transfer on bank, 7-8 a transfer on ledger, 9-10 a batch.
CREATE FUNCTION stress_step(client int, kind int, a int, b int, amount int, cents int, legs int)
RETURNS int
LANGUAGE plpgsql
AS $$
BEGIN
	IF kind <= 6 THEN
		RETURN stress_single(client, 'bank', a, b, amount);
	ELSIF kind <= 8 THEN
		RETURN stress_single(client, 'ledger', a, b, cents / 100.0);
	ELSE
		RETURN stress_batch(client, legs);
	END IF;
END;
$$;

-- The checks of one table as the current snapshot sees it; who names the
-- checker in the violations it records.  Returns the number of violations.
CREATE FUNCTION stress_check_table(e stress_expect, who text)
RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	s record;
	v int := 0;
BEGIN
	EXECUTE format($q$
		SELECT count(*) AS accounts,
			   sum(balance) AS total,
			   count(*) FILTER (WHERE balance IS NULL) AS nulls,
			   count(*) FILTER (WHERE balance < $1) AS below,
			   count(*) FILTER (WHERE balance > $2) AS above,
			   min(balance) AS lo,
			   max(balance) AS hi
		FROM %s $q$, e.tbl)
		INTO s USING e.floor, e.ceiling;
	IF s.accounts <> e.accounts THEN
		v := v + stress_note(who, format('%s has %s accounts, expected %s', e.tbl, s.accounts, e.accounts));
	END IF;
	IF s.total IS DISTINCT FROM e.total THEN
		v := v + stress_note(who, format('%s sums to %s, expected %s', e.tbl, s.total, e.total));
	END IF;
	IF s.nulls <> 0 THEN
		v := v + stress_note(who, format('%s has %s NULL balances', e.tbl, s.nulls));
	END IF;
	IF s.below <> 0 THEN
		v := v + stress_note(who, format('%s has %s balances below the floor %s (lowest %s)',
										 e.tbl, s.below, e.floor, s.lo));
	END IF;
	IF s.above <> 0 THEN
		v := v + stress_note(who, format('%s has %s balances above the ceiling %s (highest %s)',
										 e.tbl, s.above, e.ceiling, s.hi));
	END IF;

	-- the journal, as of this same snapshot: every balance equals its start
	-- plus the journal's credits to the row minus its debits from it
	EXECUTE format($q$
		SELECT count(*) AS n,
			   string_agg(format('%%s: %%s, journal says %%s', t.id, t.balance,
								 $3 + coalesce(j.delta, 0)), '; ') AS sample
		FROM %s t
		LEFT JOIN (SELECT k, sum(delta) AS delta
				   FROM (SELECT to_key AS k, amount AS delta FROM transfer_guard_journal
						 WHERE to_table = $1 AND transfer_id > $2
						 UNION ALL
						 SELECT from_key, -amount FROM transfer_guard_journal
						 WHERE from_table = $1 AND transfer_id > $2) m
				   GROUP BY k) j ON j.k = t.id::text
		WHERE t.balance IS DISTINCT FROM $3 + coalesce(j.delta, 0) $q$, e.tbl)
		INTO s USING e.tbl, e.journal_after, e.start_balance;
	IF s.n <> 0 THEN
		v := v + stress_note(who, format('%s: %s balances differ from the journal: %s',
										 e.tbl, s.n, left(s.sample, 500)));
	END IF;

	RETURN v;
END;
$$;

-- One audit: every table checked in the caller's REPEATABLE READ snapshot, so
-- all the figures come from one consistent moment while transfers go on.
CREATE FUNCTION stress_audit(client int)
RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	e stress_expect;
	v int := 0;
BEGIN
	IF current_setting('transaction_isolation') <> 'repeatable read' THEN
		RAISE EXCEPTION 'stress_audit() must run in a REPEATABLE READ transaction';
	END IF;
	FOR e IN SELECT * FROM stress_expect ORDER BY tbl LOOP
		v := v + stress_check_table(e, format('auditor %s', client));
	END LOOP;
	-- counted under a negative client number: auditors and transfer clients
	-- both number themselves from 0
	PERFORM stress_count(-1 - client, 'audit');
	IF v > 0 THEN
		PERFORM stress_count(-1 - client, 'violation', v);
	END IF;
	RETURN v;
END;
$$;

-- After the load: the same checks in a fresh snapshot, plus a recount that
-- reads every row through the primary key index and must agree with the
-- sequential scan, and amcheck's verification that the index and the heap
-- hold the same rows.  Returns the number of violations.
CREATE FUNCTION stress_final()
RETURNS int
LANGUAGE plpgsql
AS $$
DECLARE
	e stress_expect;
	v int := 0;
	seq_total numeric;
	seq_count bigint;
	idx_total numeric;
	idx_count bigint;
BEGIN
	FOR e IN SELECT * FROM stress_expect ORDER BY tbl LOOP
		v := v + stress_check_table(e, 'final check');

		SET LOCAL enable_indexscan = off;
		SET LOCAL enable_bitmapscan = off;
		SET LOCAL enable_indexonlyscan = off;
		EXECUTE format('SELECT sum(balance), count(*) FROM %s', e.tbl) INTO seq_total, seq_count;
		RESET enable_indexscan;
		RESET enable_bitmapscan;
		RESET enable_indexonlyscan;
		SET LOCAL enable_seqscan = off;
		SET LOCAL enable_bitmapscan = off;
		EXECUTE format('SELECT sum(balance), count(*) FROM (SELECT balance FROM %s WHERE id > 0 ORDER BY id) s', e.tbl)
			INTO idx_total, idx_count;
		RESET enable_seqscan;
		RESET enable_bitmapscan;
		IF seq_total IS DISTINCT FROM idx_total OR seq_count <> idx_count THEN
			v := v + stress_note('final check', format('%s: sequential scan %s rows summing to %s, index scan %s rows summing to %s',
													   e.tbl, seq_count, seq_total, idx_count, idx_total));
		END IF;
		PERFORM bt_index_check(i.indexrelid, heapallindexed => true)
		FROM pg_index i WHERE i.indrelid = e.tbl AND i.indisprimary;
	END LOOP;
	RETURN v;
END;
$$;
